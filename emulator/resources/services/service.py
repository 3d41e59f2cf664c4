"""Webservices: their records, keys and the placement of their replicas (no Flask here).

A service row holds the MMS-shaped body the SDK reads and, apart, its secrets (keys). What runs
is the deploy engine's business (emulator/deploy/engine.py); this module decides what *should* run:
which replicas, on which nodes, with which GPUs, or Azure's error when they fit nowhere."""
from __future__ import annotations

import copy
import json
import secrets
import socket
import sqlite3
from datetime import datetime, timezone
from typing import Any, Callable

from ... import error_catalog, paths
from ...deploy import no_code
from ...deploy.records import ReplicaState
from ...errors import BadRequest, Conflict, NotFound
from ...scheduler import Allocation, Node, ReplicaRequest, Unschedulable, place
from ...validation import check_model
from ..computes import service as computes
from ..computes.state import ProvisioningState
from ..filters import kv_match
from .schema import ServiceCreate

# The SDK's text for a bad service name (the rule is checked at the door: services/schema.py).
INVALID_NAME = ("Error, provided service name is invalid. It must only consist of lowercase letters, numbers, or "
                "dashes, start with a letter, end with a letter or number, and be between 3 and 32 characters long.")
DEFAULT_CPU, DEFAULT_MEMORY_GB = 0.1, 0.5
DEFAULT_AUTOSCALE = {"autoscaleEnabled": True, "minReplicas": 1, "maxReplicas": 10, "refreshPeriodInSeconds": 1,
                     "targetUtilization": 70}
# ACI has no node pool in the emulator: one roomy virtual node without GPUs.
ACI_NODE = ("aci-virtual-node", 64, 256.0, 0)
# A local service (LocalWebservice) is one container on the user's machine: a virtual node without
# GPUs (the SDK passes no GPU device request to Docker).
LOCAL_NODE = ("local-virtual-node", 64, 256.0, 0)
LOCAL = "Local"


class WebserviceNotFound(NotFound):
    code = "WebserviceNotFound"


