"""SDK v2 assets (no Flask here): model, environment and code versions as ARM resources, their containers
(``latestVersion``/``nextVersion``), and the workspace's default datastore ``workspaceblobstore``.

A version is one ``arm_assets`` row holding its ARM body. The files an asset names stay where the client
uploaded them: in the workspace's storage account (emulator/arm/storage.py).

Models are the workspace's one registry, shared with SDK v1 (as on Azure): a model version is ONE row, in
``arm_assets`` when v2 registered it or in v1's ``models`` (files in ``model_files``) when v1 did, and each SDK
reads the other's rows through a view (:func:`_from_v1` here, ``_from_v2`` in emulator/resources/models/
service.py). Versions of a name are numbered in one sequence across both; a delete in either removes the row."""
from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ..errors import Conflict, NotFound
from . import storage

PROVIDER = "Microsoft.MachineLearningServices"
KINDS = ("models", "environments", "codes")
_SINGULAR = {"models": "Model", "environments": "Environment", "codes": "Code"}
DEFAULT_DATASTORE = "workspaceblobstore"
# What identifies a version's content: a second PUT of the same version may change its description, tags,
# stage or archive flag, but not these (the service keeps asset versions immutable).
_CONTENT_KEYS = {"models": ("modelUri", "modelType"), "environments": ("image", "condaFile", "build"),
                 "codes": ("codeUri",)}
_DATASTORE_PATH = re.compile(r"^azureml://.*/datastores/(?P<datastore>[^/]+)/paths/(?P<path>.+)$")
_WORKSPACE_ID = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/[^/]+/"
                           r"workspaces/(?P<ws>[^/]+)$", re.IGNORECASE)
# A version v1 can number: v1's model versions are integers (a v2 version such as "1.0" stays v2's alone).
_NUMBER = re.compile(r"[1-9][0-9]{0,17}")


class AssetNotFound(NotFound):
    code = "UserError"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat().replace("+00:00", "Z")


def _system_data(created: float, modified: float) -> dict[str, Any]:
    return {"createdAt": _iso(created), "createdBy": "fake-azure", "createdByType": "User",
            "lastModifiedAt": _iso(modified), "lastModifiedBy": "fake-azure", "lastModifiedByType": "User"}


def not_found(kind: str, name: str, version: str | None = None) -> AssetNotFound:
    what = f"{_SINGULAR[kind]} {name}" + (f" version {version}" if version else " container")
    # The service's text for a missing asset (the client raises ResourceNotFoundError on the 404).
    return AssetNotFound(f"Could not find asset with ID: {what}. Not found.")


def put_version(conn: sqlite3.Connection, workspace_id: str, kind: str, name: str, version: str,
                properties: dict[str, Any], now: float) -> tuple[dict[str, Any], bool]:
    """Create a version, or update the mutable fields of an existing one. Returns (body, created)."""
    if kind == "models":
        held = _v1_row(conn, workspace_id, name, version)
        if held is not None:  # a v1-registered version: its mutable fields are updated in v1's row
            return _put_v1(conn, workspace_id, held, properties), False
    row = conn.execute("SELECT body, created_at FROM arm_assets WHERE workspace_id = ? AND kind = ? AND name = ? "
                       "AND version = ?", (workspace_id, kind, name, version)).fetchone()
    if row is not None:
        _check_immutable(kind, name, version, json.loads(row["body"])["properties"], properties)
    stored = {"description": None, "tags": {}, "properties": {}, "isAnonymous": False, "isArchived": False,
              **{k: v for k, v in properties.items() if v is not None}, "provisioningState": "Succeeded"}
    if kind == "models":
        stored.setdefault("flavors", {})  # the client's Model._from_rest_object needs an object here
        stored.setdefault("modelType", "custom_model")
    if kind == "environments":
        stored.setdefault("osType", "Linux")
        stored.setdefault("environmentType", "UserCreated")
    created = row["created_at"] if row is not None else now
    body = {"id": f"{workspace_id}/{kind}/{name}/versions/{version}", "name": version,
            "type": f"{PROVIDER}/workspaces/{kind}/versions", "properties": stored,
            "systemData": _system_data(created, now)}
    conn.execute("INSERT OR REPLACE INTO arm_assets (workspace_id, kind, name, version, body, created_at) "
                 "VALUES (?, ?, ?, ?, ?, ?)", (workspace_id, kind, name, version, json.dumps(body), created))
    return body, row is None


