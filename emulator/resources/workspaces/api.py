"""REST routes for workspaces (ARM shape)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ...http import cloud, validated, workspace_body, workspace_scope
from . import service
from .schema import WorkspacePut

ROUTE = "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces"
blueprint = Blueprint("workspaces", __name__)


@blueprint.get(ROUTE)
@validated()
def list_workspaces(sub: str, rg: str):
    return jsonify({"value": service.list_all(cloud().store.read(), sub, rg)})


@blueprint.get("/providers/Microsoft.MachineLearningServices/workspaces")
@validated()
def list_all_workspaces():
    return jsonify({"value": service.list_all(cloud().store.read())})


@blueprint.get("/subscriptions/<sub>/providers/Microsoft.MachineLearningServices/workspaces")
@validated()
def list_subscription_workspaces(sub: str):
    return jsonify({"value": service.list_all(cloud().store.read(), sub)})


@blueprint.get(ROUTE + "/<ws>")
@validated()
def get_workspace(sub: str, rg: str, ws: str):
    return jsonify(workspace_body(sub, rg, ws))


@blueprint.put(ROUTE + "/<ws>")
@validated(body=WorkspacePut, body_optional=True)
def put_workspace(sub: str, rg: str, ws: str, payload: dict):
    location = payload.get("location") or cloud().settings.default_location
    with cloud().store.transaction() as conn:
        body, created = service.create_or_get(conn, sub, rg, ws, location, payload.get("sku", "basic"),
                                              payload.get("tags"))
    return jsonify(body), 201 if created else 200


@blueprint.delete(ROUTE + "/<ws>")
@validated()
def delete_workspace(sub: str, rg: str, ws: str):
    c = cloud()
    ws_id = workspace_scope(sub, rg, ws)
    c.engine.forget_workspace(ws_id)  # its replicas stop before its records go
    with c.store.transaction() as conn:
        service.delete(conn, ws_id)
    return "", 204
