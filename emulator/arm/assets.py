"""SDK v2 assets (no Flask here): model, environment and code versions as ARM resources, their containers
(``latestVersion``/``nextVersion``), and the workspace's default datastore ``workspaceblobstore``.

A version is one ``arm_assets`` row holding its ARM body. The files an asset names stay where the client
uploaded them: in the workspace's storage account (emulator/arm/storage.py)."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any

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
    row = conn.execute("SELECT body, created_at FROM arm_assets WHERE workspace_id = ? AND kind = ? AND name = ? "
                       "AND version = ?", (workspace_id, kind, name, version)).fetchone()
    if row is not None:
        old = json.loads(row["body"])["properties"]
        changed = [k for k in _CONTENT_KEYS[kind] if k in properties and properties.get(k) != old.get(k)]
        if changed:
            raise Conflict(f"{_SINGULAR[kind]} {name}:{version} already exists with a different "
                           f"{', '.join(changed)}; asset versions are immutable. Register a new version.",
                           code="UserError")
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


def get_version(conn: sqlite3.Connection, workspace_id: str, kind: str, name: str, version: str) -> dict[str, Any]:
    row = conn.execute("SELECT body FROM arm_assets WHERE workspace_id = ? AND kind = ? AND name = ? AND version = ?",
                       (workspace_id, kind, name, version)).fetchone()
    if row is None:
        raise not_found(kind, name, version)
    return json.loads(row["body"])


def list_versions(conn: sqlite3.Connection, workspace_id: str, kind: str, name: str, *, top: int | None = None,
                  oldest_first: bool = False, content_hash: str | None = None) -> list[dict[str, Any]]:
    """Versions of one asset, newest first (``$orderBy=createdtime asc`` reverses)."""
    order = "ASC" if oldest_first else "DESC"
    rows = conn.execute(f"SELECT body FROM arm_assets WHERE workspace_id = ? AND kind = ? AND name = ? "
                        f"ORDER BY created_at {order}, rowid {order}", (workspace_id, kind, name)).fetchall()
    bodies = [json.loads(r["body"]) for r in rows]
    if content_hash is not None:
        bodies = [b for b in bodies if b["properties"].get("properties", {}).get("hash_sha256") == content_hash]
    return bodies[:top] if top else bodies


def _next_version(versions: list[str]) -> str:
    numbers = [int(v) for v in versions if v.isdigit()]
    return str(max(numbers) + 1) if numbers else "1"


def container(conn: sqlite3.Connection, workspace_id: str, kind: str, name: str) -> dict[str, Any]:
    rows = conn.execute("SELECT version, body, created_at FROM arm_assets WHERE workspace_id = ? AND kind = ? "
                        "AND name = ? ORDER BY created_at, rowid", (workspace_id, kind, name)).fetchall()
    if not rows:
        raise not_found(kind, name)
    latest = json.loads(rows[-1]["body"])
    return {"id": f"{workspace_id}/{kind}/{name}", "name": name, "type": f"{PROVIDER}/workspaces/{kind}",
            "properties": {"description": None, "tags": {}, "properties": {}, "isArchived": False,
                           "latestVersion": latest["name"], "nextVersion": _next_version([r["version"] for r in rows]),
                           "provisioningState": "Succeeded"},
            "systemData": _system_data(rows[0]["created_at"], rows[-1]["created_at"])}


def list_containers(conn: sqlite3.Connection, workspace_id: str, kind: str) -> list[dict[str, Any]]:
    names = [r["name"] for r in conn.execute("SELECT name, MIN(created_at) AS first FROM arm_assets WHERE "
                                             "workspace_id = ? AND kind = ? GROUP BY name ORDER BY first",
                                             (workspace_id, kind))]
    return [container(conn, workspace_id, kind, n) for n in names]


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
