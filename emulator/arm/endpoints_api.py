"""ARM routes of SDK v2 online endpoints: create/update (201 + ``Azure-AsyncOperation``), get, list, delete
(202 + ``Location``), keys, key regeneration, aml tokens, and the operation URLs the client polls.

The state and Azure's rules live in emulator/arm/endpoints.py; this module only speaks HTTP."""
from __future__ import annotations

import re
import time

from flask import Blueprint, jsonify, request

from ..error_catalog import arm_operation_failed
from ..http import cloud, validated
from . import deployments, endpoints, kubernetes
from .api import PREFIX, workspace
from .endpoint_schema import EmptyBody, EndpointName, OnlineEndpointPut, RegenerateKeysBody

ENDPOINTS = PREFIX + "/onlineEndpoints"
OPERATIONS = "/subscriptions/<sub>/providers/Microsoft.MachineLearningServices/locations/<location>"
NAMED = {"name": EndpointName}
OPERATION_PATH = {"op_id": endpoints.OperationId}
# How soon the client polls again. Azure sends Retry-After in whole seconds; the client's own default is 5 to
# 30 s. The local cloud's operations finish at once or within a rollout, so it asks for a short interval
# (azure-core honours the milliseconds header when Retry-After is absent).
POLL_AFTER_MS = "20"
DEFAULT_API_VERSION = "2023-04-01-preview"
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
blueprint = Blueprint("arm_endpoints", __name__)


def _origin() -> str:
    return f"https://{request.host}"


def _operation_url(sub: str, location: str, op_id: str, kind: str) -> str:
    region = location.replace(" ", "").lower()  # ARM's short form: "East US" -> eastus
    # The request's api-version is repeated only in ARM's spelling: the URL goes into a header.
    asked = request.args.get("api-version", "")
    version = asked if _API_VERSION.fullmatch(asked) else DEFAULT_API_VERSION
    return (f"{_origin()}/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{region}"
            f"/{kind}/{op_id}?api-version={version}")


def async_headers(sub: str, location: str, op_id: str) -> dict[str, str]:
    """The headers of an accepted create/update: the client polls ``Azure-AsyncOperation``, then GETs the resource."""
    return {"Azure-AsyncOperation": _operation_url(sub, location, op_id, "mfeOperationsStatus"),
            "x-ms-retry-after-ms": POLL_AFTER_MS}


def location_headers(sub: str, location: str, op_id: str) -> dict[str, str]:
    """The headers of an accepted delete: the client polls ``Location`` until it stops answering 202."""
    return {"Location": _operation_url(sub, location, op_id, "mfeOperationResults"),
            "x-ms-retry-after-ms": POLL_AFTER_MS}


@blueprint.get(ENDPOINTS)
@validated()
def list_endpoints(sub: str, rg: str, ws: str):
    ws_id = workspace(sub, rg, ws)["id"]
    return jsonify({"value": endpoints.list_all(cloud().store.read(), ws_id)})


@blueprint.get(ENDPOINTS + "/<name>")
@validated(path=NAMED)
def get_endpoint(sub: str, rg: str, ws: str, name: str):
    ws_id = workspace(sub, rg, ws)["id"]
    return jsonify(endpoints.get(cloud().store.read(), ws_id, name))


@blueprint.put(ENDPOINTS + "/<name>")
@validated(path=NAMED, body=OnlineEndpointPut)
def put_endpoint(sub: str, rg: str, ws: str, name: str, payload: dict):
    ws_body = workspace(sub, rg, ws)
    ws_id = ws_body["id"]
    with cloud().store.transaction() as conn:
        compute = payload["properties"].get("compute")
        if compute:  # a Kubernetes endpoint: its compute must be an attached Kubernetes compute of the workspace
            kubernetes.of_endpoint(conn, ws_body, compute)
        body, created = endpoints.put(conn, ws_id, name, payload, _origin(), time.time())
        op_id = endpoints.start_operation(conn, ws_id)
    return jsonify(body), 201 if created else 200, async_headers(sub, body["location"], op_id)


@blueprint.delete(ENDPOINTS + "/<name>")
@validated(path=NAMED)
def delete_endpoint(sub: str, rg: str, ws: str, name: str):
    ws_body = workspace(sub, rg, ws)
    c = cloud()
    with c.store.transaction() as conn:
        endpoints.get(conn, ws_body["id"], name)  # 404 for an unknown endpoint
        deletes = deployments.delete_all(c, conn, ws_body["id"], name)
        endpoints.delete(conn, ws_body["id"], name)
        op_id = (endpoints.delegate_operations(conn, ws_body["id"], [core_op for _, core_op in deletes]) if deletes
                 else endpoints.start_operation(conn, ws_body["id"]))
    deployments.hand_over(c, ws_body["id"], deletes)
    return "", 202, location_headers(sub, ws_body["location"], op_id)


@blueprint.post(ENDPOINTS + "/<name>/listKeys")
@validated(path=NAMED, body=EmptyBody, body_optional=True)
def list_keys(sub: str, rg: str, ws: str, name: str, payload: dict):
    ws_id = workspace(sub, rg, ws)["id"]
    return jsonify(endpoints.keys(cloud().store.read(), ws_id, name))


@blueprint.post(ENDPOINTS + "/<name>/regenerateKeys")
@validated(path=NAMED, body=RegenerateKeysBody)
def regenerate_keys(sub: str, rg: str, ws: str, name: str, payload: dict):
    ws_body = workspace(sub, rg, ws)
    with cloud().store.transaction() as conn:
        endpoints.regenerate_key(conn, ws_body["id"], name, payload["keyType"])
        op_id = endpoints.start_operation(conn, ws_body["id"])
    deployments.sync_keys(cloud(), ws_body["id"], name)
    return "", 202, location_headers(sub, ws_body["location"], op_id)


@blueprint.post(ENDPOINTS + "/<name>/token")
@validated(path=NAMED, body=EmptyBody, body_optional=True)
def get_token(sub: str, rg: str, ws: str, name: str, payload: dict):
    ws_id = workspace(sub, rg, ws)["id"]
    return jsonify(endpoints.token(cloud().store.read(), ws_id, name))


def _operation(op_id: str) -> dict:
    c = cloud()

    def core_poll(workspace_id: str, core_op: str) -> dict:
        polled = c.operations.poll(workspace_id, core_op)
        if not polled.get("error"):
            return polled
        return {**polled, "error": deployments.v2_error(polled["error"], deployments.on_kubernetes(
            c.store.read(), workspace_id, polled.get("target") or ""))}

    return endpoints.operation(c.store.read(), op_id, core_poll)


@blueprint.get(OPERATIONS + "/mfeOperationsStatus/<op_id>")
@validated(path=OPERATION_PATH)
def operation_status(sub: str, location: str, op_id: str):
    # The client takes its next poll's delay from this answer too (else its own 5 s).
    return jsonify(_operation(op_id)), 200, {"x-ms-retry-after-ms": POLL_AFTER_MS}


@blueprint.get(OPERATIONS + "/mfeOperationResults/<op_id>")
@validated(path=OPERATION_PATH)
def operation_result(sub: str, location: str, op_id: str):
    status = _operation(op_id)
    if status["status"] == "InProgress":
        return "", 202, {"x-ms-retry-after-ms": POLL_AFTER_MS}
    if status["status"] != "Succeeded":
        # A Location poller (the client's delete) takes any 2xx as done: a failed operation answers its error.
        error = status.get("error") or arm_operation_failed(op_id).payload()
        return jsonify({"error": error}), 500 if error.get("code") == "InternalError" else 400
    return "", 200
