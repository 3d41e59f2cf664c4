"""The model registry: versions, metadata and file manifests of registered models (no Flask here).

A model version is one row in ``models`` (its body is the Model Management Service's model DTO,
camelCase) plus one ``model_files`` row per file: the file's relative path inside the model and the
sha256 of its content in the content-addressed :class:`~emulator.blobs.BlobStore`.

The workspace has one model registry for both SDKs, as on Azure: the versions SDK v2 registered (``arm_assets``
rows, emulator/arm/assets.py) are read here as v1 DTOs (:func:`_from_v2`), and v1's as ARM versions there. A
version is one row in one of the two tables (never copied), numbered in one sequence per name.
"""
from __future__ import annotations

import getpass
import json
import re
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from ...arm import assets as arm_assets
from ...arm import storage
from ...blobs import BlobStore
from ...errors import BadRequest, NotFound, PreconditionFailed, ValidationFailed
from ...store import Store
from ...uploads import Upload, normalize_relpath
from ..filters import kv_match
from ..workspaces import service as workspaces

# azureml._model_management._util.model_name_validation: the same rule and text, enforced here too.
NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9\-\._]{0,254}$"
INVALID_NAME = ("Error, provided model name is invalid. It must only consist of letters, numbers, dashes, "
                "periods, or underscores, start with a letter or number, and be between 1 and 255 characters long.")
NO_FRAMEWORK = "Model framework version cannot be provided without a valid framework"
IMMUTABLE_PROPERTIES = "Error, properties are immutable, the following keys cannot be added/modified: {}"
DEFAULT_MIME_TYPE = "application/json"  # ModelsClient.register_model's default
DEFAULT_FRAMEWORK = "Custom"  # what MMS reports for models registered without a framework
# JSON-patch paths the SDK sends (Model.update / update_tags_properties / add_dataset_references).
PATCHABLE = {"/kvTags", "/description", "/properties", "/sampleInputData", "/sampleOutputData",
             "/resourceRequirements", "/datasets"}


class ModelNotFound(NotFound):
    code = "ModelNotFound"


class ModelValidation(ValidationFailed):
    code = "ModelValidation"


def not_found_message(**kwargs: Any) -> str:
    """azureml's populate_model_not_found_details: the text the SDK shows for a missing model."""
    return ("ModelNotFound: Model with " + ", ".join("{} {}".format(k, v) for k, v in kwargs.items() if v)
            + " not found in provided workspace")


@dataclass(frozen=True)
class Query:
    """The list filters of ``Model.list`` / the Model constructor, as the SDK sends them."""

    name: str | None = None
    framework: str | None = None
    tags: str | None = None  # "k=v,k2" as the SDK builds it
    properties: str | None = None
    run_id: str | None = None
    dataset_id: str | None = None
    latest: bool = False
    count: int | None = None


# --- validation -----------------------------------------------------------------------------------

def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        raise ModelValidation(INVALID_NAME)
    return name


