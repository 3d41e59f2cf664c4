"""What each webservice request does (no Flask): the store transaction, the long-running operation it
records and what it hands to the deploy engine afterwards, outside the transaction. The routes in
api.py parse the request and shape the response; service.py holds the records and the planning."""
from __future__ import annotations

import json
import secrets
import sqlite3
from typing import TYPE_CHECKING, Any, Callable

from ... import error_catalog
from ...deploy import lifecycle
from ...deploy.records import ReplicaRecord, ReplicaState, replicas_of
from ...error_catalog import AzureError
from ...errors import Conflict
from ...operations import OperationStatus, Outcome
from ...scheduler import Unschedulable
from ..models import service as models
from . import service

if TYPE_CHECKING:
    from ...cloud import Cloud


def operation_extra(operation_type: str, sub_operation: str = "DeployService") -> dict[str, Any]:
    """The operation's ``operationType`` and ``operationDetails``, as the SDK reads them."""
    return {"operationType": operation_type, "operationDetails": {"subOperationType": sub_operation}}


def plan_update(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any],
                retiring: list[ReplicaRecord] | None) -> list[dict[str, Any]]:
    """The replicas of a redeploy, placed beside the ones it replaces (``retiring``) while those serve, as a
    rolling update's surge needs room on the cluster for both; where there is no such room, as if they were gone
    (the rollout then stops them first). Raises Unschedulable when they fit nowhere at all."""
    count = service.desired_replicas(body)
    if retiring:
        try:
            return service.plan_replicas(conn, ws_id, body, count, keep=[r.to_wire() for r in retiring])
        except Unschedulable:
            pass
    return service.plan_replicas(conn, ws_id, body, count)


def create(cloud: Cloud, ws_body: dict[str, Any], payload: dict[str, Any], overwrite: bool) -> tuple[dict, str]:
    """Record a new service (or replace one, with ``overwrite``), place its replicas and start its deployment.
    Returns the service body and the operation id."""
    ws_id, name = ws_body["id"], payload["name"]
    request_body = payload["environmentImageRequest"]  # with driverProgram and assets: checked at the door
    with cloud.store.transaction() as conn:
        existing = service.row(conn, ws_id, name)
        if existing is not None and overwrite and json.loads(existing["body"])["computeType"] != service.LOCAL:
            refuse_while_busy(cloud, conn, ws_id, name)
            existing = service.row(conn, ws_id, name)
        if existing is not None and not overwrite:
            raise Conflict.of(error_catalog.service_exists(name, ws_body["name"]))
        model_dtos = [models.get(conn, ws_id, model_id) for model_id in request_body.get("modelIds") or []]
        body = service.build_body(conn, ws_body, payload, model_dtos)
        # An overwrite: the engine replaces its replicas; the running ones serve until then.
        retiring = lifecycle.replaced(conn, ws_id, name) if existing is not None else None
        try:  # planning reads the other services' rows only, so the new row goes in once, planned
            body["fakeAzure"]["replicas"] = plan_update(conn, ws_id, body, retiring)
            outcome = Outcome(pending=True)
        except Unschedulable as exc:  # Azure finds this after 5 minutes; we know it now
            outcome = Outcome(OperationStatus.FAILED, error=service.unschedulable_error(exc))
        outcome.running_status, outcome.extra = OperationStatus.RUNNING.value, operation_extra("Create")
        lifecycle.deploy_begun(conn, ws_id, body, service.new_secrets(payload), retiring)
        supersede(cloud, conn, ws_id, name, "deployed again")  # a local one's redeploy, a leftover after a delete
        op_id = cloud.operations.start(conn, ws_id, "service.create", name, outcome)
    if outcome.pending:
        cloud.engine.deploy(ws_id, name, op_id)
    return body, op_id


def bring_up_to_date(cloud: Cloud, ws_id: str, name: str | None = None) -> None:
    """Reading a service (``name``; None: every one) counts as a poll of its unfinished operation: a
    deployment or delete nobody waits on still ends (Azure finishes it server-side), and a local
    service is looked at, not polled. Costs one read when nothing is unfinished."""
    running = cloud.operations.running_targets(cloud.store.read(), ws_id, "service.")
    if name is not None:
        running &= {name}
    if running:
        with cloud.store.transaction() as conn:
            for target in running:
                cloud.operations.advance_for_target(conn, ws_id, "service.", target)


def supersede(cloud: Cloud, conn: sqlite3.Connection, ws_id: str, name: str, by: str) -> None:
    """Cancel what still runs on ``name`` before ``by`` replaces it (its outcome would land on the new record)."""
    cloud.operations.cancel_running(conn, ws_id, "service.", name, f"Service {name} was {by} before this "
                                    "operation finished.")


