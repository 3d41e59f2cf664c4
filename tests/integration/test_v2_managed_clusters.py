"""AKS clusters made as users make them in Azure, with the real azure-mgmt-containerservice client
(``ContainerServiceClient`` against the local cloud's ARM endpoint): created (201 + Azure-AsyncOperation, Creating
then Succeeded), read, listed and deleted (202 + Location); attached with SDK v2's ``KubernetesCompute`` by
several workspaces, whose pods then share the cluster's one node pool, as on Azure."""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from azure.ai.ml import MLClient
from azure.ai.ml.entities import KubernetesCompute, KubernetesOnlineEndpoint
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import ManagedCluster, ManagedClusterAgentPoolProfile

# The Kubernetes tests' instance types, deployment and model project (a fixture pytest finds in this module).
from test_v2_kubernetes import GPU_TYPES, _deployment, project  # noqa: F401

from emulator.resources.admin import clusters
from emulator.resources.services import service as services
from emulator.scheduler import Unschedulable
from emulator.store import Store

GROUP = "rg-aks-v2"


def _arm() -> str:
    """The local cloud's ARM endpoint, from the cloud metadata activation names for azure-ai-ml."""
    metadata = requests.get(os.environ["ARM_CLOUD_METADATA_URL"], timeout=30).json()
    return str(next(c for c in metadata if c["name"] == os.environ["AZUREML_CURRENT_CLOUD"])["resourceManager"])


@pytest.fixture
def aks(ml_client: MLClient) -> Iterator[ContainerServiceClient]:
    """The AKS management client as a user points it at a custom cloud: its ARM endpoint from the cloud metadata
    (what activation names for azure-ai-ml), the same DefaultAzureCredential. Clusters it made are deleted after."""
    client = ContainerServiceClient(DefaultAzureCredential(), ml_client.subscription_id, base_url=_arm())
    yield client
    for cluster in client.managed_clusters.list_by_resource_group(GROUP):
        try:
            client.managed_clusters.begin_delete(GROUP, cluster.name).result()
        except HttpResponseError:
            pass  # still used by a deployment of a workspace not yet deleted: the session's daemon forgets it


@pytest.fixture
def other_ml_client(ml_client: MLClient) -> Iterator[MLClient]:
    """A second workspace of the same subscription (deleted afterwards, with its deployments)."""
    from fake_azure.core import Workspace

    workspace = Workspace(ml_client.subscription_id, ml_client.resource_group_name, f"ws-{uuid.uuid4().hex[:10]}")
    yield MLClient(DefaultAzureCredential(), workspace.subscription_id, workspace.resource_group, workspace.name)
    workspace.delete()


def _cluster(vm_size: str, count: int, **properties: Any) -> ManagedCluster:
    return ManagedCluster(location="eastus", dns_prefix=properties.pop("dns_prefix", "gpu-dns"), agent_pool_profiles=[
        ManagedClusterAgentPoolProfile(name="gpupool", count=count, vm_size=vm_size, mode="System")], **properties)


def _serving(replica: dict[str, Any]) -> bool:
    """Whether a replica's server accepts connections (on its Unix socket, or its port under Docker)."""
    family, address = (socket.AF_UNIX, replica["socket"]) if replica.get("socket") else (
        socket.AF_INET, ("127.0.0.1", replica["port"]))
    with socket.socket(family) as probe:
        probe.settimeout(5)
        try:
            probe.connect(address)
        except OSError:
            return False
    return True


def _name() -> str:
    return f"gpu-{uuid.uuid4().hex[:8]}"


