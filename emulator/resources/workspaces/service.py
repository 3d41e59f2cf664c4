"""Workspaces: the scope every other resource lives in."""
from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from ...errors import NotFound, ValidationFailed
from ...store import WORKSPACE_TABLES

ARM_PROVIDER = "Microsoft.MachineLearningServices"
# The SDK's check_valid_resource_name text; the same rule guards the daemon for every client.
WORKSPACE_NAME_RULE = ("Workspace name must be between 3 and 33 characters long. Its first character has to be "
                       "alphanumeric, and the rest may contain hyphens and underscores. No whitespace is allowed.")


def workspace_id(subscription_id: str, resource_group: str, name: str) -> str:
    return (f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
            f"/providers/{ARM_PROVIDER}/workspaces/{name}")


def get(conn: sqlite3.Connection, ws_id: str) -> dict[str, Any]:
    # Azure treats resource group and workspace names case-insensitively.
    row = conn.execute("SELECT body FROM workspaces WHERE lower(id) = lower(?)", (ws_id,)).fetchone()
    if row is None:
        raise NotFound("Workspace not found.", code="ResourceNotFound")
    return json.loads(row["body"])


def create_or_get(conn: sqlite3.Connection, subscription_id: str, resource_group: str, name: str,
                  location: str, sku: str = "basic", tags: dict[str, str] | None = None) -> tuple[dict[str, Any], bool]:
    """Returns (workspace, created)."""
    _validate_name(name)
    ws_id = workspace_id(subscription_id, resource_group, name)
    try:
        return get(conn, ws_id), False
    except NotFound:
        pass
    body = {
        "id": ws_id,
        "name": name,
        "type": f"{ARM_PROVIDER}/workspaces",
        "location": location,
        "tags": tags or {},
        "sku": {"name": sku, "tier": sku},
        "properties": {
            "friendlyName": name,
            "provisioningState": "Succeeded",
            "workspaceId": _stable_guid(ws_id),
            "discoveryUrl": "",
        },
        "subscriptionId": subscription_id,
        "resourceGroup": resource_group,
    }
    conn.execute(
        "INSERT INTO workspaces (id, subscription_id, resource_group, name, location, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (ws_id, subscription_id, resource_group, name, location, json.dumps(body), time.time()),
    )
    return body, True


def list_all(conn: sqlite3.Connection, subscription_id: str | None = None,
             resource_group: str | None = None) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT body, subscription_id, resource_group FROM workspaces ORDER BY created_at").fetchall()
    return [json.loads(r["body"]) for r in rows
            if (subscription_id is None or r["subscription_id"] == subscription_id)
            and (resource_group is None or r["resource_group"].lower() == resource_group.lower())]


def delete(conn: sqlite3.Connection, ws_id: str) -> None:
    get(conn, ws_id)
    conn.execute("DELETE FROM asset_files WHERE asset_id IN (SELECT id FROM assets WHERE workspace_id = ?)",
                 (ws_id,))
    for table in WORKSPACE_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE workspace_id = ?", (ws_id,))
    conn.execute("DELETE FROM workspaces WHERE id = ?", (ws_id,))


def _validate_name(name: str) -> None:
    # Azure ML: 3-33 characters, letters/digits/hyphens/underscores, starting with a letter or digit
    # (ASCII: \w would take any Unicode letter; fullmatch: "$" would let a trailing newline through).
    import re

    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}", name or ""):
        raise ValidationFailed(WORKSPACE_NAME_RULE)


def _stable_guid(text: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, text))