def refuse_while_busy(cloud: Cloud, conn: sqlite3.Connection, ws_id: str, name: str,
                      conflict: Callable[[str, str, str], AzureError] = error_catalog.operation_in_progress) -> None:
    """409 while an earlier operation on the service has not ended: Azure runs one at a time. ``conflict`` words
    it from (name, operation kind, operation id): v1's text by default."""
    operations = cloud.operations
    operations.advance_for_target(conn, ws_id, "service.", name)
    running = operations.running_for_target(conn, ws_id, "service.", name)
    if running:
        kind = running[0].kind.split(".", 1)[1]
        raise Conflict.of(conflict(name, kind, running[0].id))


def delete(cloud: Cloud, ws_id: str, name: str) -> str | None:
    """Start deleting ``name``: the operation id, or None when there is nothing (left) to delete."""
    from . import endpoint_actions, endpoints  # they use this module's helpers

    found = service.row(cloud.store.read(), ws_id, name)
    if found is not None and endpoints.is_endpoint(json.loads(found["body"])):
        return endpoint_actions.delete(cloud, ws_id, name)  # the endpoint and every version of it
    with cloud.store.transaction() as conn:
        found = service.row(conn, ws_id, name)
        if found is None:
            return None
        if json.loads(found["body"])["computeType"] == service.LOCAL:
            supersede(cloud, conn, ws_id, name, "deleted")  # a local container is removed whatever it does
        else:
            refuse_while_busy(cloud, conn, ws_id, name)
            if service.row(conn, ws_id, name) is None:
                return None  # the check saw an earlier delete through
        op_id = cloud.operations.start(conn, ws_id, "service.delete", name,
                                       Outcome(pending=True, running_status=OperationStatus.RUNNING.value,
                                               extra=operation_extra("Delete")))
    cloud.engine.delete(ws_id, name, op_id)
    return op_id


def update(cloud: Cloud, ws_id: str, name: str, patch: list) -> tuple[dict, str]:
    """Apply a JSON patch; a change to what runs redeploys every replica. Returns the body and the operation id."""
    with cloud.store.transaction() as conn:
        service.get(conn, ws_id, name)  # 404 for an unknown service
        refuse_while_busy(cloud, conn, ws_id, name)
        body = service.get(conn, ws_id, name)
        redeploy = service.apply_patch(body, patch, lambda ids: [models.get(conn, ws_id, i) for i in ids])
        if redeploy:
            # A redeploy replaces every replica: none is kept, and planning ignores this service's
            # own stored replicas (allocations_on skips it), so nothing is saved before it.
            retiring = [r for r in replicas_of(body) if r.state is ReplicaState.RUNNING]
            body["fakeAzure"]["replicas"] = []
            try:
                body["fakeAzure"]["replicas"] = plan_update(conn, ws_id, body, retiring)
                outcome = Outcome(pending=True)
            except Unschedulable as exc:
                outcome = Outcome(OperationStatus.FAILED, error=service.unschedulable_error(exc))
            body["deploymentStatus"]["desiredReplicas"] = service.desired_replicas(body)
            body = lifecycle.update_begun(conn, ws_id, body)
        else:
            outcome = Outcome(OperationStatus.SUCCEEDED)
            body = lifecycle.patched(conn, ws_id, body)
        outcome.running_status, outcome.extra = OperationStatus.RUNNING.value, operation_extra("Update")
        op_id = cloud.operations.start(conn, ws_id, "service.update", name, outcome)
    if outcome.pending:
        cloud.engine.deploy(ws_id, name, op_id)
    else:
        cloud.engine.refresh_auth(ws_id, name)
    return body, op_id


def regenerate_key(cloud: Cloud, ws_id: str, name: str, key_type: str, key_value: str | None) -> str:
    """Replace the primary or secondary key (a new random one unless given); the operation id."""
    with cloud.store.transaction() as conn:
        values = service.secrets_of(conn, ws_id, name)
        values[key_type.lower() + "Key"] = key_value or secrets.token_urlsafe(24)
        service.save_secrets(conn, ws_id, name, values)
        op_id = cloud.operations.start(conn, ws_id, "service.regenerateKeys", name,
                                       Outcome(OperationStatus.SUCCEEDED, running_status=OperationStatus.RUNNING.value,
                                               extra=operation_extra("RegenerateKey")))
    cloud.engine.refresh_auth(ws_id, name)
    return op_id
