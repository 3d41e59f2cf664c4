"""REST routes for compute targets (ARM shape, with Azure-AsyncOperation headers)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ...http import WORKSPACE_PREFIX, cloud, validated
from ..admin import clusters
from ..workspaces import service as workspaces
from . import service
from .schema import ComputeDeleteQuery, ComputePut

blueprint = Blueprint("computes", __name__)


def _operation_url(sub: str, rg: str, ws: str, op_id: str) -> str:
    return f"{workspaces.workspace_id(sub, rg, ws)}/operations/{op_id}"


@blueprint.get(WORKSPACE_PREFIX + "/computes")
@validated()
def list_computes(sub: str, rg: str, ws: str):
    c = cloud()
    with c.store.transaction() as conn:
        ws_body = workspaces.get(conn, workspaces.workspace_id(sub, rg, ws))
        value = service.list_all(conn, c.operations, ws_body["id"])
    return jsonify({"value": value})


@blueprint.get(WORKSPACE_PREFIX + "/computes/<name>")
@validated()
def get_compute(sub: str, rg: str, ws: str, name: str):
    c = cloud()
    with c.store.transaction() as conn:  # a read can finish a pending operation
        ws_body = workspaces.get(conn, workspaces.workspace_id(sub, rg, ws))
        body = service.get(conn, c.operations, ws_body["id"], name)
    return jsonify(body)


@blueprint.put(WORKSPACE_PREFIX + "/computes/<name>")
@validated(body=ComputePut)
def put_compute(sub: str, rg: str, ws: str, name: str, payload: dict):
    c = cloud()
    with c.store.transaction() as conn:
        ws_body = workspaces.get(conn, workspaces.workspace_id(sub, rg, ws))
        body, op_id = service.create_or_update(conn, c.operations, ws_body, name, payload,
                                               lambda: c.faults.take("fail_provisioning", ws_body["id"]))
    response = jsonify(body)
    response.status_code = 201
    response.headers["Azure-AsyncOperation"] = _operation_url(sub, rg, ws, op_id)
    return response


@blueprint.delete(WORKSPACE_PREFIX + "/computes/<name>")
@validated(query=ComputeDeleteQuery)
def delete_compute(sub: str, rg: str, ws: str, name: str, query: ComputeDeleteQuery):
    c = cloud()
    action = query.underlyingResourceAction
    with c.store.transaction() as conn:
        ws_body = workspaces.get(conn, workspaces.workspace_id(sub, rg, ws))
        # Deleting the AKS cluster (not detaching it) takes its pods with it, every workspace's.
        placed = clusters.aks_compute_deleted(conn, ws_body["id"], name) if action == "delete" else []
        op_id = service.delete(conn, c.operations, ws_body["id"], name, action)
    clusters.stop_pods(c.engine, placed)
    response = jsonify({})
    response.status_code = 202
    response.headers["Azure-AsyncOperation"] = _operation_url(sub, rg, ws, op_id)
    return response


@blueprint.post(WORKSPACE_PREFIX + "/computes/<name>/listKeys")
@validated()
def list_keys(sub: str, rg: str, ws: str, name: str):
    c = cloud()
    with c.store.transaction() as conn:
        ws_body = workspaces.get(conn, workspaces.workspace_id(sub, rg, ws))
        keys = service.list_keys(conn, c.operations, ws_body["id"], name)
    return jsonify(keys)