def test_a_cluster_is_created_read_listed_and_deleted_as_aks_does(aks: ContainerServiceClient,
                                                                  ml_client: MLClient) -> None:
    seen: list[tuple[str, int, dict[str, str]]] = []

    def record(response: Any) -> None:
        http = response.http_response
        seen.append((http.request.method, http.status_code, dict(http.headers)))

    name = _name()
    created = aks.managed_clusters.begin_create_or_update(
        GROUP, name, _cluster("Standard_NC6s_v3", 2, tags={"team": "ml"}), raw_response_hook=record).result()
    method, status, headers = seen[0]
    assert (method, status) == ("PUT", 201) and "Azure-AsyncOperation" in headers
    assert "/providers/Microsoft.ContainerService/locations/eastus/operations/" in headers["Azure-AsyncOperation"]
    assert created.provisioning_state == "Succeeded" and created.tags == {"team": "ml"}
    assert created.id == f"/subscriptions/{ml_client.subscription_id}/resourcegroups/{GROUP}/providers/" \
                         f"Microsoft.ContainerService/managedClusters/{name}"
    assert created.dns_prefix == "gpu-dns" and created.fqdn.endswith(".hcp.eastus.azmk8s.io")
    assert created.node_resource_group == f"MC_{GROUP}_{name}_eastus"
    (pool,) = created.agent_pool_profiles
    assert (pool.name, pool.count, pool.vm_size, pool.mode, pool.os_type) == (
        "gpupool", 2, "Standard_NC6s_v3", "System", "Linux")

    fetched = aks.managed_clusters.get(GROUP, name)
    assert fetched.as_dict() == created.as_dict()
    assert name in [c.name for c in aks.managed_clusters.list()]
    assert name in [c.name for c in aks.managed_clusters.list_by_resource_group(GROUP)]
    assert [(p.name, p.count) for p in aks.agent_pools.list(GROUP, name)] == [("gpupool", 2)]
    assert aks.agent_pools.get(GROUP, name, "gpupool").vm_size == "Standard_NC6s_v3"

    # An update keeps the nodes: the same pools are accepted (200), a different count is refused.
    again = aks.managed_clusters.begin_create_or_update(GROUP, name, _cluster("Standard_NC6s_v3", 2)).result()
    assert again.tags is None and again.agent_pool_profiles[0].count == 2
    with pytest.raises(HttpResponseError, match="agentPoolProfiles") as refused:
        aks.managed_clusters.begin_create_or_update(GROUP, name, _cluster("Standard_NC6s_v3", 3)).result()
    assert refused.value.status_code == 400

    seen.clear()
    aks.managed_clusters.begin_delete(GROUP, name, raw_response_hook=record).result()
    method, status, headers = seen[0]
    assert (method, status) == ("DELETE", 202) and "/operationresults/" in headers["Location"]
    with pytest.raises(ResourceNotFoundError):
        aks.managed_clusters.get(GROUP, name)
    assert name not in [c.name for c in aks.managed_clusters.list()]


def test_an_unknown_vm_size_is_refused(aks: ContainerServiceClient) -> None:
    name = _name()
    with pytest.raises(HttpResponseError, match="Standard_NX99") as refused:
        aks.managed_clusters.begin_create_or_update(GROUP, name, _cluster("Standard_NX99", 1)).result()
    assert refused.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        aks.managed_clusters.get(GROUP, name)


