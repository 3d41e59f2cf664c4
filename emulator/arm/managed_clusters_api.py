"""ARM routes of AKS managed clusters, as azure-mgmt-containerservice's ``ContainerServiceClient`` calls them:
create/update (201, or 200 for an update, + ``Azure-AsyncOperation``), get, list (subscription, resource group),
delete (202 + ``Azure-AsyncOperation`` and ``Location``; 204 when there is no such cluster), the agent pools, and
the operation URLs the client polls. The clusters are those of ``fake-azure aks``: the work is
emulator/resources/admin/clusters.py's; SDK v2's ``KubernetesCompute`` attaches them by id."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..errors import NotFound
from ..http import cloud, validated
from ..resources.admin import clusters
from . import endpoints
from .endpoints_api import _API_VERSION, DEFAULT_API_VERSION, POLL_AFTER_MS
from .managed_cluster_schema import ClusterName, ManagedClusterPut, PoolName

PROVIDER = "/providers/Microsoft.ContainerService"
CLUSTERS = "/subscriptions/<sub>/resourceGroups/<rg>" + PROVIDER + "/managedClusters"
OPERATIONS = "/subscriptions/<sub>" + PROVIDER + "/locations/<location>"
NAMED = {"name": ClusterName}
POOL = {"name": ClusterName, "pool": PoolName}
OPERATION_PATH = {"op_id": endpoints.OperationId}
blueprint = Blueprint("arm_managed_clusters", __name__)


def _public(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "fakeAzure"}


def _operation_url(sub: str, location: str, op_id: str, kind: str) -> str:
    asked = request.args.get("api-version", "")
    version = asked if _API_VERSION.fullmatch(asked) else DEFAULT_API_VERSION
    return f"https://{request.host}/subscriptions/{sub}{PROVIDER}/locations/{location}/{kind}/{op_id}" \
           f"?api-version={version}"


def _in_state(body: dict, state: str) -> dict:
    """The body as the PUT answers it: the cluster and its pools in ``state`` until the operation is polled."""
    answer = _public(body)
    props = answer["properties"]
    answer["properties"] = {**props, "provisioningState": state, "agentPoolProfiles": [
        {**pool, "provisioningState": state} for pool in props["agentPoolProfiles"]]}
    return answer


@blueprint.get("/subscriptions/<sub>" + PROVIDER + "/managedClusters")
@validated()
def list_clusters(sub: str):
    return jsonify({"value": [_public(b) for b in clusters.list_all(cloud().store.read(), sub)]})


@blueprint.get(CLUSTERS)
@validated()
def list_clusters_of_group(sub: str, rg: str):
    return jsonify({"value": [_public(b) for b in clusters.list_all(cloud().store.read(), sub, rg)]})


@blueprint.get(CLUSTERS + "/<name>")
@validated(path=NAMED)
def get_cluster(sub: str, rg: str, name: str):
    return jsonify(_public(clusters.get(cloud().store.read(), sub, rg, name)))


@blueprint.put(CLUSTERS + "/<name>")
@validated(path=NAMED, body=ManagedClusterPut)
def put_cluster(sub: str, rg: str, name: str, payload: dict):
    with cloud().store.transaction() as conn:
        body, created = clusters.put(conn, sub, rg, name, payload)
        op_id = endpoints.start_operation(conn, body["id"].lower())  # the cluster's id keys its operations
    headers = {"Azure-AsyncOperation": _operation_url(sub, body["location"], op_id, "operations"),
               "x-ms-retry-after-ms": POLL_AFTER_MS}
    return jsonify(_in_state(body, "Creating" if created else "Updating")), 201 if created else 200, headers


@blueprint.delete(CLUSTERS + "/<name>")
@validated(path=NAMED)
def delete_cluster(sub: str, rg: str, name: str):
    rid = clusters.resource_id(sub, rg, name)
    with cloud().store.transaction() as conn:
        try:
            location = clusters.get(conn, sub, rg, name)["location"]
        except NotFound:
            return "", 204  # ARM's answer to deleting what is not there
        placed = clusters.delete(conn, rid) or []
        op_id = endpoints.start_operation(conn, rid.lower())
    clusters.stop_pods(cloud().engine, placed)
    return "", 202, {"Azure-AsyncOperation": _operation_url(sub, location, op_id, "operations"),
                     "Location": _operation_url(sub, location, op_id, "operationresults"),
                     "x-ms-retry-after-ms": POLL_AFTER_MS}


@blueprint.get(CLUSTERS + "/<name>/agentPools")
@validated(path=NAMED)
def list_agent_pools(sub: str, rg: str, name: str):
    return jsonify({"value": clusters.agent_pools(clusters.get(cloud().store.read(), sub, rg, name))})


@blueprint.get(CLUSTERS + "/<name>/agentPools/<pool>")
@validated(path=POOL)
def get_agent_pool(sub: str, rg: str, name: str, pool: str):
    for found in clusters.agent_pools(clusters.get(cloud().store.read(), sub, rg, name)):
        if found["name"] == pool:
            return jsonify(found)
    raise clusters.not_found(rg, f"{name}/agentPools/{pool}")


def _no_core(workspace_id: str, op_id: str) -> dict:
    raise AssertionError("managed-cluster operations delegate to no core operation")


@blueprint.get(OPERATIONS + "/operations/<op_id>")
@validated(path=OPERATION_PATH)
def operation_status(sub: str, location: str, op_id: str):
    status = endpoints.operation(cloud().store.read(), op_id, _no_core)
    return jsonify(status), 200, {"x-ms-retry-after-ms": POLL_AFTER_MS}


@blueprint.get(OPERATIONS + "/operationresults/<op_id>")
@validated(path=OPERATION_PATH)
def operation_result(sub: str, location: str, op_id: str):
    status = endpoints.operation(cloud().store.read(), op_id, _no_core)
    if status["status"] == "InProgress":
        return "", 202, {"x-ms-retry-after-ms": POLL_AFTER_MS}
    return "", 204
