"""How finished service operations change the service record (applied when the policy reveals them)."""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from . import service
from .state import ServiceState


def _finish_deploy(conn: sqlite3.Connection, op: sqlite3.Row, outcome: dict[str, Any]) -> None:
    found = service.row(conn, op["workspace_id"], op["target"])
    if found is None:
        return
    body = json.loads(found["body"])
    if body["state"] != ServiceState.TRANSITIONING.value:
        return  # an update that redeployed nothing (tags, keys, auth): the service's state stands
    if outcome["status"] == "Succeeded":
        body["error"] = None
        service.save(conn, op["workspace_id"], body, ServiceState.HEALTHY)
    else:
        body["error"] = outcome.get("error")
        service.save(conn, op["workspace_id"], body, ServiceState.FAILED)


def _finish_delete(conn: sqlite3.Connection, op: sqlite3.Row, outcome: dict[str, Any]) -> None:
    service.delete_row(conn, op["workspace_id"], op["target"])


def _finish_nothing(conn: sqlite3.Connection, op: sqlite3.Row, outcome: dict[str, Any]) -> None:
    return None


FINISHERS = {
    "service.create": _finish_deploy,
    "service.update": _finish_deploy,
    "service.delete": _finish_delete,
    "service.regenerateKeys": _finish_nothing,
}