def _raw_put(aks: ContainerServiceClient, name: str, body: dict[str, Any]) -> requests.Response:
    """A cluster PUT as an ARM template or a hand-written REST call sends it (the client drops None fields)."""
    token = DefaultAzureCredential().get_token("https://management.azure.com/.default").token
    url = (f"{_arm().rstrip('/')}/subscriptions/{aks._config.subscription_id}/resourceGroups/{GROUP}/providers/"
           f"Microsoft.ContainerService/managedClusters/{name}?api-version=2024-05-01")
    return requests.put(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def test_bodies_azure_refuses_are_400_and_a_pool_without_count_gets_one_node(aks: ContainerServiceClient) -> None:
    """Found by a probe: 100 pools of 1000 nodes were accepted and placing one pod on them spun the daemon for
    minutes with the database locked; a null count was a 500; a blank location was stored."""
    pool = {"name": "p", "vmSize": "Standard_D3_v2", "mode": "System"}
    too_big = {"location": "eastus", "properties": {"agentPoolProfiles": [
        {**pool, "name": f"p{i}", "count": 1000} for i in range(6)]}}
    refused = _raw_put(aks, _name(), too_big)
    assert refused.status_code == 400 and "at most 5000 nodes" in refused.text, refused.text
    blank = _raw_put(aks, _name(), {"location": "  ", "properties": {"agentPoolProfiles": [{**pool, "count": 1}]}})
    assert blank.status_code == 400, blank.text
    name = _name()
    made = _raw_put(aks, name, {"location": "eastus", "properties": {"agentPoolProfiles": [{**pool, "count": None}]},
                                "sku": {"name": "Base", "tier": "Free"}})
    assert made.status_code == 201, made.text
    assert [p.count for p in aks.managed_clusters.get(GROUP, name).agent_pool_profiles] == [1]
    assert _raw_put(aks, _name(), {"location": "eastus", "sku": 5, "properties": {"agentPoolProfiles": [
        {**pool, "count": 1}]}}).status_code == 400


def test_a_missing_cluster_is_resource_not_found(aks: ContainerServiceClient) -> None:
    with pytest.raises(ResourceNotFoundError, match="was not found") as missing:
        aks.managed_clusters.get(GROUP, "nowhere")
    assert missing.value.status_code == 404 and missing.value.error is not None
    assert missing.value.error.code == "ResourceNotFound"


def test_workspaces_attaching_one_cluster_share_its_gpus(aks: ContainerServiceClient, ml_client: MLClient,
                                                        other_ml_client: MLClient, project: Path,  # noqa: F811
                                                        emulator_home: Path) -> None:
    name = _name()
    cluster = aks.managed_clusters.begin_create_or_update(GROUP, name, _cluster("Standard_NC6s_v3", 2)).result()
    for client in (ml_client, other_ml_client):
        client.compute.begin_create_or_update(KubernetesCompute(
            name="k8s-shared", resource_id=cluster.id, properties={"instanceTypes": GPU_TYPES})).result()
        client.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(
            name=f"shared-{client.workspace_name[-8:]}", compute="k8s-shared", auth_mode="key")).result()
    first, second = (f"shared-{c.workspace_name[-8:]}" for c in (ml_client, other_ml_client))
    ml_client.online_deployments.begin_create_or_update(_deployment(
        project, first, instance_type="gpu", instance_count=1)).result()
    other_ml_client.online_deployments.begin_create_or_update(_deployment(
        project, second, instance_type="gpu", instance_count=1)).result()

    with sqlite3.connect(emulator_home / "state.db") as conn:
        replicas = [r for (body,) in conn.execute("SELECT body FROM services WHERE name IN (?, ?)",
                                                  (f"{first}~blue", f"{second}~blue"))
                    for r in json.loads(body)["fakeAzure"]["replicas"]]
    # Two pods of two workspaces on the cluster's two nodes (the same names in both), one GPU each.
    assert len(replicas) == 2 and len({r["node"] for r in replicas}) == 2
    assert all(r["node"].startswith("aks-gpupool-") and len(r["gpuIds"]) == 1 for r in replicas)
    (project / "request.json").write_text(json.dumps({"data": [4]}))
    for client, endpoint in ((ml_client, first), (other_ml_client, second)):
        assert json.loads(client.online_endpoints.invoke(endpoint_name=endpoint, deployment_name="blue",
                                                         request_file=str(project / "request.json")))["doubled"] == [8]

    # A third pod: the second workspace's cluster is the first's, whose two GPUs are taken.
    with pytest.raises(HttpResponseError, match="Insufficient nvidia.com/gpu"):
        other_ml_client.online_deployments.begin_create_or_update(_deployment(
            project, second, name="green", instance_type="gpu", instance_count=1)).result()

    # Deleting the cluster under running pods (Azure allows it): the deployments fail, their pods stop, the
    # computes attached to it report Failed.
    assert all(_serving(r) for r in replicas)
    aks.managed_clusters.begin_delete(GROUP, name).result()
    assert not any(_serving(r) for r in replicas)  # their processes are gone
    for client, endpoint in ((ml_client, first), (other_ml_client, second)):
        assert client.online_deployments.get(name="blue", endpoint_name=endpoint).provisioning_state == "Failed"
        with pytest.raises(HttpResponseError):
            client.online_endpoints.invoke(endpoint_name=endpoint, deployment_name="blue",
                                           request_file=str(project / "request.json"))
    assert ml_client.compute.get("k8s-shared").provisioning_state == "Failed"
    with pytest.raises(HttpResponseError, match="no longer exists"):
        ml_client.online_deployments.begin_create_or_update(_deployment(
            project, first, name="red", instance_type="small", instance_count=1)).result()
    with pytest.raises(HttpResponseError, match="was not found") as gone:  # attaching it again
        ml_client.compute.begin_create_or_update(KubernetesCompute(
            name="k8s-shared", resource_id=cluster.id)).result()
    assert gone.value.status_code == 400


