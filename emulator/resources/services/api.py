"""REST routes for webservices (docs/rest-services.md)."""
from __future__ import annotations

import json

from flask import Blueprint, jsonify

from ...arm.deployments import CORE_SEPARATOR as V2_CORE_SEPARATOR
from ...deploy import tokens
from ...errors import BadRequest
from ...http import WORKSPACE_PREFIX, cloud, validated, workspace_body
from . import actions, endpoint_actions, endpoints, service
from .schema import ENDPOINT, PATCH, CreateQuery, LogsQuery, RegenerateKeys, ServiceListQuery, ServiceRequest

SERVICES = WORKSPACE_PREFIX + "/services"
blueprint = Blueprint("services", __name__)


def _accepted(body: dict, ws_id: str, op_id: str, status: int = 202):
    response = jsonify(body)
    response.status_code = status
    response.headers["Operation-Location"] = f"{ws_id}/operations/{op_id}"
    return response


@blueprint.post(SERVICES)
@validated(body=ServiceRequest, query=CreateQuery)
def create_service(sub: str, rg: str, ws: str, payload: dict, query: CreateQuery):
    ws_body = workspace_body(sub, rg, ws)
    if payload.get("computeType") == ENDPOINT:
        body, op_id = endpoint_actions.create(cloud(), ws_body, payload)
    else:
        body, op_id = actions.create(cloud(), ws_body, payload, query.overwrite)
    return _accepted(body, ws_body["id"], op_id)


@blueprint.get(SERVICES)
@validated(query=ServiceListQuery)
def list_services(sub: str, rg: str, ws: str, query: ServiceListQuery):
    ws_body = workspace_body(sub, rg, ws)
    c = cloud()
    actions.bring_up_to_date(c, ws_body["id"])
    conn = c.store.read()
    return jsonify({"value": endpoints.listed(conn, ws_body["id"], service.list_all(
        conn, ws_body["id"], query.computeType, query.modelName, query.modelId, query.tags, query.properties))})


@blueprint.get(SERVICES + "/<name>")
@validated()
def get_service(sub: str, rg: str, ws: str, name: str):
    c = cloud()
    ws_body = workspace_body(sub, rg, ws)
    _refuse_version(name)
    actions.bring_up_to_date(c, ws_body["id"], name)
    conn = c.store.read()
    body = service.get(conn, ws_body["id"], name)  # 404 also if a delete just ended
    return jsonify(endpoints.present(conn, ws_body["id"], body) if endpoints.is_endpoint(body) else body)


@blueprint.delete(SERVICES + "/<name>")
@validated()
def delete_service(sub: str, rg: str, ws: str, name: str):
    ws_body = workspace_body(sub, rg, ws)
    _refuse_version(name)
    op_id = actions.delete(cloud(), ws_body["id"], name)
    if op_id is None:
        return "", 204
    return _accepted({}, ws_body["id"], op_id)


@blueprint.patch(SERVICES + "/<name>")
@validated(patch=PATCH)
def patch_service(sub: str, rg: str, ws: str, name: str, payload: list):
    ws_body = workspace_body(sub, rg, ws)
    _refuse_version(name)
    if _is_endpoint(ws_body["id"], name):
        body, op_id = endpoint_actions.update(cloud(), ws_body, name, payload)
    else:
        body, op_id = actions.update(cloud(), ws_body["id"], name, payload)
    return _accepted(body, ws_body["id"], op_id)


@blueprint.post(SERVICES + "/<name>/listkeys")
@validated()
def list_keys(sub: str, rg: str, ws: str, name: str):
    ws_body = workspace_body(sub, rg, ws)
    _refuse_version(name)
    values = service.secrets_of(cloud().store.read(), ws_body["id"], name)
    return jsonify({"primaryKey": values["primaryKey"], "secondaryKey": values["secondaryKey"]})


@blueprint.post(SERVICES + "/<name>/regenerateKeys")
@validated(body=RegenerateKeys)
def regenerate_keys(sub: str, rg: str, ws: str, name: str, payload: dict):
    ws_body = workspace_body(sub, rg, ws)
    _refuse_version(name)
    op_id = actions.regenerate_key(cloud(), ws_body["id"], name, payload["keyType"], payload.get("keyValue"))
    return _accepted({}, ws_body["id"], op_id)


@blueprint.post(SERVICES + "/<name>/token")
@validated()
def get_token(sub: str, rg: str, ws: str, name: str):
    ws_body = workspace_body(sub, rg, ws)
    _refuse_version(name)
    conn = cloud().store.read()
    body = service.get(conn, ws_body["id"], name)
    if not body.get("aadAuthEnabled"):
        raise BadRequest(f"Token authentication is not enabled for service {name}.", code="TokenAuthDisabled")
    return jsonify(tokens.issue(service.secrets_of(conn, ws_body["id"], name)["tokenSecret"], name))


@blueprint.get(SERVICES + "/<name>/logs")
@validated(query=LogsQuery)
def get_logs(sub: str, rg: str, ws: str, name: str, query: LogsQuery):
    ws_body = workspace_body(sub, rg, ws)
    _refuse_version(name)
    conn = cloud().store.read()
    service.get(conn, ws_body["id"], name)  # 404 for unknown services
    if _is_endpoint(ws_body["id"], name):  # each version's logs under its name
        return jsonify({"content": "\n".join(
            f"--- version {endpoints.version_name(v)} ---\n" + cloud().engine.logs(ws_body["id"], v["name"], query.tail)
            for v in endpoints.versions(conn, ws_body["id"], name))})
    return jsonify({"content": cloud().engine.logs(ws_body["id"], name, query.tail)})


def _refuse_version(name: str) -> None:
    """An endpoint's version is reached through its endpoint, never as a service of its own; nor is an SDK v2
    deployment's core record ({endpoint}~{deployment}: its ARM routes own it)."""
    if endpoints.is_hidden(name) or V2_CORE_SEPARATOR in name:
        raise service.not_found(name)


def _is_endpoint(ws_id: str, name: str) -> bool:
    found = service.row(cloud().store.read(), ws_id, name)
    return found is not None and endpoints.is_endpoint(json.loads(found["body"]))
