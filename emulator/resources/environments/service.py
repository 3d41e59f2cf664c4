"""Registered environments: versioned environment definitions (the SDK's JSON), stored as sent (no Flask here)."""
from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from ...errors import BadRequest, NotFound


class EnvironmentNotFound(NotFound):
    code = "EnvironmentNotFound"


def _not_found(name: str, version: str | None) -> EnvironmentNotFound:
    # The SDK never parses this text: it wraps the whole body in "Error retrieving the environment definition...".
    return EnvironmentNotFound(f"No definition exists for Environment with Name: {name} Version: {version or 'latest'}")


def register(conn: sqlite3.Connection, ws_id: str, name: str, definition: dict[str, Any]) -> dict[str, Any]:
    """Store ``definition`` as the next version of ``name`` (versions are strings "1", "2", ... as in Azure).
    The name and the definition's types were checked at the door (environments/schema.py)."""
    if definition.get("name") not in (None, name):
        raise BadRequest(f"The definition's name {definition.get('name')!r} does not match {name!r}.",
                         code="InvalidEnvironmentName")
    row = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 AS next FROM environments "
                       "WHERE workspace_id = ? AND name = ?", (ws_id, name)).fetchone()
    body = {**definition, "name": name, "version": str(row["next"])}
    conn.execute("INSERT INTO environments (workspace_id, name, version, body, created_at) VALUES (?, ?, ?, ?, ?)",
                 (ws_id, name, int(row["next"]), json.dumps(body), time.time()))
    return body


def get(conn: sqlite3.Connection, ws_id: str, name: str, version: str | None = None) -> dict[str, Any]:
    """One version, or the latest when ``version`` is None."""
    if version is None:
        row = conn.execute("SELECT body FROM environments WHERE workspace_id = ? AND name = ? "
                           "ORDER BY version DESC LIMIT 1", (ws_id, name)).fetchone()
    elif not version.isdigit():
        row = None
    else:
        row = conn.execute("SELECT body FROM environments WHERE workspace_id = ? AND name = ? AND version = ?",
                           (ws_id, name, int(version))).fetchone()
    if row is None:
        raise _not_found(name, version)
    return json.loads(row["body"])


def list_latest(conn: sqlite3.Connection, ws_id: str) -> list[dict[str, Any]]:
    """The latest version of every environment, by name."""
    rows = conn.execute("SELECT e.body FROM environments e WHERE e.workspace_id = ? AND e.version = "
                        "(SELECT MAX(version) FROM environments WHERE workspace_id = e.workspace_id "
                        "AND name = e.name) ORDER BY e.name", (ws_id,)).fetchall()
    return [json.loads(r["body"]) for r in rows]


def get_by_label(conn: sqlite3.Connection, ws_id: str, name: str, label: str) -> dict[str, Any]:
    for body in _versions(conn, ws_id, name):
        if label in (body.get("labels") or []):
            return body
    raise EnvironmentNotFound(f"No definition exists for Environment with Name: {name} Label: {label}")


def set_labels(conn: sqlite3.Connection, ws_id: str, name: str, version: str, labels: list[str]) -> None:
    """Point each label at ``version`` (a label names one version of an environment at a time)."""
    get(conn, ws_id, name, version)
    for body in _versions(conn, ws_id, name):
        kept = [label for label in body.get("labels") or [] if label not in labels]
        body["labels"] = kept + labels if body["version"] == version else kept
        conn.execute("UPDATE environments SET body = ? WHERE workspace_id = ? AND name = ? AND version = ?",
                     (json.dumps(body), ws_id, name, int(body["version"])))


def _versions(conn: sqlite3.Connection, ws_id: str, name: str) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT body FROM environments WHERE workspace_id = ? AND name = ? ORDER BY version DESC",
                        (ws_id, name)).fetchall()
    return [json.loads(r["body"]) for r in rows]
