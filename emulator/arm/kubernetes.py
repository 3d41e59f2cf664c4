"""SDK v2 Kubernetes computes (no Flask here): a cluster the local cloud knows, attached to a workspace with its
instance types, and what a Kubernetes online deployment asks of it.

The cluster is named by its ARM resource id: an AKS compute made with v1's ``AksCompute`` (its
``cluster_resource_id``; one of another workspace is attached as Azure attaches one cluster to several
workspaces), or a managed cluster made outside any workspace (azure-mgmt-containerservice, ``fake-azure aks
create``). A Kubernetes deployment's replicas are placed on that cluster's node pool by the same scheduler as v1
services, beside them and beside the pods of every other workspace attaching the cluster, and served by its
gateway; its requests come from the instance type (the compute's, ``defaultinstancetype`` when none is named) and
the deployment's own ``resources``. A compute whose cluster is gone (deleted) reports Failed and takes no new
deployment."""
from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import Any

from ..error_catalog import (
    compute_not_found_v2,
    compute_not_kubernetes,
    kubernetes_cluster_gone,
    kubernetes_cluster_not_found,
    kubernetes_instance_type_not_found,
)
from ..errors import BadRequest, NotFound
from ..resources.admin import clusters
from .assets import PROVIDER
from .deployment_records import Sizing

