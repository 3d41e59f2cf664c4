"""The two records of an SDK v2 online deployment (no Flask, no store here): its ARM body, which the client
reads, and the deployment core's record named ``{endpoint}~{deployment}``, which the engine runs. A managed
deployment's replicas are instances of its VM size behind a gateway of the endpoint's own; a Kubernetes
deployment's are pods on its attached cluster's node pool, behind that cluster's gateway, as v1 services."""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from .. import catalog
from ..validation import canonical
from .assets import PROVIDER, _system_data
from .endpoint_schema import NETWORK_ACCESS

DEPLOYMENT_TYPE = f"{PROVIDER}/workspaces/onlineEndpoints/deployments"
FRONT_END = "v2"
CORE_SEPARATOR = "~"  # in core record names: v1 webservice names never hold one
MANAGED, KUBERNETES = "Managed", "Kubernetes"
_DURATION = re.compile(r"^P(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")
# Azure's defaults for a deployment (what the service fills in when the client sends none).
DEFAULT_REQUEST_SETTINGS = {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1, "maxQueueWait": "PT0.5S"}
DEFAULT_PROBE = {"initialDelay": "PT10S", "period": "PT10S", "timeout": "PT2S", "successThreshold": 1,
                 "failureThreshold": 30}


def core_name(endpoint: str, deployment: str) -> str:
    return f"{endpoint}{CORE_SEPARATOR}{deployment}"


def duration_ms(value: str | None, default: str) -> int:
    """An ISO 8601 duration of hours, minutes and seconds (``PT0.5S``) in milliseconds."""
    found = _DURATION.match(value or default) or _DURATION.match(default)
    assert found is not None
    parts = {k: float(v or 0) for k, v in found.groupdict().items()}
    return int(round((parts["h"] * 3600 + parts["m"] * 60 + parts["s"]) * 1000))


@dataclass(frozen=True)
class Sizing:
    """What each replica of a deployment gets and where it runs."""

    compute_type: str  # the core record's: "Managed", or "AKS" (a Kubernetes deployment's cluster)
    compute_name: str  # a managed endpoint's own front end ("~endpoint-{name}"), or the AKS compute
    instance_type: str
    cpu: float
    memory_gb: float
    gpus: int
    cpu_limit: float
    memory_limit_gb: float

    @classmethod
    def managed(cls, endpoint: str, size: catalog.VmSize) -> "Sizing":
        return cls("Managed", f"~endpoint-{endpoint}", size.name, float(size.vcpus), float(size.memory_gb), size.gpus,
                   float(size.vcpus), float(size.memory_gb))


def managed_replicas(sizing: Sizing, count: int) -> list[dict[str, Any]]:
    """One instance per replica, each a VM of the instance type with all of its GPUs (node i's GPUs are the
    cluster-wide ordinals i*g..i*g+g-1, as on a v1 node pool)."""
    return [{"id": secrets.token_hex(4), "node": f"instance-{i}", "nodeIndex": i, "gpusPerNode": sizing.gpus,
             "gpuIds": list(range(sizing.gpus)), "cpu": sizing.cpu, "memoryGb": sizing.memory_gb,
             "state": "Pending", "restarts": 0} for i in range(count)]