def not_found(name: str) -> WebserviceNotFound:
    return WebserviceNotFound(f"WebserviceNotFound: Webservice with name {name} not found in provided workspace")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def row(conn: sqlite3.Connection, ws_id: str, name: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM services WHERE workspace_id = ? AND name = ?", (ws_id, name)).fetchone()


def get(conn: sqlite3.Connection, ws_id: str, name: str) -> dict[str, Any]:
    found = row(conn, ws_id, name)
    if found is None:
        raise not_found(name)
    return json.loads(found["body"])


def secrets_of(conn: sqlite3.Connection, ws_id: str, name: str) -> dict[str, Any]:
    found = row(conn, ws_id, name)
    if found is None:
        raise not_found(name)
    return json.loads(found["secrets"])


def deployed_with(conn: sqlite3.Connection, ws_id: str, model_id: str) -> list[str]:
    """The services of the workspace that hold model ``model_id`` (local ones, not in Azure, excepted)."""
    return [body["name"] for body in list_all(conn, ws_id, model_id=model_id) if body["computeType"] != LOCAL]


def list_all(conn: sqlite3.Connection, ws_id: str, compute_type: str | None = None, model_name: str | None = None,
             model_id: str | None = None, tags: str | None = None, properties: str | None = None) -> list[dict]:
    bodies = [json.loads(r["body"]) for r in conn.execute(
        "SELECT body FROM services WHERE workspace_id = ? ORDER BY created_at", (ws_id,))]
    result = []
    for body in bodies:
        if (body.get("fakeAzure") or {}).get("frontEnd"):
            continue  # an SDK v2 deployment's core record (emulator/arm/deployments.py), not a webservice
        # Case-insensitive, as Azure's: the SDK sends the caller's spelling ("aks") as is.
        if compute_type and body["computeType"].lower() != compute_type.lower():
            continue
        model_ids = [m["id"] for m in body.get("models", [])]
        if model_id and model_id not in model_ids:
            continue
        if model_name and model_name not in [m["name"] for m in body.get("models", [])]:
            continue
        if not kv_match(body.get("kvTags") or {}, tags) or not kv_match(body.get("properties") or {}, properties):
            continue
        result.append(body)
    return result


def save_secrets(conn: sqlite3.Connection, ws_id: str, name: str, values: dict[str, Any]) -> None:
    conn.execute("UPDATE services SET secrets = ? WHERE workspace_id = ? AND name = ?",
                 (json.dumps(values), ws_id, name))


# --- planning ---------------------------------------------------------------------------------------

def replica_request(body: dict[str, Any]) -> ReplicaRequest:
    resources = body.get("containerResourceRequirements") or {}
    gpu = resources.get("gpu")
    wants_gpu = bool((body.get("environmentImageRequest") or {}).get("gpu"))
    # A GPU-enabled inference config asks for one GPU per replica when gpu_cores is unset (MMS does
    # the same for GPU images); an explicit gpu_cores, 0 included, is taken as given.
    gpus = int(gpu) if gpu is not None else (1 if wants_gpu else 0)
    if body.get("computeType") in (LOCAL, "ACI"):
        gpus = 0  # local containers get no GPU, and Azure ML does not give ACI containers GPUs
    return ReplicaRequest(cpu=float(resources.get("cpu") or DEFAULT_CPU),
                          memory_gb=float(resources.get("memoryInGB") or DEFAULT_MEMORY_GB), gpus=gpus)


def desired_replicas(body: dict[str, Any]) -> int:
    scaler = body.get("autoScaler") or {}
    if scaler.get("autoscaleEnabled"):
        return int(scaler.get("minReplicas") or 1)
    return int(body.get("numReplicas") or 1)


def nodes_of(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any]) -> list[Node]:
    if body["computeType"] in ("ACI", LOCAL):
        name, vcpus, memory, gpus = ACI_NODE if body["computeType"] == "ACI" else LOCAL_NODE
        return [Node(name, vcpus, memory, gpus)]
    compute = computes.row(conn, ws_id, body["computeName"])
    if compute is None:
        raise computes.not_found(body["computeName"])
    pool = json.loads(compute["body"]).get("fakeAzure", {}).get("nodes", [])
    return [Node.from_vm(n["name"], n["vcpus"], n["memoryGb"], n["gpus"]) for n in pool]


def _sharing_nodes(conn: sqlite3.Connection, ws_id: str, compute_name: str | None) -> list[tuple[str, str | None]]:
    """(workspace id, compute name) of every compute whose pods share the nodes of ``compute_name``: the AKS
    computes, of any workspace, that stand for the same cluster (its ARM resource id, in any case: one AKS cluster
    attached to several workspaces has one node pool); the compute alone when it names no cluster (ACI, local,
    a managed endpoint's front end)."""
    found = computes.row(conn, ws_id, compute_name) if compute_name else None
    cluster = ((json.loads(found["body"]).get("properties") or {}).get("resourceId") or "") if found else ""
    if not cluster:
        return [(ws_id, compute_name)]
    return [(r["workspace_id"], r["name"]) for r in conn.execute(
        "SELECT workspace_id, name FROM computes WHERE lower(json_extract(body, '$.properties.resourceId')) = ?",
        (cluster.lower(),))]


def allocations_on(conn: sqlite3.Connection, ws_id: str, compute_name: str | None, except_service: str) -> list:
    """What the replicas of other services hold on the nodes of ``compute_name`` (of every workspace sharing them);
    ``except_service`` (of ``ws_id``) is the one being placed."""
    held = []
    for owner, compute in _sharing_nodes(conn, ws_id, compute_name):
        for other in conn.execute("SELECT name, body FROM services WHERE workspace_id = ? AND compute_name IS ?",
                                  (owner, compute)):
            if (owner, other["name"]) == (ws_id, except_service):
                continue
            for replica in json.loads(other["body"]).get("fakeAzure", {}).get("replicas", []):
                held.append(Allocation(replica["node"], replica["cpu"], replica["memoryGb"],
                                       tuple(replica["gpuIds"])))
    return held


