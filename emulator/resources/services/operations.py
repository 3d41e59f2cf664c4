"""How finished service operations change the service record (applied when the policy reveals them)."""
from __future__ import annotations

import sqlite3
from typing import Any

from . import service


def _finish_deploy(conn: sqlite3.Connection, op: sqlite3.Row, outcome: dict[str, Any]) -> None:
    # Imported here: the deployment core imports this package's service module.
    from ...deploy import lifecycle
    lifecycle.deploy_operation_finished(conn, op["workspace_id"], op["target"], outcome)


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