def autoscaler(scale: dict[str, Any] | None) -> dict[str, Any] | None:
    """A Kubernetes deployment's TargetUtilization settings as the core's autoscaler reads them (v1's shape)."""
    if not scale or scale.get("scaleType") != "TargetUtilization":
        return None
    return {"autoscaleEnabled": True, "minReplicas": max(1, int(scale.get("minInstances") or 1)),
            "maxReplicas": int(scale.get("maxInstances") or 1),
            "targetUtilization": int(scale.get("targetUtilizationPercentage") or 70),
            "refreshPeriodInSeconds": max(1, duration_ms(scale.get("pollingInterval"), "PT1S") // 1000)}


def core_record(ws_body: dict[str, Any], endpoint: str, name: str, props: dict[str, Any], sizing: Sizing,
                count: int, environment: dict[str, Any], launch: dict[str, Any]) -> dict[str, Any]:
    """The core record, its replicas not planned yet (``fakeAzure.replicas`` is empty)."""
    request = {**DEFAULT_REQUEST_SETTINGS, **(props.get("requestSettings") or {})}
    probe = {**DEFAULT_PROBE, **(props.get("livenessProbe") or {})}
    readiness = {**DEFAULT_PROBE, **(props.get("readinessProbe") or {})}
    scaler = autoscaler(props.get("scaleSettings"))
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    return {
        "name": core_name(endpoint, name), "description": props.get("description"), "kvTags": {},
        "properties": {}, "createdTime": now, "updatedTime": now,  # its state: lifecycle.deploy_begun's
        "error": None, "computeType": sizing.compute_type, "computeName": sizing.compute_name, "scoringUri": None,
        # The gateway guards the route with the endpoint's keys (kept in step by endpoints' key changes).
        "authEnabled": True, "aadAuthEnabled": False, "appInsightsEnabled": False,
        "numReplicas": count, "autoScaler": scaler,
        "containerResourceRequirements": {"cpu": sizing.cpu, "cpuLimit": sizing.cpu_limit,
                                          "memoryInGB": sizing.memory_gb, "memoryInGBLimit": sizing.memory_limit_gb,
                                          "gpu": sizing.gpus},
        "maxConcurrentRequestsPerContainer": int(request["maxConcurrentRequestsPerInstance"] or 1),
        "maxQueueWaitMs": duration_ms(request.get("maxQueueWait"), "PT0.5S"),
        "scoringTimeoutMs": duration_ms(request.get("requestTimeout"), "PT5S"),
        "livenessProbeRequirements": {
            "periodSeconds": duration_ms(probe["period"], "PT10S") // 1000,
            "initialDelaySeconds": duration_ms(probe["initialDelay"], "PT10S") // 1000,
            "timeoutSeconds": max(1, duration_ms(probe["timeout"], "PT2S") // 1000),
            "successThreshold": int(probe["successThreshold"]), "failureThreshold": int(probe["failureThreshold"])},
        # A starting replica not ready by the time its readiness probe has failed failureThreshold times fails.
        "readyTimeoutSeconds": (duration_ms(readiness["initialDelay"], "PT10S") + duration_ms(
            readiness["period"], "PT10S") * max(1, int(readiness["failureThreshold"]))) / 1000,
        "models": [{"name": m["name"], "version": m["version"]} for m in launch["models"]],
        "environmentImageRequest": {"environment": environment},
        "deploymentStatus": {"desiredReplicas": count, "updatedReplicas": 0, "availableReplicas": 0, "error": None},
        "location": ws_body["location"],
        # Not "endpoint": that key marks an AKS endpoint's version, which its gateway hides (deploy/gateways.py).
        "fakeAzure": {"frontEnd": FRONT_END, "onlineEndpoint": endpoint, "onlineDeployment": name,
                      "replicas": [], "launch": launch},
    }


def arm_body(ws_id: str, endpoint: str, name: str, payload: dict[str, Any], sizing: Sizing, state: str,
             created: float, now: float) -> dict[str, Any]:
    props = {k: v for k, v in payload["properties"].items() if v is not None}
    kind = props["endpointComputeType"]
    stored = {"description": None, "properties": {}, "environmentVariables": {}, "appInsightsEnabled": False,
              "scaleSettings": {"scaleType": "Default"}, **props, "instanceType": sizing.instance_type,
              "requestSettings": {**DEFAULT_REQUEST_SETTINGS, **(props.get("requestSettings") or {})},
              "livenessProbe": {**DEFAULT_PROBE, **(props.get("livenessProbe") or {})},
              "readinessProbe": {**DEFAULT_PROBE, "failureThreshold": 30, **(props.get("readinessProbe") or {})},
              "provisioningState": state}
    if kind == KUBERNETES:  # the client reads it unconditionally (None crashes its _from_rest_object)
        stored["containerResourceRequirements"] = props.get("containerResourceRequirements") or {
            "containerResourceRequests": None, "containerResourceLimits": None}
    if kind == MANAGED:
        stored["egressPublicNetworkAccess"] = canonical(props.get("egressPublicNetworkAccess") or "Enabled",
                                                        NETWORK_ACCESS)
    return {"id": f"{ws_id}/onlineEndpoints/{endpoint}/deployments/{name}", "name": name, "type": DEPLOYMENT_TYPE,
            "location": payload["location"], "kind": kind, "tags": payload.get("tags") or {},
            "sku": {"name": "Default", "tier": "Standard", "capacity": (payload.get("sku") or {}).get("capacity") or 1},
            "properties": stored, "systemData": _system_data(created, now)}