def plan_replicas(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any], count: int,
                  keep: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Placements for ``count`` new replicas beside ``keep`` (this service's replicas that stay)."""
    nodes = nodes_of(conn, ws_id, body)
    held = allocations_on(conn, ws_id, body.get("computeName"), body["name"])
    held += [Allocation(r["node"], r["cpu"], r["memoryGb"], tuple(r["gpuIds"])) for r in keep or []]
    request = replica_request(body)
    placements = place(nodes, held, request, count)
    index = {node.name: i for i, node in enumerate(nodes)}
    per_node = {node.name: node.gpus for node in nodes}
    return [{"id": secrets.token_hex(4), "node": p.node, "nodeIndex": index[p.node], "gpusPerNode": per_node[p.node],
             "gpuIds": list(p.gpu_ids), "cpu": request.cpu, "memoryGb": request.memory_gb,
             "state": ReplicaState.PENDING.value, "restarts": 0} for p in placements]


def unschedulable_error(exc: Unschedulable) -> dict[str, Any]:
    """Azure's payload for a deployment whose replicas fit nowhere (facts §6.1)."""
    return error_catalog.unschedulable(exc.message).payload()


def crash_loop_error(name: str) -> dict[str, Any]:
    return error_catalog.crash_loop_back_off(name).payload()


# --- request paths -----------------------------------------------------------------------------------

def check_image_request(request: dict[str, Any] | None) -> None:
    """400 unless every path the environment image request names stays inside its folder of the home.

    The asset id and the source directory are single names (the SDK sends an id and the source
    directory's basename); the driver program is a relative path inside the source directory (or the
    asset). The engine resolves them again with emulator/paths.py when it lays the replica out."""
    request = request or {}
    for asset in request.get("assets") or []:
        paths.segment(asset.get("id") if isinstance(asset, dict) else asset, "asset id", "BadArgument")
    if request.get("driverProgram") is not None:
        paths.relative_path(request["driverProgram"], "driverProgram", "BadArgument")
    if request.get("sourceDirectory") is not None:
        paths.segment(request["sourceDirectory"], "sourceDirectory", "BadArgument")


# --- create -----------------------------------------------------------------------------------------

def build_body(conn: sqlite3.Connection, ws: dict[str, Any], payload: dict[str, Any],
               models: list[dict[str, Any]]) -> dict[str, Any]:
    """The service record for a create payload (the SDK's _build_create_payload output)."""
    check_image_request(payload.get("environmentImageRequest"))
    no_code.check(payload.get("environmentImageRequest"), models)
    compute_type = payload.get("computeType")
    if compute_type not in ("AKS", "ACI", LOCAL):
        raise BadRequest(f"computeType {compute_type!r} is not supported by fake-azure (AKS, ACI, Local).",
                         code="UnsupportedComputeType")
    compute_name = payload.get("computeName") if compute_type == "AKS" else None
    if compute_type == "AKS":
        if not compute_name:
            raise BadRequest("An AKS deployment needs a computeName.", code="BadRequest")
        compute = computes.row(conn, ws["id"], compute_name)
        if compute is None:
            raise computes.not_found(compute_name)
        if compute["state"] != ProvisioningState.SUCCEEDED.value:
            raise Conflict(f"Compute target {compute_name} is in provisioning state {compute['state']}; a service "
                           "can be deployed only to a cluster whose provisioning Succeeded.", code="ComputeNotReady")
    scaler = payload.get("autoScaler")
    if compute_type == "AKS" and scaler is None:
        # The SDK sends autoScaler only when autoscale_enabled was given, yet every AKS service it
        # reads back must carry one (AutoScaler.deserialize fails on None): num_replicas turns it off.
        scaler = {"autoscaleEnabled": payload.get("numReplicas") is None}
    if scaler is not None:
        scaler = {**DEFAULT_AUTOSCALE, **{k: v for k, v in scaler.items() if v is not None}}
    resources = payload.get("containerResourceRequirements") or {}
    probe = payload.get("livenessProbeRequirements") or {}
    now = _now()
    body = {
        "name": payload["name"], "description": payload.get("description"),
        "kvTags": payload.get("kvTags") or {}, "properties": payload.get("properties") or {},
        "createdTime": now, "updatedTime": now, "error": None,  # its state: deploy/lifecycle.py's deploy_begun
        "computeType": compute_type, "computeName": compute_name, "scoringUri": None,
        # Key auth is on by default for AKS (unless token auth is asked for), off for ACI.
        "authEnabled": payload["authEnabled"] if payload.get("authEnabled") is not None
        else compute_type == "AKS" and not payload.get("aadAuthEnabled"),
        "aadAuthEnabled": bool(payload.get("aadAuthEnabled")),
        "appInsightsEnabled": bool(payload.get("appInsightsEnabled")),
        "numReplicas": payload.get("numReplicas"),
        "autoScaler": scaler,
        "containerResourceRequirements": {
            "cpu": resources.get("cpu") or DEFAULT_CPU, "cpuLimit": resources.get("cpuLimit"),
            "memoryInGB": resources.get("memoryInGB") or DEFAULT_MEMORY_GB,
            "memoryInGBLimit": resources.get("memoryInGBLimit"), "gpu": resources.get("gpu")},
        "maxConcurrentRequestsPerContainer": payload.get("maxConcurrentRequestsPerContainer") or 1,
        "maxQueueWaitMs": payload.get("maxQueueWaitMs") or 500,
        "scoringTimeoutMs": payload.get("scoringTimeoutMs") or 60000,
        "livenessProbeRequirements": {
            "periodSeconds": probe.get("periodSeconds") or 10, "initialDelaySeconds": probe.get("initialDelaySeconds")
            or 310, "timeoutSeconds": probe.get("timeoutSeconds") or 2,
            "successThreshold": probe.get("successThreshold") or 1,
            "failureThreshold": probe.get("failureThreshold") or 3},
        "dataCollection": payload.get("dataCollection") or {"eventHubEnabled": False, "storageEnabled": False},
        "models": models,
        "environmentImageRequest": payload.get("environmentImageRequest"),
        "deploymentStatus": {"desiredReplicas": 0, "updatedReplicas": 0, "availableReplicas": 0, "error": None},
        "imageDetails": {}, "imageId": None, "imageDigest": None,
        "createdBy": {"userName": "fake-azure"}, "namespace": payload.get("namespace") or "azureml-" + ws["name"],
        "isDefault": None, "trafficPercentile": None, "type": None, "versions": {},
        "location": ws["location"],
        "fakeAzure": {"replicas": []},
    }
    if compute_type == LOCAL:
        _make_local(body, payload)
    elif compute_type == "ACI":
        # The container group's own fields, which the SDK's AciWebservice reads.
        body.update(cname=payload.get("cname"), sslEnabled=bool(payload.get("sslEnabled")),
                    sslCertificate=None, sslKey=None, publicIp="127.0.0.1", publicFqdn="localhost",
                    dnsNameLabel=payload.get("dnsNameLabel"), numReplicas=1)
    body["deploymentStatus"]["desiredReplicas"] = desired_replicas(body)
    return body


def _make_local(body: dict[str, Any], payload: dict[str, Any]) -> None:
    """A LocalWebservice: one replica on the requested port (0: a free one, chosen now), no auth."""
    port = payload.get("port") or 0  # 0-65535, checked at the door
    body.update(authEnabled=False, aadAuthEnabled=False, numReplicas=1, autoScaler=None,
                port=port or free_port(), localSource=payload.get("localSource"))


def free_port() -> int:
    """A loopback port nothing listens on right now (Docker's 'random port' for a local service)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_secrets(payload: dict[str, Any]) -> dict[str, Any]:
    """A new service's keys (as the create payload gives them, else random) and its token-signing secret."""
    keys = payload.get("keys") or {}
    return {"primaryKey": keys.get("primaryKey") or secrets.token_urlsafe(24),
            "secondaryKey": keys.get("secondaryKey") or secrets.token_urlsafe(24),
            "tokenSecret": secrets.token_hex(32)}


# --- update -------------------------------------------------------------------------------------

# Changes that need new replicas (Kubernetes rolls the deployment); the rest only touch the record
# or the gateway's route.
_REDEPLOY_PREFIXES = ("/environmentImageRequest", "/imageId", "/autoScaler", "/containerResourceRequirements",
                      "/numReplicas", "/livenessProbeRequirements", "/namespace")
_PATCHABLE_PREFIXES = _REDEPLOY_PREFIXES + ("/dataCollection", "/authEnabled", "/aadAuthEnabled",
                                            "/appInsightsEnabled", "/scoringTimeoutMs",
                                            "/maxConcurrentRequestsPerContainer", "/maxQueueWaitMs", "/kvTags",
                                            "/properties", "/description")


def apply_patch(record: dict[str, Any], patch: list[dict[str, Any]],
                models_of: Callable[[list[str]], list[dict[str, Any]]] | None = None) -> bool:
    """Apply the SDK's JSON Patch to the record; returns whether the replicas must be redeployed.

    The patch is applied to a copy, and the fields it touched are checked against the create payload's
    schema (a patch cannot remove the driver program or set minReplicas above maxReplicas); the record
    changes only when all of it holds."""
    body = copy.deepcopy(record)
    redeploy = False
    for operation in patch:
        op, path, value = operation.get("op"), operation.get("path", ""), operation.get("value")
        if op not in ("replace", "add", "remove") or not path.startswith(_PATCHABLE_PREFIXES):
            raise BadRequest(f"Unsupported patch operation {op} {path!r}.", code="BadRequest")
        parts = path.strip("/").split("/")
        target = body
        for part in parts[:-1]:
            if target.get(part) is None:
                target[part] = {}
            target = target[part]
            # A list or a scalar: JSON patch indexes and paths into values are not ours.
            if not isinstance(target, dict):
                raise BadRequest(f"Unsupported patch operation {op} {path!r}: {part!r} is not an object.",
                                 code="BadRequest")
        if op == "remove":
            target.pop(parts[-1], None)
        else:
            target[parts[-1]] = value
        redeploy = redeploy or path.startswith(_REDEPLOY_PREFIXES)
    check_image_request(body.get("environmentImageRequest"))
    if body.get("autoScaler") is not None:
        body["autoScaler"] = {**DEFAULT_AUTOSCALE, **{k: v for k, v in body["autoScaler"].items() if v is not None}}
        if not body["autoScaler"]["autoscaleEnabled"] and body.get("numReplicas") is None:
            body["numReplicas"] = len(body.get("fakeAzure", {}).get("replicas", [])) or 1
    if body.get("numReplicas") is not None and any(p.get("path") == "/numReplicas" for p in patch) \
            and body.get("autoScaler"):
        body["autoScaler"]["autoscaleEnabled"] = False
    _check_as_created(body, patch)
    if models_of is not None and any(p.get("path", "").startswith("/environmentImageRequest") for p in patch):
        # update(models=...): the service runs the models its new request names (404 for an unknown one).
        body["models"] = models_of(list(body["environmentImageRequest"].get("modelIds") or []))
    no_code.check(body["environmentImageRequest"], body.get("models") or [])  # a patch to a no-code request
    record.clear()
    record.update(body)
    return redeploy


def _check_as_created(body: dict[str, Any], patch: list[dict[str, Any]]) -> None:
    """400 unless the top-level fields ``patch`` touched (and what a service must always have) still pass
    the create schema; untouched fields were checked when they were stored."""
    touched = {operation["path"].strip("/").split("/")[0] for operation in patch}
    fields = (touched | {"name", "environmentImageRequest"}) & set(ServiceCreate.model_fields)
    check_model(ServiceCreate, {key: body[key] for key in fields if key in body}, "service after the JSON patch")