def test_a_v1_cluster_of_another_workspace_is_attached_and_shared(ml_client: MLClient, aml_workspace: Any,
                                                                  other_ml_client: MLClient, project: Path,  # noqa: F811
                                                                  ) -> None:
    """One AKS cluster attached to several workspaces: a v1 AksCompute of the first, attached by the second."""
    from fake_azure.core.compute import AksCompute, ComputeTarget

    target = ComputeTarget.create(aml_workspace, "aks-v1-gpu", AksCompute.provisioning_configuration(
        vm_size="Standard_NC6s_v3", agent_count=2))
    target.wait_for_completion()
    attached = other_ml_client.compute.begin_create_or_update(KubernetesCompute(
        name="k8s-theirs", resource_id=target.cluster_resource_id, properties={"instanceTypes": GPU_TYPES})).result()
    assert attached.provisioning_state == "Succeeded"
    ml_client.compute.begin_create_or_update(KubernetesCompute(
        name="k8s-mine", resource_id=target.cluster_resource_id, properties={"instanceTypes": GPU_TYPES})).result()
    ml_client.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(name="v1-mine", compute="k8s-mine"))\
        .result()
    ml_client.online_deployments.begin_create_or_update(_deployment(
        project, "v1-mine", instance_type="gpu", instance_count=2)).result()
    other_ml_client.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(
        name="v1-theirs", compute="k8s-theirs")).result()
    with pytest.raises(HttpResponseError, match="0/2 nodes are available: 2 Insufficient nvidia.com/gpu"):
        other_ml_client.online_deployments.begin_create_or_update(_deployment(
            project, "v1-theirs", instance_type="gpu", instance_count=1)).result()


def test_placement_counts_the_pods_of_every_workspace_on_the_cluster(tmp_path: Path) -> None:
    """Unit level: the hidden computes of two workspaces for one cluster share its allocations."""
    store = Store(tmp_path / "state.db")
    spec = {"location": "eastus", "properties": {"agentPoolProfiles": [
        {"name": "gpupool", "vmSize": "Standard_NC6s_v3", "count": 2}]}}
    workspaces = [{"id": f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
                         f"workspaces/{w}", "name": w} for w in ("a", "b")]
    with store.transaction() as conn:
        cluster, _ = clusters.put(conn, "s", "rg", "shared", spec)
        hidden = [clusters.attach_to(conn, ws, cluster["id"].upper()) for ws in workspaces]
        assert hidden == ["~aks-shared", "~aks-shared"]

        def pod(ws: dict[str, Any], name: str) -> dict[str, Any]:
            body = {"name": name, "computeType": "AKS", "computeName": "~aks-shared",
                    "containerResourceRequirements": {"cpu": 1, "memoryInGB": 1, "gpu": 1}}
            body["fakeAzure"] = {"replicas": services.plan_replicas(conn, ws["id"], body, 1)}
            conn.execute("INSERT INTO services (workspace_id, name, compute_name, state, body, secrets, created_at) "
                         "VALUES (?, ?, ?, 'Healthy', ?, '{}', 0)", (ws["id"], name, "~aks-shared", json.dumps(body)))
            return body

        first, second = pod(workspaces[0], "one"), pod(workspaces[1], "two")
        assert {first["fakeAzure"]["replicas"][0]["node"], second["fakeAzure"]["replicas"][0]["node"]} == {
            n["name"] for n in cluster["fakeAzure"]["nodes"]}
        with pytest.raises(Unschedulable, match="2 Insufficient nvidia.com/gpu"):
            pod(workspaces[0], "three")
        # Re-placing a service of one workspace does not count a same-named service of the other as its own.
        replaced = services.plan_replicas(conn, workspaces[1]["id"], {**first, "name": "two"}, 1)
        assert replaced[0]["node"] == second["fakeAzure"]["replicas"][0]["node"]
