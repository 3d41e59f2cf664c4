"""REST routes for webservices (docs/rest-services.md)."""
from __future__ import annotations

import json
import secrets
import sqlite3

from flask import Blueprint, jsonify

from ... import error_catalog
from ...deploy import tokens
from ...errors import BadRequest, Conflict
from ...http import WORKSPACE_PREFIX, cloud, validated, workspace_body
from ...scheduler import Unschedulable
from ..models import service as models
from . import service
from .schema import PATCH, CreateQuery, LogsQuery, RegenerateKeys, ServiceCreate, ServiceListQuery
from .state import ServiceState

SERVICES = WORKSPACE_PREFIX + "/services"
blueprint = Blueprint("services", __name__)


def _accepted(body: dict, ws_id: str, op_id: str, status: int = 202):
    response = jsonify(body)
    response.status_code = status
    response.headers["Operation-Location"] = f"{ws_id}/operations/{op_id}"
    return response


def _extra(operation_type: str, sub_operation: str = "DeployService") -> dict:
    return {"operationType": operation_type, "operationDetails": {"subOperationType": sub_operation}}


@blueprint.post(SERVICES)
@validated(body=ServiceCreate, query=CreateQuery)
def create_service(sub: str, rg: str, ws: str, payload: dict, query: CreateQuery):
    c = cloud()
    ws_body = workspace_body(sub, rg, ws)
    name = payload["name"]
    overwrite = query.overwrite
    request_body = payload["environmentImageRequest"]  # with driverProgram and assets: checked at the door
    with c.store.transaction() as conn:
        existing = service.row(conn, ws_body["id"], name)
        if existing is not None and overwrite and json.loads(existing["body"])["computeType"] != service.LOCAL:
            _refuse_while_busy(conn, ws_body["id"], name)
            existing = service.row(conn, ws_body["id"], name)
        if existing is not None and not overwrite:
            raise Conflict.of(error_catalog.service_exists(name, ws_body["name"]))
        model_dtos = [models.get(conn, ws_body["id"], model_id) for model_id in request_body.get("modelIds") or []]
        body = service.build_body(conn, ws_body, payload, model_dtos)
        if existing is not None:
            service.delete_row(conn, ws_body["id"], name)  # overwrite: the engine replaces its replicas
        try:  # planning reads the other services' rows only, so the new row goes in once, planned
            body["fakeAzure"]["replicas"] = service.plan_replicas(conn, ws_body["id"], body,
                                                                  service.desired_replicas(body))
            outcome = {"pending": True}
        except Unschedulable as exc:  # Azure finds this after 5 minutes; we know it now
            outcome = {"status": "Failed", "error": service.unschedulable_error(exc)}
        outcome.update(runningStatus="Running", extra=_extra("Create"))
        service.insert(conn, ws_body["id"], body, payload)
        _supersede(conn, ws_body["id"], name, "deployed again")  # a local one's redeploy, a leftover after a delete
        op_id = c.operations.start(conn, ws_body["id"], "service.create", name, outcome)
    if outcome.get("pending"):
        c.engine.deploy(ws_body["id"], name, op_id)
    return _accepted(body, ws_body["id"], op_id)


def _bring_up_to_date(ws_id: str, name: str | None = None) -> None:
    """Reading a service (``name``; None: every one) counts as a poll of its unfinished operation: a
    deployment or delete nobody waits on still ends (Azure finishes it server-side), and a local
    service is looked at, not polled. Costs one read when nothing is unfinished."""
    c = cloud()
    running = c.operations.running_targets(c.store.read(), ws_id, "service.")
    if name is not None:
        running &= {name}
    if running:
        with c.store.transaction() as conn:
            for name in running:
                c.operations.advance_for_target(conn, ws_id, "service.", name)


def _supersede(conn: sqlite3.Connection, ws_id: str, name: str, by: str) -> None:
    """Cancel what still runs on ``name`` before ``by`` replaces it (its outcome would land on the new record)."""
    cloud().operations.cancel_running(conn, ws_id, "service.", name, f"Service {name} was {by} before this "
                                      "operation finished.")


def _refuse_while_busy(conn: sqlite3.Connection, ws_id: str, name: str) -> None:
    """409 while an earlier operation on the service has not ended: Azure runs one at a time."""
    operations = cloud().operations
    operations.advance_for_target(conn, ws_id, "service.", name)
    running = operations.running_for_target(conn, ws_id, "service.", name)
    if running:
        kind = running[0]["kind"].split(".", 1)[1]
        raise Conflict.of(error_catalog.operation_in_progress(name, kind, running[0]["id"]))


@blueprint.get(SERVICES)
@validated(query=ServiceListQuery)
def list_services(sub: str, rg: str, ws: str, query: ServiceListQuery):
    ws_body = workspace_body(sub, rg, ws)
    c = cloud()
    _bring_up_to_date(ws_body["id"])
    return jsonify({"value": service.list_all(c.store.read(), ws_body["id"], query.computeType, query.modelName,
                                               query.modelId, query.tags, query.properties)})