COMPUTE_TYPE = f"{PROVIDER}/workspaces/computes"
DEFAULT_INSTANCE_TYPE = "defaultinstancetype"
# What Azure ML creates on attach when the compute defines no instance type (its "Create and manage
# instance types" article): 0.1 core and 2 GiB requested, 2 cores and 2 GiB at most, no GPU.
DEFAULT_INSTANCE_TYPES: dict[str, Any] = {DEFAULT_INSTANCE_TYPE: {"resources": {
    "requests": {"cpu": "100m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "2Gi", "nvidia.com/gpu": None}}}}
_QUANTITY = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>m|k|Ki|M|Mi|G|Gi|T|Ti)?$")
_BYTES = {None: 1, "k": 1e3, "Ki": 1024, "M": 1e6, "Mi": 1024 ** 2, "G": 1e9, "Gi": 1024 ** 3, "T": 1e12,
          "Ti": 1024 ** 4}


def cores(quantity: str) -> float:
    """A Kubernetes CPU quantity in cores ("100m" -> 0.1)."""
    found = _QUANTITY.match(quantity)
    if found is None or found["unit"] not in (None, "m"):
        raise BadRequest(f"Invalid CPU quantity {quantity!r}: use cores ('2', '0.5') or millicores ('100m').",
                         code="BadArgument")
    return float(found["number"]) / (1000 if found["unit"] == "m" else 1)


def gigabytes(quantity: str) -> float:
    """A Kubernetes memory quantity in GB as the VM catalog counts them (GiB: "2Gi" -> 2.0)."""
    found = _QUANTITY.match(quantity)
    if found is None or found["unit"] == "m":
        raise BadRequest(f"Invalid memory quantity {quantity!r}: use bytes with a unit ('2Gi', '512Mi').",
                         code="BadArgument")
    return float(found["number"]) * _BYTES[found["unit"]] / 1024 ** 3


def _with_default(types: dict[str, Any]) -> dict[str, Any]:
    """The compute's instance types by lowercased name, with Azure's defaultinstancetype where not redefined."""
    return {**{k.lower(): v for k, v in DEFAULT_INSTANCE_TYPES.items()}, **{k.lower(): v for k, v in types.items()}}


def _check_requests_within_limits(what: str, resources: dict[str, Any]) -> None:
    """Kubernetes refuses a container whose request exceeds its limit (and Azure ML a deployment asking so)."""
    requests = resources.get("requests") or {}
    limits = resources.get("limits") or {}
    for key, measure in (("cpu", cores), ("memory", gigabytes)):
        if requests.get(key) and limits.get(key) and measure(requests[key]) > measure(limits[key]) + 1e-9:
            raise BadRequest(f"{what}: the {key} request {requests[key]} is more than its limit {limits[key]}. "
                             "Requests for resources must be less than or equal to limits.", code="BadArgument")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


def _cluster_of(conn: sqlite3.Connection, ws_body: dict[str, Any], resource_id: str) -> str:
    """The AKS compute of the workspace whose cluster ``resource_id`` names (ARM ids match in any case): its own
    v1 compute, the hidden one of an earlier attach, or a hidden one made now for a managed cluster or another
    workspace's v1 compute."""
    for row in conn.execute("SELECT name, body FROM computes WHERE workspace_id = ?", (ws_body["id"],)):
        props = json.loads(row["body"]).get("properties") or {}
        if props.get("computeType") == "AKS" and (props.get("resourceId") or "").lower() == resource_id.lower():
            return str(row["name"])
    hidden = clusters.attach_to(conn, ws_body, resource_id)
    if hidden is not None:
        return hidden
    raise BadRequest.of(kubernetes_cluster_not_found(resource_id, ws_body["name"]))


def attach(conn: sqlite3.Connection, ws_body: dict[str, Any], name: str,
           payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Attach (or update) a Kubernetes compute: (its body, created)."""
    props = payload["properties"]
    cluster = _cluster_of(conn, ws_body, props["resourceId"])
    k8s = {k: v for k, v in (props.get("properties") or {}).items() if v is not None}
    types = k8s.get("instanceTypes") or DEFAULT_INSTANCE_TYPES
    # Azure makes defaultinstancetype on attach whatever else is defined (unless it is defined under that name),
    # and a deployment that names no instance type gets it.
    default = k8s.get("defaultInstanceType") or DEFAULT_INSTANCE_TYPE
    if default.lower() not in _with_default(types):
        raise BadRequest.of(kubernetes_instance_type_not_found(default, name, list(_with_default(types))))
    for type_name, spec in types.items():
        _check_requests_within_limits(f"Instance type {type_name}", spec.get("resources") or {})
    old = conn.execute("SELECT body, created_at FROM kubernetes_computes WHERE workspace_id = ? AND name = ?",
                       (ws_body["id"], name)).fetchone()
    created_on = json.loads(old["body"])["properties"]["createdOn"] if old else _now()
    body = {"id": f"{ws_body['id']}/computes/{name}", "name": name, "type": COMPUTE_TYPE,
            "location": payload.get("location") or ws_body["location"], "tags": payload.get("tags") or {},
            "identity": payload.get("identity"),
            "properties": {"computeType": "Kubernetes", "computeLocation": props.get("computeLocation")
                           or ws_body["location"], "description": props.get("description"),
                           "resourceId": props["resourceId"], "provisioningState": "Succeeded",
                           "provisioningErrors": None, "isAttachedCompute": True, "createdOn": created_on,
                           "modifiedOn": _now(), "disableLocalAuth": False,
                           "properties": {**k8s, "namespace": k8s.get("namespace") or "default",
                                          "defaultInstanceType": default, "instanceTypes": types}},
            # Ours (the client ignores it): the v1 AKS compute whose node pool and gateway it uses.
            "fakeAzure": {"cluster": cluster}}
    conn.execute("INSERT OR REPLACE INTO kubernetes_computes (workspace_id, name, body, created_at) VALUES "
                 "(?, ?, ?, ?)", (ws_body["id"], name, json.dumps(body), old["created_at"] if old else time.time()))
    return body, old is None


def _as_now(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The compute as it stands: Failed once the AKS compute holding its cluster's nodes is gone (the managed
    cluster, or the v1 compute, was deleted), as Azure's compute fails when its AKS cluster is deleted."""
    if conn.execute("SELECT 1 FROM computes WHERE workspace_id = ? AND name = ?",
                    (ws_id, body["fakeAzure"]["cluster"])).fetchone() is None:
        gone = kubernetes_cluster_gone(body["properties"]["resourceId"], body["name"]).payload()
        body["properties"].update(provisioningState="Failed", provisioningErrors=[{"error": gone}])
    return body


def get(conn: sqlite3.Connection, ws_body: dict[str, Any], name: str) -> dict[str, Any]:
    row = conn.execute("SELECT body FROM kubernetes_computes WHERE workspace_id = ? AND name = ?",
                       (ws_body["id"], name)).fetchone()
    if row is None:
        raise NotFound.of(compute_not_found_v2(name, ws_body["name"]))
    return _as_now(conn, ws_body["id"], dict(json.loads(row["body"])))


def list_all(conn: sqlite3.Connection, ws_body: dict[str, Any]) -> list[dict[str, Any]]:
    return [_as_now(conn, ws_body["id"], json.loads(r["body"])) for r in conn.execute(
        "SELECT body FROM kubernetes_computes WHERE workspace_id = ? ORDER BY created_at", (ws_body["id"],))]


def detach(conn: sqlite3.Connection, ws_body: dict[str, Any], name: str) -> None:
    get(conn, ws_body, name)  # 404 for an unknown compute
    conn.execute("DELETE FROM kubernetes_computes WHERE workspace_id = ? AND name = ?", (ws_body["id"], name))


def of_endpoint(conn: sqlite3.Connection, ws_body: dict[str, Any], compute_id: str) -> dict[str, Any]:
    """The attached compute a Kubernetes endpoint's ``compute`` names (an ARM id of this workspace); 400 else."""
    prefix = f"{ws_body['id']}/computes/".lower()
    if not compute_id.lower().startswith(prefix):
        raise BadRequest.of(compute_not_kubernetes(compute_id))
    try:
        return get(conn, ws_body, compute_id[len(prefix):])
    except NotFound:
        raise BadRequest.of(compute_not_kubernetes(compute_id)) from None


def pod_sizing(compute: dict[str, Any], instance_type: str | None, overrides: dict[str, Any] | None) -> Sizing:
    """Each pod of a deployment on the attached ``compute``: its instance type's requests and limits (the
    compute's default when none is named), the deployment's ``resources`` (``containerResourceRequests``/
    ``Limits``: cpu, memory, gpu) over them, on the v1 AKS compute that holds the cluster's nodes."""
    if compute["properties"]["provisioningState"] == "Failed":
        errors = compute["properties"].get("provisioningErrors") or [{"error": {"message": "it failed."}}]
        raise BadRequest(f"Compute {compute['name']} cannot take deployments: {errors[0]['error']['message']}",
                         code="BadArgument")
    k8s = compute["properties"]["properties"]
    name = instance_type or k8s["defaultInstanceType"]
    types = _with_default(k8s["instanceTypes"])
    if name.lower() not in types:
        raise BadRequest.of(kubernetes_instance_type_not_found(name, compute["name"], list(types)))
    resources = types[name.lower()].get("resources") or {}
    requests = {k: v for k, v in (resources.get("requests") or {}).items() if v is not None}
    limits = {k: v for k, v in (resources.get("limits") or {}).items() if v is not None}
    own = overrides or {}
    for wire, target in (("containerResourceRequests", requests), ("containerResourceLimits", limits)):
        for key, value in (own.get(wire) or {}).items():
            if value is not None:
                target["nvidia.com/gpu" if key == "gpu" else key] = value
    _check_requests_within_limits(f"Deployment on instance type {name}", {"requests": requests, "limits": limits})
    # Kubernetes: a limit without a request requests the limit; GPUs are requested as limited.
    cpu = cores(requests.get("cpu") or limits.get("cpu") or "100m")
    memory = gigabytes(requests.get("memory") or limits.get("memory") or "2Gi")
    gpus = int(float(limits.get("nvidia.com/gpu") or requests.get("nvidia.com/gpu") or 0))
    return Sizing("AKS", compute["fakeAzure"]["cluster"], name, cpu, memory, gpus,
                  cores(limits["cpu"]) if "cpu" in limits else cpu,
                  gigabytes(limits["memory"]) if "memory" in limits else memory)
