"""How finished service operations change the service record (applied when the policy reveals them)."""
from __future__ import annotations

import sqlite3

from ...operations import OperationRecord


def _finish_deploy(conn: sqlite3.Connection, op: OperationRecord) -> None:
    # Imported here: the deployment core imports this package's service module.
    from ...deploy import lifecycle
    from .endpoint_actions import finish_operation as finish_endpoint_operation

    if not finish_endpoint_operation(conn, op.workspace_id, op.target, op.outcome):  # an AKS endpoint's versions
        lifecycle.deploy_operation_finished(conn, op.workspace_id, op.target, op.outcome)


def _finish_delete(conn: sqlite3.Connection, op: OperationRecord) -> None:
    from ...deploy import lifecycle
    lifecycle.deleted(conn, op.workspace_id, op.target)


def _finish_nothing(conn: sqlite3.Connection, op: OperationRecord) -> None:
    return None


FINISHERS = {
    "service.create": _finish_deploy,
    "service.update": _finish_deploy,
    "service.delete": _finish_delete,
    "service.regenerateKeys": _finish_nothing,
}
