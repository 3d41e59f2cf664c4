"""REST routes for webservices (docs/rest-services.md)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ...deploy import tokens
from ...errors import BadRequest
from ...http import WORKSPACE_PREFIX, cloud, validated, workspace_body
from . import actions, service
from .schema import PATCH, CreateQuery, LogsQuery, RegenerateKeys, ServiceCreate, ServiceListQuery

SERVICES = WORKSPACE_PREFIX + "/services"
blueprint = Blueprint("services", __name__)


def _accepted(body: dict, ws_id: str, op_id: str, status: int = 202):
    response = jsonify(body)
    response.status_code = status
    response.headers["Operation-Location"] = f"{ws_id}/operations/{op_id}"
    return response


@blueprint.post(SERVICES)
@validated(body=ServiceCreate, query=CreateQuery)
def create_service(sub: str, rg: str, ws: str, payload: dict, query: CreateQuery):
    ws_body = workspace_body(sub, rg, ws)
    body, op_id = actions.create(cloud(), ws_body, payload, query.overwrite)
    return _accepted(body, ws_body["id"], op_id)


@blueprint.get(SERVICES)
@validated(query=ServiceListQuery)
def list_services(sub: str, rg: str, ws: str, query: ServiceListQuery):
    ws_body = workspace_body(sub, rg, ws)
    c = cloud()
    actions.bring_up_to_date(c, ws_body["id"])
    return jsonify({"value": service.list_all(c.store.read(), ws_body["id"], query.computeType, query.modelName,
                                               query.modelId, query.tags, query.properties)})


@blueprint.get(SERVICES + "/<name>")
@validated()
def get_service(sub: str, rg: str, ws: str, name: str):
    c = cloud()
    ws_body = workspace_body(sub, rg, ws)
    actions.bring_up_to_date(c, ws_body["id"], name)
    return jsonify(service.get(c.store.read(), ws_body["id"], name))  # 404 also if a delete just ended


@blueprint.delete(SERVICES + "/<name>")
@validated()
def delete_service(sub: str, rg: str, ws: str, name: str):
    ws_body = workspace_body(sub, rg, ws)
    op_id = actions.delete(cloud(), ws_body["id"], name)
    if op_id is None:
        return "", 204
    return _accepted({}, ws_body["id"], op_id)


@blueprint.patch(SERVICES + "/<name>")
@validated(patch=PATCH)
def patch_service(sub: str, rg: str, ws: str, name: str, payload: list):
    ws_body = workspace_body(sub, rg, ws)
    body, op_id = actions.update(cloud(), ws_body["id"], name, payload)
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
    ws_body = workspace_body(sub, rg, ws)
    op_id = actions.regenerate_key(cloud(), ws_body["id"], name, payload["keyType"], payload.get("keyValue"))
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
