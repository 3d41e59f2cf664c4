"""AKS compute targets: provisioning from a VM-size catalog into an emulated node pool.

What Azure decides server-side is decided here when the PUT arrives (unknown VM size, the
FastProd 12-vCPU minimum); the outcome becomes visible through the operation, on the policy's clock."""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from datetime import datetime, timezone
from typing import Any, Callable

from ... import catalog, error_catalog
from ...errors import BadRequest, Conflict, NotFound
from ...gateway import tls as gateway_tls
from ...operations import OperationRecord, Operations, OperationStatus, Outcome
from .state import ProvisioningState, check_transition

FAST_PROD = "FastProd"
DEV_TEST = "DevTest"
FAST_PROD_MIN_VCPUS = 12
SUPPORTED_TYPES = ("AKS",)
# Azure ML's rule for compute names (docs: 2-16 characters, letters, digits and '-', starting with a
# letter); the message is ours (docs/parity.md). The type check runs first, as Azure's does.
COMPUTE_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]{1,15}")  # matched in full: "name\n" is not a name
INVALID_COMPUTE_NAME = ("Compute name {name!r} is invalid: it should start with a letter, be between 2 and 16 "
                        "characters, and only include letters (a-zA-Z), numbers (0-9) and '-'.")


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def not_found(name: str) -> NotFound:
    # The SDK builds this text client-side from a 404; we send it so every client sees the same words.
    return NotFound(f"ComputeTargetNotFound: Compute Target with name {name} not found in provided workspace",
                    code="ComputeTargetNotFound")


