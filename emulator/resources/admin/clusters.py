"""AKS clusters made outside any workspace, as ``az aks create`` or azure-mgmt-containerservice make them in Azure
(``fake-azure aks create``): a subscription-level ``Microsoft.ContainerService/managedClusters`` resource with a
node pool of a real VM size, which SDK v2's ``KubernetesCompute`` attaches by its resource id (no Flask here).

Attaching one to a workspace gives the workspace a hidden AKS compute (``~{cluster}``, a name no v1 compute can
have, left out of v1's lists) holding a copy of the node pool: the scheduler and the gateway then treat it as v1's
clusters. Workspaces attaching the same cluster each schedule on their own copy."""
from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from ... import catalog, error_catalog
from ...errors import BadRequest, NotFound
from ..computes import service as computes
from ..computes.state import ProvisioningState

HIDDEN_PREFIX = "~"  # v1 compute names start with a letter


def resource_id(subscription: str, resource_group: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourcegroups/{resource_group}/providers/" \
           f"Microsoft.ContainerService/managedClusters/{name}"


def create(conn: sqlite3.Connection, payload: dict[str, Any]) -> dict[str, Any]:
    payload = {"nodeCount": 3, "location": "eastus", **payload}  # the schema's defaults (the raw body lacks them)
    vm = catalog.lookup(payload["vmSize"])
    if vm is None:
        raise BadRequest.of(error_catalog.vm_size_not_supported(payload["vmSize"], payload["subscriptionId"],
                                                                payload["location"], catalog.available_names()))
    rid = resource_id(payload["subscriptionId"], payload["resourceGroup"], payload["name"])
    if conn.execute("SELECT 1 FROM managed_clusters WHERE id = ?", (rid.lower(),)).fetchone():
        raise BadRequest(f"A managed cluster {rid} already exists.", code="Conflict")
    body = {"id": rid, "name": payload["name"], "location": payload["location"],
            "type": "Microsoft.ContainerService/ManagedClusters",
            "properties": {"provisioningState": "Succeeded", "agentPoolProfiles": [
                {"name": "nodepool1", "vmSize": vm.name, "count": payload["nodeCount"], "mode": "System"}]},
            "fakeAzure": {"nodes": computes.node_pool(vm, payload["nodeCount"], rid.lower())}}
    conn.execute("INSERT INTO managed_clusters (id, body, created_at) VALUES (?, ?, ?)",
                 (rid.lower(), json.dumps(body), time.time()))
    return body


def list_all(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in conn.execute("SELECT body FROM managed_clusters ORDER BY created_at")]


def delete(conn: sqlite3.Connection, rid: str) -> None:
    if conn.execute("DELETE FROM managed_clusters WHERE id = ?", (rid.lower(),)).rowcount == 0:
        raise NotFound(f"Managed cluster {rid} not found.", code="ResourceNotFound")


def attach_to(conn: sqlite3.Connection, ws_body: dict[str, Any], rid: str) -> str | None:
    """The hidden AKS compute of the workspace for the managed cluster ``rid`` (made on first attach): its name;
    None when no managed cluster has that id."""
    row = conn.execute("SELECT body FROM managed_clusters WHERE id = ?", (rid.lower(),)).fetchone()
    if row is None:
        return None
    cluster = json.loads(row["body"])
    name = HIDDEN_PREFIX + cluster["name"]
    if computes.row(conn, ws_body["id"], name) is None:
        pool = cluster["properties"]["agentPoolProfiles"][0]
        body = {"id": f"{ws_body['id']}/computes/{name}", "name": name, "location": cluster["location"],
                "properties": {"computeType": "AKS", "resourceId": cluster["id"], "isAttachedCompute": True,
                               "provisioningState": ProvisioningState.SUCCEEDED.value,
                               "properties": {"agentVmSize": pool["vmSize"], "agentCount": pool["count"]}},
                "fakeAzure": {"nodes": cluster["fakeAzure"]["nodes"], "managedCluster": cluster["id"]}}
        conn.execute("INSERT INTO computes (workspace_id, name, state, body, created_at) VALUES (?, ?, ?, ?, ?)",
                     (ws_body["id"], name, ProvisioningState.SUCCEEDED.value, json.dumps(body), time.time()))
    return name