@blueprint.get(SERVICES + "/<name>")
@validated()
def get_service(sub: str, rg: str, ws: str, name: str):
    c = cloud()
    ws_body = workspace_body(sub, rg, ws)
    _bring_up_to_date(ws_body["id"], name)
    return jsonify(service.get(c.store.read(), ws_body["id"], name))  # 404 also if a delete just ended


@blueprint.delete(SERVICES + "/<name>")
@validated()
def delete_service(sub: str, rg: str, ws: str, name: str):
    c = cloud()
    ws_body = workspace_body(sub, rg, ws)
    with c.store.transaction() as conn:
        found = service.row(conn, ws_body["id"], name)
        if found is None:
            return "", 204
        if json.loads(found["body"])["computeType"] == service.LOCAL:
            _supersede(conn, ws_body["id"], name, "deleted")  # a local container is removed whatever it does
        else:
            _refuse_while_busy(conn, ws_body["id"], name)
            if service.row(conn, ws_body["id"], name) is None:
                return "", 204  # the check saw an earlier delete through
        op_id = c.operations.start(conn, ws_body["id"], "service.delete", name,
                                   {"pending": True, "runningStatus": "Running", "extra": _extra("Delete")})
    c.engine.delete(ws_body["id"], name, op_id)
    return _accepted({}, ws_body["id"], op_id)


@blueprint.patch(SERVICES + "/<name>")
@validated(patch=PATCH)
def patch_service(sub: str, rg: str, ws: str, name: str, payload: list):
    c = cloud()
    ws_body = workspace_body(sub, rg, ws)
    patch = payload
    with c.store.transaction() as conn:
        service.get(conn, ws_body["id"], name)  # 404 for an unknown service
        _refuse_while_busy(conn, ws_body["id"], name)
        body = service.get(conn, ws_body["id"], name)
        redeploy = service.apply_patch(body, patch)
        if redeploy:
            # A redeploy replaces every replica: none is kept, and planning ignores this service's
            # own stored replicas (allocations_on skips it), so nothing is saved before it.
            body["fakeAzure"]["replicas"] = []
            try:
                body["fakeAzure"]["replicas"] = service.plan_replicas(conn, ws_body["id"], body,
                                                                      service.desired_replicas(body))
                outcome = {"pending": True}
            except Unschedulable as exc:
                outcome = {"status": "Failed", "error": service.unschedulable_error(exc)}
            body["deploymentStatus"]["desiredReplicas"] = service.desired_replicas(body)
            service.save(conn, ws_body["id"], body, ServiceState.TRANSITIONING)
        else:
            outcome = {"status": "Succeeded"}
            service.save(conn, ws_body["id"], body)
        outcome.update(runningStatus="Running", extra=_extra("Update"))
        op_id = c.operations.start(conn, ws_body["id"], "service.update", name, outcome)
    if outcome.get("pending"):
        c.engine.deploy(ws_body["id"], name, op_id)
    else:
        c.engine.refresh_auth(ws_body["id"], name)
    return _accepted(body, ws_body["id"], op_id)


@blueprint.post(SERVICES + "/<name>/listkeys")
@validated()
def list_keys(sub: str, rg: str, ws: str, name: str):
    ws_body = workspace_body(sub, rg, ws)
    values = service.secrets_of(cloud().store.read(), ws_body["id"], name)
    return jsonify({"primaryKey": values["primaryKey"], "secondaryKey": values["secondaryKey"]})


@blueprint.post(SERVICES + "/<name>/regenerateKeys")
@validated(body=RegenerateKeys)
def regenerate_keys(sub: str, rg: str, ws: str, name: str, payload: dict):
    c = cloud()
    ws_body = workspace_body(sub, rg, ws)
    key_type = payload["keyType"]
    with c.store.transaction() as conn:
        values = service.secrets_of(conn, ws_body["id"], name)
        values[key_type.lower() + "Key"] = payload.get("keyValue") or secrets.token_urlsafe(24)
        service.save_secrets(conn, ws_body["id"], name, values)
        op_id = c.operations.start(conn, ws_body["id"], "service.regenerateKeys", name,
                                   {"status": "Succeeded", "runningStatus": "Running",
                                    "extra": _extra("RegenerateKey")})
    c.engine.refresh_auth(ws_body["id"], name)
    return _accepted({}, ws_body["id"], op_id)


@blueprint.post(SERVICES + "/<name>/token")
@validated()
def get_token(sub: str, rg: str, ws: str, name: str):
    ws_body = workspace_body(sub, rg, ws)
    conn = cloud().store.read()
    body = service.get(conn, ws_body["id"], name)
    if not body.get("aadAuthEnabled"):
        raise BadRequest(f"Token authentication is not enabled for service {name}.", code="TokenAuthDisabled")
    return jsonify(tokens.issue(service.secrets_of(conn, ws_body["id"], name)["tokenSecret"], name))


@blueprint.get(SERVICES + "/<name>/logs")
@validated(query=LogsQuery)
def get_logs(sub: str, rg: str, ws: str, name: str, query: LogsQuery):
    ws_body = workspace_body(sub, rg, ws)
    service.get(cloud().store.read(), ws_body["id"], name)  # 404 for unknown services
    return jsonify({"content": cloud().engine.logs(ws_body["id"], name, query.tail)})
