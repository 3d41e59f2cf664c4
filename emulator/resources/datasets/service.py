"""Datasets: saved dataset definitions (what ``Dataset.File.from_files`` / ``Dataset.Tabular.
from_delimited_files`` describe) and their registrations under a name and version. No Flask here.

A definition names ``(datastore, path-or-glob)`` pairs and reading options; like Azure's, it is resolved
when it is read (the facade lists the datastore's blobs), so files uploaded later are part of it. Saving
the same definition twice gives the same id, as ``_ensure_saved`` expects.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from ...errors import Conflict, NotFound
from ...store import Store


class DatasetNotFound(NotFound):
    code = "DatasetNotFound"


def save(store: Store, ws_id: str, definition: dict[str, Any]) -> dict[str, Any]:
    """The saved dataset for ``definition`` (created on first save)."""
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    saved_id = str(uuid.UUID(hashlib.sha256((ws_id.lower() + "\n" + canonical).encode()).hexdigest()[:32]))
    body = {"id": saved_id, "datasetType": definition["datasetType"], "definition": definition,
            "createdTime": _now()}
    with store.transaction() as conn:
        conn.execute("INSERT OR IGNORE INTO saved_datasets (workspace_id, id, body, created_at) VALUES (?, ?, ?, ?)",
                     (ws_id, saved_id, json.dumps(body), time.time()))
        return get_saved(conn, ws_id, saved_id)


def get_saved(conn: sqlite3.Connection, ws_id: str, saved_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT body FROM saved_datasets WHERE workspace_id = ? AND id = ?",
                       (ws_id, saved_id)).fetchone()
    if row is None:
        raise DatasetNotFound(f'Cannot find dataset with id "{saved_id}" in the workspace.')
    return json.loads(row["body"])


def register(store: Store, ws_id: str, name: str, saved_id: str, description: str | None,
             tags: dict[str, Any] | None, create_new_version: bool) -> dict[str, Any]:
    """Register ``saved_id`` as ``name``: version 1, or the next version with ``create_new_version`` (the
    latest version is returned as is when it already holds this definition)."""
    with store.transaction() as conn:
        saved = get_saved(conn, ws_id, saved_id)
        latest = _latest_row(conn, ws_id, name)
        if latest is not None:
            if not create_new_version:
                raise Conflict(f'There is already a dataset registered under name "{name}".',
                               code="DatasetAlreadyExists")
            if latest["saved_id"] == saved_id:
                return json.loads(latest["body"])
        version = 1 if latest is None else latest["version"] + 1
        body = {"name": name, "version": version, "id": saved_id, "registrationId": uuid.uuid4().hex,
                "datasetType": saved["datasetType"], "definition": saved["definition"],
                "description": description,
                "tags": {str(k): (None if v is None else str(v)) for k, v in (tags or {}).items()},
                "createdTime": _now()}
        conn.execute("INSERT INTO datasets (workspace_id, name, version, saved_id, body, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", (ws_id, name, version, saved_id, json.dumps(body), time.time()))
        return body


def _latest_row(conn: sqlite3.Connection, ws_id: str, name: str) -> sqlite3.Row | None:
    return conn.execute("SELECT version, saved_id, body FROM datasets WHERE workspace_id = ? AND name = ? "
                        "ORDER BY version DESC LIMIT 1", (ws_id, name)).fetchone()


def get(conn: sqlite3.Connection, ws_id: str, name: str, version: int | None = None) -> dict[str, Any]:
    """The registered dataset ``name`` (its latest version unless ``version``)."""
    if version is None:
        row = _latest_row(conn, ws_id, name)
    else:
        row = conn.execute("SELECT body FROM datasets WHERE workspace_id = ? AND name = ? AND version = ?",
                           (ws_id, name, version)).fetchone()
    if row is None:
        raise DatasetNotFound('Cannot find dataset registered with name "{}"{} in the workspace.'.format(
            name, "" if version is None else " (version: {})".format(version)))
    return json.loads(row["body"])


def latest_of_each(conn: sqlite3.Connection, ws_id: str) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT body FROM datasets AS d WHERE workspace_id = ? AND version = (SELECT MAX(version) "
                        "FROM datasets WHERE workspace_id = d.workspace_id AND name = d.name) ORDER BY name",
                        (ws_id,)).fetchall()
    return [json.loads(r["body"]) for r in rows]


def registrations_of(conn: sqlite3.Connection, ws_id: str, saved_id: str) -> list[dict[str, Any]]:
    """The registrations that hold saved dataset ``saved_id``, newest first."""
    rows = conn.execute("SELECT body FROM datasets WHERE workspace_id = ? AND saved_id = ? ORDER BY created_at DESC",
                        (ws_id, saved_id)).fetchall()
    return [json.loads(r["body"]) for r in rows]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