def _string_map(value: Any, what: str) -> dict[str, str | None]:
    """A string-to-string map; scalar values become strings, as MMS's JSON binding does."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(v is None or isinstance(v, (str, int, float, bool))
                                              for v in value.values()):
        raise ModelValidation(f"{what} must be a JSON object with string values.")
    return {k: (v if v is None or isinstance(v, str) else str(v)) for k, v in value.items()}


def _validate_metadata(meta: dict[str, Any]) -> None:
    validate_name(meta.get("name"))
    if meta.get("framework") is None and meta.get("frameworkVersion") is not None:
        raise ModelValidation(NO_FRAMEWORK)
    _string_map(meta.get("kvTags"), "kvTags")
    _string_map(meta.get("properties"), "properties")


# --- registration ---------------------------------------------------------------------------------

def register(db: Store, blobs: BlobStore, ws_id: str, meta: dict[str, Any],
             uploads: Iterable[Upload]) -> dict[str, Any]:
    """Store the files, then allocate the next version and write the rows in one transaction."""
    uploads = list(uploads)
    _validate_metadata(meta)
    relpaths = [normalize_relpath(u.relpath) for u in uploads]
    if not uploads:
        raise ModelValidation("No files to register: a model needs at least one file.")
    if len(set(relpaths)) != len(relpaths):
        raise BadRequest("Duplicate file paths in the upload.", code="InvalidModelFilePath")
    # Blobs first and outside the transaction: a large upload must not hold the write lock. A failed
    # registration leaves unreferenced blobs, which are harmless (content-addressed, never partial).
    manifest = []
    for relpath, upload in zip(relpaths, uploads):
        digest, size = blobs.put(upload.stream)
        manifest.append((relpath, digest, size))
    with db.transaction() as conn:
        now = _now()  # the next number after v1's and v2's versions of the name
        body = _new_body(meta, arm_assets.next_model_version(conn, ws_id, meta["name"]), now)
        conn.execute("INSERT INTO models (workspace_id, name, version, body, created_at) VALUES (?, ?, ?, ?, ?)",
                     (ws_id, body["name"], body["version"], json.dumps(body), now.timestamp()))
        conn.executemany("INSERT INTO model_files (workspace_id, name, version, relpath, sha256, size) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         [(ws_id, body["name"], body["version"], p, d, s) for p, d, s in manifest])
        _place_in_datastore(conn, ws_id, body, manifest, now.timestamp())
    return body


def _place_in_datastore(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any],
                        manifest: list[tuple[str, str, int]], now: float) -> None:
    """Put the files in the workspace's default datastore too, as v1's registration uploads them on Azure, so the
    datastore path SDK v2 shows for the model is real (``ml_client.models.download`` reads it). The registry's
    record of the files stays ``model_files``; these are written once and never synced (blobs, like Azure's)."""
    workspace = workspaces.get(conn, ws_id)
    account = storage.account_name(workspace)
    container = storage.default_container(workspace["properties"]["workspaceId"])
    folder = arm_assets.v1_upload_folder(body)
    for relpath, digest, size in manifest:
        storage.write(conn, ws_id, account, container, f"{folder}/{relpath}", digest, size,
                      "application/octet-stream", {}, now)


def _new_body(meta: dict[str, Any], version: int, created: datetime) -> dict[str, Any]:
    name = meta["name"]
    return {
        "id": f"{name}:{version}",
        "name": name,
        "version": version,
        "description": meta.get("description"),
        "kvTags": _string_map(meta.get("kvTags"), "kvTags"),
        "properties": _string_map(meta.get("properties"), "properties"),
        "url": "aml://asset/" + uuid.uuid4().hex,
        "mimeType": meta.get("mimeType") or DEFAULT_MIME_TYPE,
        "framework": meta.get("framework") or DEFAULT_FRAMEWORK,
        "frameworkVersion": meta.get("frameworkVersion"),
        "unpack": False,
        "experimentName": meta.get("experimentName"),
        "runId": meta.get("runId"),
        "datasets": list(meta.get("datasets") or []),
        "sampleInputData": meta.get("sampleInputData"),
        "sampleOutputData": meta.get("sampleOutputData"),
        "resourceRequirements": meta.get("resourceRequirements"),
        "createdTime": created.isoformat(),
        "createdBy": {"userName": _user_name()},
        "parentModelId": None,
        "derivedModelIds": [],
    }


# --- reads ----------------------------------------------------------------------------------------

def _split_id(model_id: str) -> tuple[str, int]:
    name, sep, version = model_id.rpartition(":")
    if not sep or not name or not arm_assets.v1_numbered(version):
        raise ModelNotFound(not_found_message(id=model_id))
    return name, int(version)


def get(conn: sqlite3.Connection, ws_id: str, model_id: str) -> dict[str, Any]:
    """The model ``name:version`` (registered by either SDK); 404 with the SDK's not-found text."""
    name, version = _split_id(model_id)
    row = conn.execute("SELECT body FROM models WHERE workspace_id = ? AND name = ? AND version = ?",
                       (ws_id, name, version)).fetchone()
    if row is not None:
        return json.loads(row["body"])
    v2 = _v2_rows(conn, ws_id, name, str(version))
    if not v2:
        raise ModelNotFound(not_found_message(id=model_id))
    return v2[0]


def latest(conn: sqlite3.Connection, ws_id: str, name: str) -> dict[str, Any]:
    row = conn.execute("SELECT body FROM models WHERE workspace_id = ? AND name = ? ORDER BY version DESC LIMIT 1",
                       (ws_id, name)).fetchone()
    candidates = ([json.loads(row["body"])] if row is not None else []) + _v2_rows(conn, ws_id, name)
    if not candidates:
        raise ModelNotFound(not_found_message(name=name))
    return max(candidates, key=lambda body: body["version"])


def _v2_rows(conn: sqlite3.Connection, ws_id: str, name: str | None = None, version: str | None = None
             ) -> list[dict[str, Any]]:
    """The model versions SDK v2 registered (numbered ones: v1's versions are integers), as v1 DTOs."""
    rows = conn.execute("SELECT name, version, body, created_at FROM arm_assets WHERE workspace_id = ? AND "
                        "kind = 'models' AND (? IS NULL OR name = ?) AND (? IS NULL OR version = ?)",
                        (ws_id, name, name, version, version)).fetchall()
    return [_from_v2(r["name"], json.loads(r["body"]), r["created_at"]) for r in rows
            if arm_assets.v1_numbered(r["version"])]


def _from_v2(name: str, arm: dict[str, Any], created_at: float) -> dict[str, Any]:
    """A v2 model version as MMS's model DTO: v2's tags are v1's kvTags, its ``modelUri`` v1's url; v2 has no
    framework (MMS's default for none)."""
    props = arm["properties"]
    version = int(arm["name"])
    return {"id": f"{name}:{version}", "name": name, "version": version, "description": props.get("description"),
            "kvTags": _string_map(props.get("tags"), "tags"), "properties": _string_map(props.get("properties"),
                                                                                          "properties"),
            "url": props.get("modelUri"), "mimeType": DEFAULT_MIME_TYPE, "framework": DEFAULT_FRAMEWORK,
            "frameworkVersion": None, "unpack": False, "experimentName": None, "runId": props.get("jobName"),
            "datasets": [], "sampleInputData": None, "sampleOutputData": None, "resourceRequirements": None,
            "createdTime": datetime.fromtimestamp(created_at, timezone.utc).isoformat(),
            "createdBy": {"userName": (arm.get("systemData") or {}).get("createdBy") or _user_name()},
            "parentModelId": None, "derivedModelIds": []}


def _created(body: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(body["createdTime"])


def query(conn: sqlite3.Connection, ws_id: str, q: Query) -> list[dict[str, Any]]:
    """Matching models, newest first (MMS's order; the SDK's constructor takes the first)."""
    v2 = [b for b in _v2_rows(conn, ws_id, q.name) if _matches(b, q)]
    if q.latest and not any((q.framework, q.run_id, q.dataset_id, q.tags, q.properties)):
        # Only the newest version of each name can match: let SQLite pick them instead of parsing every row.
        rows = conn.execute(
            "SELECT body FROM models AS m WHERE workspace_id = ? AND (? IS NULL OR name = ?) AND version = "
            "(SELECT MAX(version) FROM models WHERE workspace_id = m.workspace_id AND name = m.name) "
            "ORDER BY created_at DESC, name", (ws_id, q.name, q.name)).fetchall()
        bodies = [json.loads(r["body"]) for r in rows]
    elif q.name is None:
        rows = conn.execute("SELECT body FROM models WHERE workspace_id = ? ORDER BY created_at DESC, name, "
                            "version DESC", (ws_id,)).fetchall()
        bodies = [b for b in (json.loads(r["body"]) for r in rows) if _matches(b, q)]
    else:  # one name: by version, so "the first" is the latest version whatever the clock did
        rows = conn.execute("SELECT body FROM models WHERE workspace_id = ? AND name = ? ORDER BY version DESC",
                            (ws_id, q.name)).fetchall()
        bodies = [b for b in (json.loads(r["body"]) for r in rows) if _matches(b, q)]
    if v2:  # the versions v2 registered, in the same order
        bodies = sorted(bodies + v2, key=lambda b: (-b["version"],) if q.name is not None else
                        (-_created(b).timestamp(), b["name"], -b["version"]))
    if q.latest:
        # Filters first, then the newest match per name (MMS's exact order of the two is not documented).
        newest: dict[str, int] = {}
        for body in bodies:
            newest[body["name"]] = max(newest.get(body["name"], 0), body["version"])
        bodies = [b for b in bodies if b["version"] == newest[b["name"]]]
    return bodies[: q.count] if q.count else bodies


def _matches(body: dict[str, Any], q: Query) -> bool:
    if q.framework is not None and body.get("framework") != q.framework:
        return False
    if q.run_id is not None and body.get("runId") != q.run_id:
        return False
    if q.dataset_id is not None and not any(d.get("id") == q.dataset_id for d in body.get("datasets") or []):
        return False
    return kv_match(body.get("kvTags") or {}, q.tags) and kv_match(body.get("properties") or {}, q.properties)


def version_files(conn: sqlite3.Connection, ws_id: str, name: str, version: int) -> dict[str, tuple[str, int]]:
    """{relative path: (sha256, size)} of a model version registered by either SDK (v1's file manifest, or the
    blobs a v2 version's ``modelUri`` names: the registered file or folder keeps its own name in both); empty
    for a v2 version whose files are outside the workspace's storage account."""
    found = arm_assets.model_files(conn, workspaces.get(conn, ws_id), name, str(version))
    return found or {}


def files(conn: sqlite3.Connection, ws_id: str, model_id: str) -> list[dict[str, Any]]:
    """The model's file manifest (relative path, size, sha256), sorted by path."""
    body = get(conn, ws_id, model_id)
    manifest = version_files(conn, ws_id, body["name"], body["version"])
    return [{"path": path, "sha256": digest, "size": size} for path, (digest, size) in sorted(manifest.items())]


def file_digest(conn: sqlite3.Connection, ws_id: str, model_id: str, relpath: str) -> tuple[str, int]:
    body = get(conn, ws_id, model_id)
    found = version_files(conn, ws_id, body["name"], body["version"]).get(relpath)
    if found is None:
        raise NotFound(f"Model {model_id} has no file {relpath!r}.", code="ModelFileNotFound")
    return found


# --- writes ---------------------------------------------------------------------------------------

def patch(conn: sqlite3.Connection, ws_id: str, model_id: str, operations: Any) -> dict[str, Any]:
    """Apply the SDK's JSON-patch list (op add/replace on PATCHABLE paths)."""
    if not isinstance(operations, list):
        raise BadRequest("The request body must be a JSON-patch list.")
    body = get(conn, ws_id, model_id)
    for op in operations:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace") or op.get("path") not in PATCHABLE:
            raise BadRequest(f"Unsupported patch operation {op!r}.")
        _apply(body, op["op"], op["path"][1:], op.get("value"))
    updated = conn.execute("UPDATE models SET body = ? WHERE workspace_id = ? AND name = ? AND version = ?",
                           (json.dumps(body), ws_id, body["name"], body["version"])).rowcount
    if not updated:  # a v2-registered version: what v2 has a field for is written into its ARM body
        _patch_v2(conn, ws_id, body)
    return body


def _patch_v2(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any]) -> None:
    row = conn.execute("SELECT body FROM arm_assets WHERE workspace_id = ? AND kind = 'models' AND name = ? AND "
                       "version = ?", (ws_id, body["name"], str(body["version"]))).fetchone()
    arm = json.loads(row["body"])
    arm["properties"].update(description=body.get("description"), tags=body.get("kvTags") or {},
                             properties=body.get("properties") or {})
    conn.execute("UPDATE arm_assets SET body = ? WHERE workspace_id = ? AND kind = 'models' AND name = ? AND "
                 "version = ?", (json.dumps(arm), ws_id, body["name"], str(body["version"])))


def _apply(body: dict[str, Any], op: str, field: str, value: Any) -> None:
    if field == "kvTags":
        body["kvTags"] = _string_map(value, "kvTags")
    elif field == "properties":
        new = _string_map(value, "properties")
        existing = body.get("properties") or {}
        # Properties are immutable: existing keys may be repeated unchanged, never changed or dropped.
        changed = [k for k in existing if k not in new or new[k] != existing[k]]
        if changed:
            raise ModelValidation(IMMUTABLE_PROPERTIES.format(",".join(changed)))
        body["properties"] = new
    elif field == "datasets":
        if not isinstance(value, list):
            raise BadRequest("datasets must be a list.")
        body["datasets"] = (body.get("datasets") or []) + value if op == "add" else value
    elif field == "description":
        if value is not None and not isinstance(value, str):
            raise BadRequest("description must be a string.")
        body["description"] = value
    else:
        body[field] = value


def delete(conn: sqlite3.Connection, ws_id: str, model_id: str, used_by: Iterable[str] = ()) -> None:
    """Delete a model version, unless services (``used_by``: their names) are deployed with it."""
    body = get(conn, ws_id, model_id)
    users = sorted(used_by)
    if users:
        # The SDK turns a 412 whose text holds "DeletionRequired" into its own message.
        raise PreconditionFailed(f"Model {model_id} is used by the deployed service(s) {', '.join(users)}; "
                                 "delete them first.", code="DeletionRequired")
    # Blobs stay: they may be shared with other versions and are cheap to keep. The version goes from the
    # workspace's one registry, wherever it was registered (a v2 version: its ARM row; its uploaded blobs stay).
    arm_assets.delete_version(conn, ws_id, "models", body["name"], str(body["version"]))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _user_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): MMS still reports a creator
        return "fake-azure"
