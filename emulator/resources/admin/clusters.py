"""AKS clusters made outside any workspace, as Azure makes them (``az aks create``, azure-mgmt-containerservice's
``managed_clusters.begin_create_or_update``; here also ``fake-azure aks create``): a subscription-level
``Microsoft.ContainerService/managedClusters`` resource whose agent pools are node pools of real VM sizes, which
SDK v2's ``KubernetesCompute`` attaches by its resource id. No Flask here: the command's admin route and the ARM
routes (emulator/arm/managed_clusters_api.py) both end in these functions, on the ``managed_clusters`` table.

Attaching a cluster to a workspace gives the workspace a hidden AKS compute (``~aks-{cluster}``, a name no v1
compute can have, left out of v1's lists) holding the cluster's nodes, named alike in every workspace: the
scheduler and the gateway treat it as v1's clusters, and placement counts the pods of every workspace on a
compute that stands for the same cluster (services/service.py ``allocations_on``), as one AKS cluster's nodes are
shared by every workspace that attaches it. A v1 AKS compute of another workspace is attached the same way."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from ... import catalog, error_catalog
from ...deploy import lifecycle
from ...errors import BadRequest, Conflict, NotFound
from ..computes import service as computes
from ..computes.state import ProvisioningState
from ..services.state import ServiceState

if TYPE_CHECKING:
    from ...deploy.engine import DeploymentEngine

HIDDEN_PREFIX = "~aks-"  # v1 compute names start with a letter; managed endpoints' front ends are "~endpoint-"
CLUSTER_TYPE = "Microsoft.ContainerService/ManagedClusters"  # AKS's casing in its answers
AGENT_POOL_TYPE = "Microsoft.ContainerService/managedClusters/agentPools"
KUBERNETES_VERSION = "1.32.6"  # what a cluster created without kubernetesVersion reports (a supported minor)
DEFAULT_VM_SIZE = "Standard_DS2_v2"  # az aks create's long-standing default node size
MAX_PODS = 110  # AKS's default per node for kubenet clusters
MAX_NODES = 5000  # AKS's limit for one cluster, all node pools together
# Write-only secrets of the request that AKS never echoes.
_SECRETS = {"servicePrincipalProfile": "secret", "windowsProfile": "adminPassword"}


def resource_id(subscription: str, resource_group: str, name: str) -> str:
    """The cluster's ARM id as AKS spells it in its answers (``resourcegroups`` in lower case)."""
    return f"/subscriptions/{subscription}/resourcegroups/{resource_group}/providers/" \
           f"Microsoft.ContainerService/managedClusters/{name}"


def not_found(resource_group: str, name: str) -> NotFound:
    """ARM's answer for a managed cluster it does not have."""
    return NotFound(f"The Resource 'Microsoft.ContainerService/managedClusters/{name}' under resource group "
                    f"'{resource_group}' was not found. For more details please go to "
                    "https://aka.ms/ARMResourceNotFoundFix", code="ResourceNotFound")


def _row(conn: sqlite3.Connection, rid: str) -> sqlite3.Row | None:
    return conn.execute("SELECT body, created_at FROM managed_clusters WHERE id = ?", (rid.lower(),)).fetchone()


def _nodes(rid: str, pool: str, vm: catalog.VmSize, count: int) -> list[dict[str, Any]]:
    """A pool's nodes, named as AKS names them (``aks-{pool}-{8 digits}-vmss{index}``)."""
    digits = int(hashlib.sha1(rid.lower().encode()).hexdigest(), 16) % 10 ** 8
    return [{**node, "name": f"aks-{pool}-{digits:08d}-vmss{index:06d}", "pool": pool}
            for index, node in enumerate(computes.node_pool(vm, count, rid.lower()))]


def _pools(spec: dict[str, Any], subscription: str, location: str) -> list[dict[str, Any]]:
    """The agent pools asked for, with AKS's defaults; an unknown VM size is refused as Azure refuses it."""
    profiles = (spec.get("properties") or {}).get("agentPoolProfiles") or []
    if not profiles:
        raise BadRequest("A managed cluster needs at least one agent pool (properties.agentPoolProfiles).",
                         code="InvalidParameter")
    names = [p["name"] for p in profiles]
    if len(set(names)) != len(names):
        raise BadRequest(f"Agent pool names must be unique in a cluster; got {names}.", code="InvalidParameter")
    pools = []
    for index, profile in enumerate(profiles):
        size = profile.get("vmSize") or DEFAULT_VM_SIZE
        vm = catalog.lookup(size)
        if vm is None:
            raise BadRequest.of(error_catalog.vm_size_not_supported(size, subscription, location,
                                                                    catalog.available_names()))
        # The first pool is the system pool unless the request says which are.
        mode = profile.get("mode") or ("System" if index == 0 else "User")
        count = 1 if profile.get("count") is None else profile["count"]  # the REST API's default
        if mode == "System" and count < 1:
            raise BadRequest(f"Agent pool {profile['name']} is a System pool: its count must be 1 to 1000.",
                             code="InvalidParameter")
        pools.append({**profile, "vmSize": vm.name, "count": count, "mode": mode})
    total = sum(p["count"] for p in pools)
    if total > MAX_NODES:
        raise BadRequest(f"A managed cluster has at most {MAX_NODES} nodes across its agent pools; these ask for "
                         f"{total}.", code="InvalidParameter")
    if not any(p["mode"] == "System" for p in pools):
        raise BadRequest("A managed cluster must have at least one agent pool in System mode.",
                         code="InvalidParameter")
    return pools