def row(conn: sqlite3.Connection, ws_id: str, name: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM computes WHERE workspace_id = ? AND name = ?", (ws_id, name)).fetchone()


def get(conn: sqlite3.Connection, operations: Operations, ws_id: str, name: str) -> dict[str, Any]:
    operations.advance_for_target(conn, ws_id, "compute.", name)
    found = row(conn, ws_id, name)
    # '~' names: a managed cluster attached for SDK v2 (resources/admin/clusters.py), not a v1 compute.
    if found is None or name.startswith("~"):
        raise not_found(name)
    return json.loads(found["body"])


def list_all(conn: sqlite3.Connection, operations: Operations, ws_id: str) -> list[dict[str, Any]]:
    names = [r["name"] for r in conn.execute("SELECT name FROM computes WHERE workspace_id = ? ORDER BY created_at",
                                             (ws_id,)) if not r["name"].startswith("~")]
    bodies = []
    for name in names:
        try:
            bodies.append(get(conn, operations, ws_id, name))
        except NotFound:  # its delete finished while we listed
            continue
    return bodies


def node_pool(vm: catalog.VmSize, count: int, cluster: str) -> list[dict[str, Any]]:
    suffix = hashlib.sha1(cluster.encode()).hexdigest()[:8]
    return [{"name": f"aks-agentpool-{suffix}-vmss{index:06d}", "vmSize": vm.name, "vcpus": vm.vcpus,
             "memoryGb": vm.memory_gb, "gpus": vm.gpus, "gpuModel": vm.gpu_model} for index in range(count)]


def _plan_provisioning(vm_size: str, agent_count: int, purpose: str, location: str,
                       subscription_id: str) -> Outcome:
    """The outcome Azure would reach for this cluster: Succeeded, or Failed with its error."""
    vm = catalog.lookup(vm_size)
    if vm is None:
        return Outcome(OperationStatus.FAILED, error=error_catalog.vm_size_not_supported(
            vm_size, subscription_id, location, catalog.available_names()).payload())
    if purpose == FAST_PROD and vm.vcpus * agent_count < FAST_PROD_MIN_VCPUS:
        return Outcome(OperationStatus.FAILED, error=error_catalog.fast_prod_too_small(
            FAST_PROD_MIN_VCPUS, agent_count, vm.name, vm.vcpus).payload())
    return Outcome(OperationStatus.SUCCEEDED)


def validate_name(name: str) -> str:
    if not COMPUTE_NAME.fullmatch(name):
        raise BadRequest(INVALID_COMPUTE_NAME.format(name=name), code="InvalidComputeName")
    return name


def create_or_update(conn: sqlite3.Connection, operations: Operations, ws: dict[str, Any], name: str,
                     payload: dict[str, Any], fail_provisioning: Callable[[], bool] = lambda: False,
                     ) -> tuple[dict[str, Any], str]:
    """Handle the ARM PUT. Returns (compute body, operation id). ``fail_provisioning`` consumes an
    injected fault (asked only for a new cluster, so an update never uses it up)."""
    properties = payload.get("properties") or {}
    compute_type = properties.get("computeType")
    if compute_type not in SUPPORTED_TYPES:
        raise BadRequest(f"Compute type {compute_type!r} is not supported by fake-azure; supported: AKS.",
                         code="UnsupportedComputeType")
    validate_name(name)
    existing = row(conn, ws["id"], name)
    if existing is not None:
        return _update(conn, operations, ws, existing, properties)
    aks = properties.get("properties") or {}
    purpose = aks.get("clusterPurpose") or FAST_PROD
    vm_size = aks.get("agentVmSize") or catalog.DEFAULT_VM_SIZE
    # Azure's defaults: 3 nodes for FastProd, 1 for DevTest.
    agent_count = aks.get("agentCount") or (1 if purpose == DEV_TEST else 3)  # 1-1000: computes/schema.py
    location = properties.get("computeLocation") or payload.get("location") or ws["location"]
    vm = catalog.lookup(vm_size)
    _check_ssl(aks.get("sslConfiguration"))
    resource_suffix = hashlib.sha1(f"{ws['id']}/{name}".encode()).hexdigest()[:6]
    now = _now_iso()
    body = {
        "id": f"{ws['id']}/computes/{name}",
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/computes",
        "location": payload.get("location") or ws["location"],
        "tags": payload.get("tags"),
        "properties": {
            "computeType": "AKS",
            "computeLocation": location,
            "description": properties.get("description"),
            "resourceId": (f"/subscriptions/{ws['subscriptionId']}/resourcegroups/{ws['resourceGroup']}"
                           f"/providers/Microsoft.ContainerService/managedClusters/{name}{resource_suffix}"),
            "isAttachedCompute": False,
            "provisioningState": ProvisioningState.CREATING.value,
            "provisioningErrors": None,
            "createdOn": now,
            "modifiedOn": now,
            "properties": {
                "agentVmSize": vm.name if vm else vm_size,
                "agentCount": agent_count,
                "clusterPurpose": purpose,
                "clusterFqdn": None,
                "systemServices": None,
                "loadBalancerType": aks.get("loadBalancerType") or "PublicIp",
                "loadBalancerSubnet": _subnet(aks.get("loadBalancerType"), aks.get("loadBalancerSubnet")),
                "sslConfiguration": aks.get("sslConfiguration"),
            },
        },
        # Our extension (the SDK ignores unknown keys): the emulated node pool the scheduler uses.
        # scoringFqdn: the name an SSL cluster's certificate carries (emulator/gateway/tls.py).
        "fakeAzure": {"nodes": node_pool(vm, agent_count, name) if vm else [],
                      "scoringFqdn": gateway_tls.scoring_fqdn_after(aks.get("sslConfiguration"), location, None)},
    }
    conn.execute("INSERT INTO computes (workspace_id, name, state, body, created_at) VALUES (?, ?, ?, ?, ?)",
                 (ws["id"], name, ProvisioningState.CREATING.value, json.dumps(body), time.time()))
    outcome = _plan_provisioning(vm_size, agent_count, purpose, location, ws["subscriptionId"])
    if outcome.status is not OperationStatus.FAILED and fail_provisioning():
        outcome = Outcome(OperationStatus.FAILED, error=error_catalog.provisioning_fault().payload())
    outcome.running_status = ProvisioningState.CREATING.value
    return body, operations.start(conn, ws["id"], "compute.create", name, outcome)


DEFAULT_SUBNET = "aks-subnet"


def _check_ssl(ssl_configuration: dict[str, Any] | None) -> None:
    """A cluster given its own certificate (status Enabled) must be given a usable one: refused before anything
    is stored."""
    try:
        gateway_tls.check_user_pair(ssl_configuration)
    except gateway_tls.TlsConfigurationError as exc:
        raise BadRequest(str(exc), code="InvalidSslConfiguration") from None


def _subnet(load_balancer_type: str | None, subnet: str | None) -> str | None:
    """An internal load balancer sits in a subnet: ``aks-subnet`` unless one is named (the documented default)."""
    if subnet or (load_balancer_type or "").lower() != "internalloadbalancer":
        return subnet
    return DEFAULT_SUBNET


def _update(conn: sqlite3.Connection, operations: Operations, ws: dict[str, Any], row: sqlite3.Row,
            properties: dict[str, Any]) -> tuple[dict[str, Any], str]:
    body = json.loads(row["body"])
    current = body["properties"]["properties"]
    wanted = properties.get("properties") or {}
    for key in ("agentVmSize", "agentCount"):
        if wanted.get(key) and str(wanted[key]).lower() != str(current.get(key)).lower():
            raise Conflict(f"Compute {row['name']} already exists with {key} {current.get(key)}; an existing AKS "
                           f"cluster cannot change {key}. Delete it first or choose another name.",
                           code="ComputeAlreadyExists")
    state = check_transition(row["state"], ProvisioningState.UPDATING, row["name"])
    if "sslConfiguration" in wanted:
        _check_ssl(wanted["sslConfiguration"])
        extension = body.setdefault("fakeAzure", {})
        extension["scoringFqdn"] = gateway_tls.scoring_fqdn_after(
            wanted["sslConfiguration"], body["properties"].get("computeLocation") or "", extension.get("scoringFqdn"))
    for key in ("loadBalancerType", "loadBalancerSubnet", "sslConfiguration"):
        if key in wanted:
            current[key] = wanted[key]
    if "loadBalancerSubnet" not in wanted and current.get("loadBalancerSubnet") == DEFAULT_SUBNET:
        current["loadBalancerSubnet"] = None  # the default follows the type: a PublicIp cluster has none
    current["loadBalancerSubnet"] = _subnet(current.get("loadBalancerType"), current.get("loadBalancerSubnet"))
    _store(conn, ws["id"], row["name"], body, state)
    return body, operations.start(conn, ws["id"], "compute.update", row["name"],
                                  Outcome(OperationStatus.SUCCEEDED, running_status=ProvisioningState.UPDATING.value))


def delete(conn: sqlite3.Connection, operations: Operations, ws_id: str, name: str, action: str) -> str:
    if action not in ("delete", "detach"):
        raise BadRequest(f"underlyingResourceAction must be 'delete' or 'detach', got {action!r}")
    body = get(conn, operations, ws_id, name)
    state = check_transition(body["properties"]["provisioningState"], ProvisioningState.DELETING, name)
    _store(conn, ws_id, name, body, state)
    return operations.start(conn, ws_id, f"compute.{action}", name,
                            Outcome(OperationStatus.SUCCEEDED, running_status=ProvisioningState.DELETING.value))


def list_keys(conn: sqlite3.Connection, operations: Operations, ws_id: str, name: str) -> dict[str, Any]:
    body = get(conn, operations, ws_id, name)
    fqdn = body["properties"]["properties"].get("clusterFqdn") or f"{name}.local"
    return {"userKubeConfig": f"# emulated AKS cluster {name}\nserver: https://{fqdn}\n",
            "adminKubeConfig": f"# emulated AKS cluster {name} (admin)\nserver: https://{fqdn}\n",
            "imagePullSecretName": None}


def _store(conn: sqlite3.Connection, ws_id: str, name: str, body: dict[str, Any], state: ProvisioningState) -> None:
    body["properties"]["provisioningState"] = state.value
    body["properties"]["modifiedOn"] = _now_iso()
    conn.execute("UPDATE computes SET state = ?, body = ? WHERE workspace_id = ? AND name = ?",
                 (state.value, json.dumps(body), ws_id, name))


def _finish_provisioning(conn: sqlite3.Connection, op: OperationRecord) -> None:
    found = row(conn, op.workspace_id, op.target)
    if found is None or found["state"] == ProvisioningState.DELETING.value:
        return  # deleted (or being deleted) while provisioning: the delete decides what remains
    body = json.loads(found["body"])
    if op.outcome.succeeded:
        state = check_transition(found["state"], ProvisioningState.SUCCEEDED, op.target)
        aks = body["properties"]["properties"]
        aks["clusterFqdn"] = aks.get("clusterFqdn") or (
            f"{op.target}-{hashlib.sha1(body['id'].encode()).hexdigest()[:8]}.hcp.{body['location']}.azmk8s.io")
        aks["systemServices"] = aks.get("systemServices") or [
            {"systemServiceType": "ScoringFrontEnd", "publicIpAddress": "127.0.0.1", "version": "fake-azure"}]
        body["properties"]["provisioningErrors"] = None
    else:
        state = check_transition(found["state"], ProvisioningState.FAILED, op.target)
        body["properties"]["provisioningErrors"] = [{"error": op.outcome.error}]
    _store(conn, op.workspace_id, op.target, body, state)


def _finish_delete(conn: sqlite3.Connection, op: OperationRecord) -> None:
    conn.execute("DELETE FROM computes WHERE workspace_id = ? AND name = ?", (op.workspace_id, op.target))


FINISHERS = {
    "compute.create": _finish_provisioning,
    "compute.update": _finish_provisioning,
    "compute.delete": _finish_delete,
    "compute.detach": _finish_delete,
}