def _check_immutable(kind: str, name: str, version: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    changed = [k for k in _CONTENT_KEYS[kind] if k in new and new.get(k) != old.get(k)]
    if changed:
        raise Conflict(f"{_SINGULAR[kind]} {name}:{version} already exists with a different "
                       f"{', '.join(changed)}; asset versions are immutable. Register a new version.",
                       code="UserError")


def get_version(conn: sqlite3.Connection, workspace_id: str, kind: str, name: str, version: str) -> dict[str, Any]:
    row = conn.execute("SELECT body FROM arm_assets WHERE workspace_id = ? AND kind = ? AND name = ? AND version = ?",
                       (workspace_id, kind, name, version)).fetchone()
    if row is not None:
        return json.loads(row["body"])
    held = _v1_row(conn, workspace_id, name, version) if kind == "models" else None
    if held is None:
        raise not_found(kind, name, version)
    return _from_v1(conn, workspace_id, held)


def delete_version(conn: sqlite3.Connection, workspace_id: str, kind: str, name: str, version: str) -> None:
    """Delete a version (a model's wherever it was registered: v1's row and file manifest, or the ARM row)."""
    held = _v1_row(conn, workspace_id, name, version) if kind == "models" else None
    if held is not None:
        key = (workspace_id, held["name"], held["version"])
        conn.execute("DELETE FROM model_files WHERE workspace_id = ? AND name = ? AND version = ?", key)
        conn.execute("DELETE FROM models WHERE workspace_id = ? AND name = ? AND version = ?", key)
        return
    deleted = conn.execute("DELETE FROM arm_assets WHERE workspace_id = ? AND kind = ? AND name = ? AND version = ?",
                           (workspace_id, kind, name, version)).rowcount
    if not deleted:
        raise not_found(kind, name, version)


def _rows(conn: sqlite3.Connection, workspace_id: str, kind: str, name: str) -> list[tuple[str, float, dict[str, Any]]]:
    """(version, created_at, ARM body) of every version of one asset, oldest first (v1's models included)."""
    found = [(r["version"], r["created_at"], json.loads(r["body"])) for r in conn.execute(
        "SELECT version, body, created_at FROM arm_assets WHERE workspace_id = ? AND kind = ? AND name = ? "
        "ORDER BY created_at, rowid", (workspace_id, kind, name))]
    if kind == "models":
        found += [(str(r["version"]), r["created_at"], _from_v1(conn, workspace_id, r)) for r in conn.execute(
            "SELECT * FROM models WHERE workspace_id = ? AND name = ?", (workspace_id, name))]
        found.sort(key=lambda row: row[1])  # stable: rowid order among equal times
    return found


def _in_view(archived: bool, view: str) -> bool:
    """Whether a version or container with this archive flag is listed under ``listViewType`` ``view``."""
    return view == "All" or archived == (view == "ArchivedOnly")


def list_versions(conn: sqlite3.Connection, workspace_id: str, kind: str, name: str, *, top: int | None = None,
                  oldest_first: bool = False, content_hash: str | None = None, view: str = "All"
                  ) -> list[dict[str, Any]]:
    """Versions of one asset, newest first (``$orderBy=createdtime asc`` reverses); ``view``: ActiveOnly,
    ArchivedOnly or All, by the version's archive flag."""
    rows = _rows(conn, workspace_id, kind, name)
    bodies = [body for _, _, body in (rows if oldest_first else reversed(rows))
              if _in_view(bool(body["properties"].get("isArchived")), view)]
    if content_hash is not None:
        bodies = [b for b in bodies if b["properties"].get("properties", {}).get("hash_sha256") == content_hash]
    return bodies[:top] if top else bodies


def _next_version(versions: list[str]) -> str:
    numbers = [int(v) for v in versions if v.isdigit()]
    return str(max(numbers) + 1) if numbers else "1"


def v1_numbered(version: str) -> bool:
    """Whether a version is one v1 can number (a positive integer SQLite stores): others stay v2's alone."""
    return _NUMBER.fullmatch(version) is not None


def next_model_version(conn: sqlite3.Connection, workspace_id: str, name: str) -> int:
    """The next number of a model name: one sequence for the versions either SDK registered (those v1 can
    number: a v2 version such as "99999999999999999999" is past what v1 stores, and does not move it)."""
    return int(_next_version([version for version, _, _ in _rows(conn, workspace_id, "models", name)
                              if v1_numbered(version)]))


def container(conn: sqlite3.Connection, workspace_id: str, kind: str, name: str) -> dict[str, Any]:
    rows = _rows(conn, workspace_id, kind, name)
    if not rows:
        raise not_found(kind, name)
    return {"id": f"{workspace_id}/{kind}/{name}", "name": name, "type": f"{PROVIDER}/workspaces/{kind}",
            "properties": {"description": None, "tags": {}, "properties": {}, "isArchived": False,
                           "latestVersion": rows[-1][0], "nextVersion": _next_version([r[0] for r in rows]),
                           "provisioningState": "Succeeded"},
            "systemData": _system_data(rows[0][1], rows[-1][1])}


def list_containers(conn: sqlite3.Connection, workspace_id: str, kind: str, view: str = "All"
                    ) -> list[dict[str, Any]]:
    union = " UNION ALL SELECT name, created_at FROM models WHERE workspace_id = :ws" if kind == "models" else ""
    names = [r["name"] for r in conn.execute(
        "SELECT name, MIN(created_at) AS first FROM (SELECT name, created_at FROM arm_assets WHERE "
        f"workspace_id = :ws AND kind = :kind{union}) GROUP BY name ORDER BY first",
        {"ws": workspace_id, "kind": kind})]
    # A container is never archived here (archiving one is not served): ArchivedOnly lists none.
    return [container(conn, workspace_id, kind, n) for n in names if _in_view(False, view)]


# --- the models v1 registered, as v2 sees them ---------------------------------------------------------

def _v1_row(conn: sqlite3.Connection, workspace_id: str, name: str, version: str) -> sqlite3.Row | None:
    if not v1_numbered(version):
        return None
    row: sqlite3.Row | None = conn.execute("SELECT * FROM models WHERE workspace_id = ? AND name = ? AND version = ?",
                                           (workspace_id, name, int(version))).fetchone()
    return row


def _v1_model_uri(conn: sqlite3.Connection, workspace_id: str, v1: dict[str, Any]) -> str:
    """Where a v1 model's files are as v2 shows them: a path of the workspace's default datastore, ending in the
    registered file or folder (as a v2 upload's ``LocalUpload/<id>/<name>`` does)."""
    parts = _WORKSPACE_ID.match(workspace_id)
    scope = (f"subscriptions/{parts['sub']}/resourcegroups/{parts['rg']}/workspaces/{parts['ws']}/"
             if parts else "")
    tops = {r["relpath"].split("/", 1)[0] for r in conn.execute(
        "SELECT relpath FROM model_files WHERE workspace_id = ? AND name = ? AND version = ?",
        (workspace_id, v1["name"], v1["version"]))}
    entry = f"/{tops.pop()}" if len(tops) == 1 else ""
    return f"azureml://{scope}datastores/{DEFAULT_DATASTORE}/paths/{v1_upload_folder(v1)}{entry}"


def v1_upload_folder(v1: dict[str, Any]) -> str:
    """The folder of the default datastore that a v1 registration's files are placed in (named by its asset id)."""
    upload_id = str(v1.get("url") or "").rsplit("/", 1)[-1] or f"{v1['name']}-{v1['version']}"
    return f"LocalUpload/{upload_id}"


def _from_v1(conn: sqlite3.Connection, workspace_id: str, row: sqlite3.Row) -> dict[str, Any]:
    """A v1-registered model version as an ARM model version: a ``custom_model`` with v1's tags, properties and
    description (v1's framework and datasets have no v2 field)."""
    v1 = json.loads(row["body"])
    props: dict[str, Any] = {
        "description": v1.get("description"), "tags": v1.get("kvTags") or {}, "properties": v1.get("properties") or {},
        "isAnonymous": False, "isArchived": bool(v1.get("isArchived")), "flavors": {}, "modelType": "custom_model",
        "modelUri": _v1_model_uri(conn, workspace_id, v1), "provisioningState": "Succeeded"}
    if v1.get("stage"):
        props["stage"] = v1["stage"]
    if v1.get("runId"):
        props["jobName"] = v1["runId"]
    version = str(v1["version"])
    return {"id": f"{workspace_id}/models/{v1['name']}/versions/{version}", "name": version,
            "type": f"{PROVIDER}/workspaces/models/versions", "properties": props,
            "systemData": _system_data(row["created_at"], row["created_at"])}


def _put_v1(conn: sqlite3.Connection, workspace_id: str, row: sqlite3.Row, properties: dict[str, Any]
            ) -> dict[str, Any]:
    """A v2 update of a v1-registered version (tags, description, archive, stage): written into v1's row, whose
    files and URI stay."""
    view = _from_v1(conn, workspace_id, row)
    _check_immutable("models", row["name"], str(row["version"]), view["properties"],
                     {k: v for k, v in properties.items() if v is not None})
    v1 = json.loads(row["body"])
    v1["description"] = properties.get("description")
    v1["kvTags"] = {k: (v if v is None else str(v)) for k, v in (properties.get("tags") or {}).items()}
    # v1's properties may be added to, never changed (its own rule): v2's are merged over them.
    v1["properties"] = {**(v1.get("properties") or {}),
                        **{k: str(v) for k, v in (properties.get("properties") or {}).items()}}
    v1["isArchived"] = bool(properties.get("isArchived"))
    if properties.get("stage"):
        v1["stage"] = properties["stage"]
    conn.execute("UPDATE models SET body = ? WHERE workspace_id = ? AND name = ? AND version = ?",
                 (json.dumps(v1), workspace_id, row["name"], row["version"]))
    updated = conn.execute("SELECT * FROM models WHERE workspace_id = ? AND name = ? AND version = ?",
                           (workspace_id, row["name"], row["version"])).fetchone()
    return _from_v1(conn, workspace_id, updated)


# --- a model version's files, wherever it was registered --------------------------------------------------

def content_location(workspace: dict[str, Any], uri: str) -> tuple[str, str, str] | None:
    """(account, container, path) of an asset's content: a path of the default datastore or a blob URL of the
    workspace's account; None for anything else."""
    account = storage.account_name(workspace)
    datastore = _DATASTORE_PATH.match(uri)
    if datastore is not None and datastore["datastore"].lower() == DEFAULT_DATASTORE:
        return account, storage.default_container(workspace["properties"]["workspaceId"]), datastore["path"].strip("/")
    parts = urlsplit(uri)
    container_name, _, path = parts.path.lstrip("/").partition("/")
    if parts.scheme != "https" or (parts.hostname or "").split(".", 1)[0] != account or not path:
        return None
    return account, container_name, path.strip("/")


def model_files(conn: sqlite3.Connection, workspace: dict[str, Any], name: str, version: str
                ) -> dict[str, tuple[str, int]] | None:
    """{path below the model's folder (AZUREML_MODEL_DIR): (sha256, size)} of a model version, the registered
    file or folder keeping its own name there in both SDKs' layouts; None when a v2 version's ``modelUri`` is not
    in the workspace's storage account (404 for an unknown version)."""
    held = _v1_row(conn, workspace["id"], name, version)
    if held is not None:
        return {r["relpath"]: (r["sha256"], r["size"]) for r in conn.execute(
            "SELECT relpath, sha256, size FROM model_files WHERE workspace_id = ? AND name = ? AND version = ? "
            "ORDER BY relpath", (workspace["id"], held["name"], held["version"]))}
    location = content_location(workspace, get_version(conn, workspace["id"], "models", name, version)
                                ["properties"].get("modelUri") or "")
    if location is None:
        return None
    account, container_name, path = location
    parent = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    rows = conn.execute("SELECT name, sha256, size FROM storage_blobs WHERE account = ? AND container = ? AND "
                        "(name = ? OR substr(name, 1, ?) = ?) ORDER BY name",
                        (account, container_name, path, len(path) + 1, path + "/")).fetchall()
    return {r["name"][len(parent):]: (r["sha256"], r["size"]) for r in rows}


def default_datastore(workspace: dict[str, Any], storage_suffix: str) -> dict[str, Any]:
    """The workspace's ``workspaceblobstore``: a blob container of the workspace's storage account."""
    workspace_id = workspace["id"]
    return {"id": f"{workspace_id}/datastores/{DEFAULT_DATASTORE}", "name": DEFAULT_DATASTORE,
            "type": f"{PROVIDER}/workspaces/datastores",
            "properties": {"datastoreType": "AzureBlob", "accountName": storage.account_name(workspace),
                           "containerName": storage.default_container(workspace["properties"]["workspaceId"]),
                           "endpoint": storage_suffix, "protocol": "https",
                           "credentials": {"credentialsType": "Sas"}, "isDefault": True,
                           "serviceDataAccessAuthIdentity": "None", "description": None, "tags": {},
                           "properties": {}}}


def datastore(workspace: dict[str, Any], name: str, storage_suffix: str) -> dict[str, Any]:
    if name.lower() != DEFAULT_DATASTORE:
        raise NotFound(f"DatastoreNotFound: {name} does not exist in workspace {workspace['name']}.",
                       code="UserError")
    return default_datastore(workspace, storage_suffix)