def _public(rid: str, resource_group: str, name: str, spec: dict[str, Any], pools: list[dict[str, Any]],
            location: str) -> dict[str, Any]:
    """The ManagedCluster body AKS answers: what was asked, its defaults and its read-only fields."""
    props = {k: v for k, v in (spec.get("properties") or {}).items() if k != "agentPoolProfiles"}
    for profile, secret in _SECRETS.items():
        if isinstance(props.get(profile), dict):
            props[profile] = {k: v for k, v in props[profile].items() if k != secret}
    version = props.get("kubernetesVersion") or KUBERNETES_VERSION
    dns_prefix = props.get("dnsPrefix") or f"{name[:10]}-{resource_group[:16]}-{rid.split('/')[2][:6]}"
    digest = hashlib.sha1(rid.lower().encode()).hexdigest()
    running = {"code": "Running"}
    profiles = [{**pool, "type": pool.get("type") or "VirtualMachineScaleSets", "osType": pool.get("osType") or
                 "Linux", "osSKU": pool.get("osSKU") or "Ubuntu", "maxPods": pool.get("maxPods") or MAX_PODS,
                 "orchestratorVersion": pool.get("orchestratorVersion") or version,
                 "currentOrchestratorVersion": pool.get("orchestratorVersion") or version,
                 "provisioningState": "Succeeded", "powerState": running} for pool in pools]
    body: dict[str, Any] = {
        "id": rid, "name": name, "type": CLUSTER_TYPE, "location": location, "tags": spec.get("tags"),
        "sku": spec.get("sku") or {"name": "Base", "tier": "Free"},
        "properties": {**props, "provisioningState": "Succeeded", "powerState": running,
                       "kubernetesVersion": version, "currentKubernetesVersion": version, "dnsPrefix": dns_prefix,
                       "fqdn": f"{dns_prefix.lower()}-{digest[:8]}.hcp.{location}.azmk8s.io",
                       "agentPoolProfiles": profiles,
                       "nodeResourceGroup": props.get("nodeResourceGroup") or f"MC_{resource_group}_{name}_{location}",
                       "enableRBAC": props.get("enableRBAC", True), "maxAgentPools": 100}}
    if spec.get("identity"):
        body["identity"] = spec["identity"]
    return body


def _unchanged(old: dict[str, Any], new: dict[str, Any]) -> None:
    """What an update may not change here: the location, the DNS prefix and the node pools (Azure scales a pool
    in place; the local cloud keeps the nodes its pods are placed on)."""
    def pools(body: dict[str, Any]) -> list[tuple[str, str, int]]:
        return sorted((p["name"], p["vmSize"], p["count"]) for p in body["properties"]["agentPoolProfiles"])

    for label, before, after in (("location", old["location"], new["location"]),
                                 ("dnsPrefix", old["properties"]["dnsPrefix"], new["properties"]["dnsPrefix"]),
                                 ("agentPoolProfiles", pools(old), pools(new))):
        if before != after:
            raise BadRequest(f"Changing property '{label}' is not allowed: fake-azure does not change an existing "
                             f"cluster's {label} (was {before}, asked {after}). Delete the cluster and create it "
                             "again.", code="PropertyChangeNotAllowed")


