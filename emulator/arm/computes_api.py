"""ARM compute routes of the SDK v2 client: attach a Kubernetes cluster (``KubernetesCompute``; 201 +
``Azure-AsyncOperation``), get, list, detach (202 + ``Location``). The work is emulator/arm/kubernetes.py's.
v1's AKS computes keep their own routes on the control plane."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..http import cloud, validated
from . import endpoints, kubernetes
from .api import PREFIX, workspace
from .compute_schema import ComputeName, ComputePut
from .endpoints_api import async_headers, location_headers

COMPUTES = PREFIX + "/computes"
NAMED = {"name": ComputeName}
blueprint = Blueprint("arm_computes", __name__)


def _public(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "fakeAzure"}


@blueprint.get(COMPUTES)
@validated()
def list_computes(sub: str, rg: str, ws: str):
    ws_body = workspace(sub, rg, ws)
    return jsonify({"value": [_public(b) for b in kubernetes.list_all(cloud().store.read(), ws_body)]})


@blueprint.get(COMPUTES + "/<name>")
@validated(path=NAMED)
def get_compute(sub: str, rg: str, ws: str, name: str):
    return jsonify(_public(kubernetes.get(cloud().store.read(), workspace(sub, rg, ws), name)))


@blueprint.put(COMPUTES + "/<name>")
@validated(path=NAMED, body=ComputePut)
def put_compute(sub: str, rg: str, ws: str, name: str, payload: dict):
    ws_body = workspace(sub, rg, ws)
    with cloud().store.transaction() as conn:
        body, created = kubernetes.attach(conn, ws_body, name, payload)
        op_id = endpoints.start_operation(conn, ws_body["id"])
    answer = _public(body)
    answer["properties"] = {**answer["properties"], "provisioningState": "Creating" if created else "Updating"}
    return jsonify(answer), 201 if created else 200, async_headers(sub, ws_body["location"], op_id)


@blueprint.delete(COMPUTES + "/<name>")
@validated(path=NAMED)
def delete_compute(sub: str, rg: str, ws: str, name: str):
    """Detach (the cluster stays: it is the v1 AKS compute's); ``underlyingResourceAction`` is not needed."""
    ws_body = workspace(sub, rg, ws)
    with cloud().store.transaction() as conn:
        kubernetes.detach(conn, ws_body, name)
        op_id = endpoints.start_operation(conn, ws_body["id"])
    return "", 202, location_headers(sub, ws_body["location"], op_id)