def put(conn: sqlite3.Connection, subscription: str, resource_group: str, name: str,
        spec: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Create or update the cluster from an ARM ManagedCluster body: (the stored body, created)."""
    rid = resource_id(subscription, resource_group, name)
    location = str(spec["location"]).replace(" ", "").lower()  # ARM's short form: "East US" -> eastus
    pools = _pools(spec, subscription, location)
    body = _public(rid, resource_group, name, spec, pools, location)
    old = _row(conn, rid)
    if old is not None:
        previous = json.loads(old["body"])
        body["id"], body["name"] = previous["id"], previous["name"]  # the names as first given
        _unchanged(previous, body)
        nodes = previous["fakeAzure"]["nodes"]
    else:
        nodes = []
        for pool in pools:
            vm = catalog.lookup(pool["vmSize"])
            assert vm is not None  # _pools refused unknown sizes
            nodes += _nodes(rid, pool["name"], vm, pool["count"])
    body["fakeAzure"] = {"nodes": nodes}
    conn.execute("INSERT OR REPLACE INTO managed_clusters (id, body, created_at) VALUES (?, ?, ?)",
                 (rid.lower(), json.dumps(body), old["created_at"] if old else time.time()))
    return body, old is None


def create(conn: sqlite3.Connection, payload: dict[str, Any]) -> dict[str, Any]:
    """``fake-azure aks create``: one pool (``nodepool1``, as az aks create names it); an existing name is refused."""
    payload = {"nodeCount": 3, "location": "eastus", **payload}  # the schema's defaults (the raw body lacks them)
    rid = resource_id(payload["subscriptionId"], payload["resourceGroup"], payload["name"])
    if _row(conn, rid) is not None:
        raise BadRequest(f"A managed cluster {rid} already exists.", code="Conflict")
    spec = {"location": payload["location"], "properties": {"agentPoolProfiles": [
        {"name": "nodepool1", "vmSize": payload["vmSize"], "count": payload["nodeCount"], "mode": "System"}]}}
    return put(conn, payload["subscriptionId"], payload["resourceGroup"], payload["name"], spec)[0]


def get(conn: sqlite3.Connection, subscription: str, resource_group: str, name: str) -> dict[str, Any]:
    found = _row(conn, resource_id(subscription, resource_group, name))
    if found is None:
        raise not_found(resource_group, name)
    return dict(json.loads(found["body"]))


def list_all(conn: sqlite3.Connection, subscription: str | None = None,
             resource_group: str | None = None) -> list[dict[str, Any]]:
    """Every cluster, or those of a subscription (and resource group), oldest first."""
    prefix = f"/subscriptions/{subscription}/" if subscription else "/"
    if subscription and resource_group:
        prefix += f"resourcegroups/{resource_group}/"
    return [json.loads(r["body"]) for r in conn.execute("SELECT id, body FROM managed_clusters ORDER BY created_at")
            if r["id"].startswith(prefix.lower())]


def agent_pools(cluster: dict[str, Any]) -> list[dict[str, Any]]:
    """The cluster's agent pools as AKS answers them as resources of their own."""
    return [{"id": f"{cluster['id']}/agentPools/{p['name']}", "name": p["name"], "type": AGENT_POOL_TYPE,
             "properties": {k: v for k, v in p.items() if k != "name"}}
            for p in cluster["properties"]["agentPoolProfiles"]]


def _hidden_computes(conn: sqlite3.Connection, rid: str) -> list[tuple[str, str]]:
    """(workspace id, name) of every hidden compute that stands for the cluster ``rid``."""
    return [(r["workspace_id"], r["name"]) for r in conn.execute(
        "SELECT workspace_id, name FROM computes WHERE name LIKE '~%' AND "
        "lower(json_extract(body, '$.properties.resourceId')) = ?", (rid.lower(),))]


def delete(conn: sqlite3.Connection, rid: str) -> list[tuple[str, str]] | None:
    """Delete the cluster (None when there is none) and the hidden computes that hold its nodes, as Azure deletes
    an AKS cluster under the workspaces that attached it: their Kubernetes computes then report Failed
    (emulator/arm/kubernetes.py), and the deployments placed on it fail. Returns those deployments' (workspace
    id, core service name), whose replicas :func:`stop_pods` stops once the transaction has committed. Refused
    (409) while one of them is being deployed: its rollout would place pods on nodes that no longer exist."""
    if _row(conn, rid) is None:
        return None
    placed = _cluster_gone(conn, rid, [])
    conn.execute("DELETE FROM managed_clusters WHERE id = ?", (rid.lower(),))
    return placed


def aks_compute_deleted(conn: sqlite3.Connection, ws_id: str, name: str) -> list[tuple[str, str]]:
    """A v1 AKS compute is deleted with its cluster (``underlyingResourceAction=delete``): as for a managed
    cluster, the services and deployments on it (this workspace's, and other workspaces' that attached it) fail,
    and their replicas are to be stopped (:func:`stop_pods`). Returns them; [] for a compute that is not AKS."""
    found = computes.row(conn, ws_id, name)
    props = (json.loads(found["body"]).get("properties") or {}) if found is not None else {}
    if props.get("computeType") != "AKS":
        return []
    return _cluster_gone(conn, props.get("resourceId") or "", [(ws_id, name)])


def _cluster_gone(conn: sqlite3.Connection, rid: str, own: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The cluster ``rid`` is gone: every service placed on a compute standing for it (``own`` and the hidden
    computes of the workspaces that attached it) fails, and the hidden computes go. Returns those services'
    (workspace id, name). Refused (409) while one of them is being deployed: its rollout would place pods on
    nodes that no longer exist."""
    hidden = _hidden_computes(conn, rid) if rid else []
    placed = [(ws_id, r["name"], r["state"]) for ws_id, compute in [*own, *hidden] for r in conn.execute(
        "SELECT name, state FROM services WHERE workspace_id = ? AND compute_name = ?", (ws_id, compute))]
    busy = sorted(name for _, name, state in placed if state == ServiceState.TRANSITIONING.value)
    if busy:
        raise Conflict(f"The AKS cluster {rid} cannot be deleted while deployments on it are being deployed "
                       f"({', '.join(busy)}): retry once their operations have ended.", code="OperationNotAllowed")
    error = error_catalog.kubernetes_pods_gone(rid).payload()
    for ws_id, name, state in placed:
        lifecycle.deploy_failed(conn, ws_id, name, error, mark_failed=state != ServiceState.FAILED.value)
    for ws_id, compute in hidden:
        conn.execute("DELETE FROM computes WHERE workspace_id = ? AND name = ?", (ws_id, compute))
    return [(ws_id, name) for ws_id, name, _ in placed]


def stop_pods(engine: DeploymentEngine, placed: list[tuple[str, str]]) -> None:
    """Stop the replicas of the deployments a deleted cluster held (their records say Failed already): off their
    gateways, every process stopped; the records stay, as Azure keeps the deployments of a deleted cluster."""
    for key in placed:
        deployment = engine.deployments.find(key)
        if deployment is None:
            continue
        deployment.abandoned.set()  # a replica restart in flight gives up
        deployment.claim("delete")
        try:
            engine.rollouts.take_down_everything(deployment, remove_files=False)
        finally:
            deployment.release()


def _source(conn: sqlite3.Connection, ws_body: dict[str, Any], rid: str) -> dict[str, Any] | None:
    """What a hidden compute for ``rid`` copies: a managed cluster's, or a v1 AKS compute's of another workspace
    (one AKS cluster may be attached to several workspaces); None when the local cloud has no such cluster."""
    found = _row(conn, rid)
    if found is not None:
        cluster = json.loads(found["body"])
        pools = cluster["properties"]["agentPoolProfiles"]
        system = next(p for p in pools if p["mode"] == "System")
        return {"id": cluster["id"], "name": cluster["name"], "location": cluster["location"],
                "vmSize": system["vmSize"], "count": sum(p["count"] for p in pools),
                "nodes": cluster["fakeAzure"]["nodes"]}
    for row in conn.execute("SELECT workspace_id, name, body FROM computes WHERE workspace_id != ? AND name NOT LIKE "
                            "'~%' AND lower(json_extract(body, '$.properties.resourceId')) = ?",
                            (ws_body["id"], rid.lower())):
        body = json.loads(row["body"])
        if body["properties"].get("computeType") == "AKS":
            aks = body["properties"].get("properties") or {}
            return {"id": body["properties"]["resourceId"], "name": row["name"], "location": body["location"],
                    "vmSize": aks.get("agentVmSize"), "count": aks.get("agentCount"),
                    "nodes": (body.get("fakeAzure") or {}).get("nodes", [])}
    return None


def attach_to(conn: sqlite3.Connection, ws_body: dict[str, Any], rid: str) -> str | None:
    """The hidden AKS compute of the workspace for the cluster ``rid`` (made on first attach): its name; None when
    the local cloud has no cluster of that id outside this workspace."""
    source = _source(conn, ws_body, rid)
    if source is None:
        return None
    name = HIDDEN_PREFIX + source["name"]
    if computes.row(conn, ws_body["id"], name) is not None:  # another cluster of that name: keep both apart
        name += "-" + hashlib.sha1(rid.lower().encode()).hexdigest()[:6]
    body = {"id": f"{ws_body['id']}/computes/{name}", "name": name, "location": source["location"],
            "properties": {"computeType": "AKS", "resourceId": source["id"], "isAttachedCompute": True,
                           "provisioningState": ProvisioningState.SUCCEEDED.value,
                           "properties": {"agentVmSize": source["vmSize"], "agentCount": source["count"]}},
            "fakeAzure": {"nodes": source["nodes"], "managedCluster": source["id"]}}
    conn.execute("INSERT INTO computes (workspace_id, name, state, body, created_at) VALUES (?, ?, ?, ?, ?)",
                 (ws_body["id"], name, ProvisioningState.SUCCEEDED.value, json.dumps(body), time.time()))
    return name
