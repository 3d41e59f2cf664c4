"""SDK v2 on Kubernetes with the real azure-ai-ml client (1.35): an AKS cluster made with v1's AksCompute is
attached as a KubernetesCompute with its instance types; a KubernetesOnlineEndpoint's deployments are pods on that
cluster's node pool, placed by the same scheduler as v1 services (a GPU instance type on a CPU-only cluster fails
with the Kubernetes scheduler's message), autoscaled with TargetUtilization settings, and scored through the
endpoint as managed ones are; mirror traffic is refused on Kubernetes endpoints (Azure's rule)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    KubernetesCompute,
    KubernetesOnlineDeployment,
    KubernetesOnlineEndpoint,
    ManagedOnlineDeployment,
    Model,
    OnlineRequestSettings,
    ResourceRequirementsSettings,
    ResourceSettings,
    TargetUtilizationScaleSettings,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

SCORE = ("import json, os\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return {'doubled': [x * 2 for x in "
         "json.loads(raw_data)['data']], 'gpus': os.environ.get('CUDA_VISIBLE_DEVICES')}\n")
GPU_TYPES = {"gpu": {"nodeSelector": {"agentpool": "gpu"},
                     "resources": {"requests": {"cpu": "2", "memory": "8Gi"},
                                   "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}}},
             "small": {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1"}}}}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text("{}")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    (tmp_path / "env.yml").write_text("name: k8s\ndependencies:\n  - python=3.11\n")
    return tmp_path


def _cluster(aml_workspace: Any, name: str, vm_size: str) -> str:
    """An AKS cluster made as the seed makes it, with v1's AksCompute: its ARM resource id."""
    from fake_azure.core.compute import AksCompute, ComputeTarget

    target = ComputeTarget.create(aml_workspace, name, AksCompute.provisioning_configuration(
        vm_size=vm_size, agent_count=3))
    target.wait_for_completion()
    return str(target.cluster_resource_id)


def _attach(ml_client: Any, aml_workspace: Any, name: str, vm_size: str, **properties: Any) -> Any:
    resource_id = _cluster(aml_workspace, f"aks-{name}", vm_size)
    return ml_client.compute.begin_create_or_update(KubernetesCompute(
        name=name, resource_id=resource_id, namespace="azureml", properties=properties or None)).result()


def _deployment(project: Path, endpoint: str, **settings: Any) -> KubernetesOnlineDeployment:
    return KubernetesOnlineDeployment(
        name=settings.pop("name", "blue"), endpoint_name=endpoint, model=Model(path=str(project / "model")),
        environment=Environment(conda_file=str(project / "env.yml"),
                                image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"),
        code_configuration=CodeConfiguration(code=str(project / "src"), scoring_script="score.py"), **settings)


def _core(emulator_home: Path, ml_client: Any, name: str) -> dict[str, Any]:
    with sqlite3.connect(emulator_home / "state.db") as conn:
        (body,) = conn.execute("SELECT body FROM services WHERE name = ? AND workspace_id LIKE ?",
                               (name, f"%/{ml_client.workspace_name}")).fetchone()
    return dict(json.loads(body))


def test_attach_keeps_the_instance_types_and_adds_the_default_one(ml_client: Any, aml_workspace: Any) -> None:
    attached = _attach(ml_client, aml_workspace, "k8s-gpu", "Standard_NC6",
                       instanceTypes=GPU_TYPES, defaultInstanceType="small")
    assert attached.type == "kubernetes" and attached.namespace == "azureml"
    assert attached.provisioning_state == "Succeeded"
    fetched = ml_client.compute.get("k8s-gpu")
    assert fetched.properties["instanceTypes"] == GPU_TYPES and fetched.properties["defaultInstanceType"] == "small"
    assert [c.name for c in ml_client.compute.list()] == ["k8s-gpu"]

    plain = _attach(ml_client, aml_workspace, "k8s-cpu", "Standard_D3_v2")
    assert plain.properties["defaultInstanceType"] == "defaultinstancetype"  # Azure's, made on attach
    assert plain.properties["instanceTypes"]["defaultinstancetype"]["resources"]["requests"] == {
        "cpu": "100m", "memory": "2Gi"}

    ml_client.compute.begin_delete("k8s-cpu").result()  # a detach: the AKS cluster stays
    with pytest.raises(ResourceNotFoundError):
        ml_client.compute.get("k8s-cpu")


def test_a_cluster_the_local_cloud_does_not_know_is_refused(ml_client: Any) -> None:
    unknown = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/"
               "Microsoft.ContainerService/managedClusters/nowhere")
    with pytest.raises(HttpResponseError, match="was not found") as refused:
        ml_client.compute.begin_create_or_update(KubernetesCompute(name="k8s-none", resource_id=unknown)).result()
    assert refused.value.status_code == 400


def test_a_kubernetes_deployment_runs_on_the_cluster_and_serves(ml_client: Any, aml_workspace: Any, project: Path,
                                                               emulator_home: Path) -> None:
    attached = _attach(ml_client, aml_workspace, "k8s-gpu", "Standard_NC6", instanceTypes=GPU_TYPES,
                       defaultInstanceType="small")
    endpoint = KubernetesOnlineEndpoint(name="k8s-digits", compute=attached.name, auth_mode="key")
    created = ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    assert created.compute.endswith("/computes/k8s-gpu")
    deployed = ml_client.online_deployments.begin_create_or_update(_deployment(
        project, "k8s-digits", instance_type="gpu", instance_count=2)).result()
    assert deployed.provisioning_state == "Succeeded" and deployed.instance_type == "gpu"
    assert type(ml_client.online_deployments.get(name="blue", endpoint_name="k8s-digits")).__name__ == \
        "KubernetesOnlineDeployment"

    core = _core(emulator_home, ml_client, "k8s-digits~blue")
    assert core["computeName"] == "aks-k8s-gpu"  # the v1 cluster's node pool and gateway
    replicas = core["fakeAzure"]["replicas"]
    assert [(r["cpu"], r["memoryGb"], len(r["gpuIds"])) for r in replicas] == [(2.0, 8.0, 1)] * 2
    assert core["containerResourceRequirements"]["cpuLimit"] == 4.0
    assert all(r["node"].startswith("aks-agentpool-") for r in replicas)

    endpoint.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    (project / "request.json").write_text(json.dumps({"data": [1, 2]}))
    answer = json.loads(ml_client.online_endpoints.invoke(endpoint_name="k8s-digits",
                                                          request_file=str(project / "request.json")))
    assert answer["doubled"] == [2, 4]

    # The deployment's own resources override its instance type's; the default instance type applies.
    ml_client.online_deployments.begin_create_or_update(_deployment(
        project, "k8s-digits", name="green", instance_count=1,
        resources=ResourceRequirementsSettings(requests=ResourceSettings(cpu="750m", memory="3Gi")))).result()
    green = _core(emulator_home, ml_client, "k8s-digits~green")["fakeAzure"]["replicas"]
    assert [(r["cpu"], r["memoryGb"], r["gpuIds"]) for r in green] == [(0.75, 3.0, [])]


def test_a_gpu_instance_type_on_a_cluster_without_gpus_fails_with_the_schedulers_message(
        ml_client: Any, aml_workspace: Any, project: Path) -> None:
    attached = _attach(ml_client, aml_workspace, "k8s-cpu", "Standard_D3_v2", instanceTypes=GPU_TYPES)
    ml_client.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(
        name="k8s-cpu-ep", compute=attached.name)).result()
    with pytest.raises(HttpResponseError) as failed:
        ml_client.online_deployments.begin_create_or_update(_deployment(
            project, "k8s-cpu-ep", instance_type="gpu", instance_count=1)).result()
    assert failed.value.error is not None and failed.value.error.code == "OutOfQuota"
    assert "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." in failed.value.error.message
    assert ml_client.online_deployments.get(name="blue", endpoint_name="k8s-cpu-ep").provisioning_state == "Failed"

    # An update that fits nowhere is refused and the running pods keep serving (Kubernetes keeps the old
    # ReplicaSet); here the refusal comes at once.
    ml_client.online_deployments.begin_create_or_update(_deployment(
        project, "k8s-cpu-ep", name="cpu", instance_type="small", instance_count=1)).result()
    with pytest.raises(HttpResponseError, match="Insufficient nvidia.com/gpu") as refused:
        ml_client.online_deployments.begin_create_or_update(_deployment(
            project, "k8s-cpu-ep", name="cpu", instance_type="gpu", instance_count=1)).result()
    assert refused.value.status_code == 400
    kept = ml_client.online_deployments.get(name="cpu", endpoint_name="k8s-cpu-ep")
    assert (kept.provisioning_state, kept.instance_type) == ("Succeeded", "small")
    (project / "request.json").write_text(json.dumps({"data": [3]}))
    assert json.loads(ml_client.online_endpoints.invoke(endpoint_name="k8s-cpu-ep", deployment_name="cpu",
                                                        request_file=str(project / "request.json")))["doubled"] == [6]

    with pytest.raises(HttpResponseError, match="not defined on compute k8s-cpu"):
        ml_client.online_deployments.begin_create_or_update(_deployment(
            project, "k8s-cpu-ep", name="green", instance_type="huge", instance_count=1)).result()


def test_target_utilization_scale_settings_drive_the_autoscaler(ml_client: Any, aml_workspace: Any, project: Path,
                                                                emulator_home: Path) -> None:
    attached = _attach(ml_client, aml_workspace, "k8s-auto", "Standard_D3_v2")
    ml_client.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(
        name="k8s-auto-ep", compute=attached.name)).result()
    scale = TargetUtilizationScaleSettings(min_instances=2, max_instances=4, polling_interval=1,
                                           target_utilization_percentage=50)
    deployed = ml_client.online_deployments.begin_create_or_update(_deployment(
        project, "k8s-auto-ep", scale_settings=scale)).result()
    assert deployed.scale_settings.type == "target_utilization"
    assert (deployed.scale_settings.min_instances, deployed.scale_settings.max_instances) == (2, 4)
    core = _core(emulator_home, ml_client, "k8s-auto-ep~blue")
    assert core["autoScaler"] == {"autoscaleEnabled": True, "minReplicas": 2, "maxReplicas": 4,
                                  "targetUtilization": 50, "refreshPeriodInSeconds": 1}
    assert len(core["fakeAzure"]["replicas"]) == 2  # the minimum, as v1's autoscaled services start

    backwards = TargetUtilizationScaleSettings(min_instances=3, max_instances=1)
    with pytest.raises(HttpResponseError, match="minInstances cannot be more than maxInstances"):
        ml_client.online_deployments.begin_create_or_update(_deployment(
            project, "k8s-auto-ep", name="green", scale_settings=backwards)).result()


def test_kubernetes_endpoint_rules(ml_client: Any, aml_workspace: Any, project: Path) -> None:
    attached = _attach(ml_client, aml_workspace, "k8s-rules", "Standard_D3_v2")
    endpoint = KubernetesOnlineEndpoint(name="k8s-rules-ep", compute=attached.name)
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    ml_client.online_deployments.begin_create_or_update(_deployment(project, "k8s-rules-ep")).result()
    ml_client.online_deployments.begin_create_or_update(_deployment(project, "k8s-rules-ep", name="green")).result()
    endpoint.traffic, endpoint.mirror_traffic = {"blue": 100}, {"green": 10}
    with pytest.raises(HttpResponseError, match="not supported on Kubernetes online endpoints"):
        ml_client.online_endpoints.begin_create_or_update(endpoint).result()

    managed = ManagedOnlineDeployment(
        name="red", endpoint_name="k8s-rules-ep", model=Model(path=str(project / "model")),
        environment=Environment(conda_file=str(project / "env.yml"), image="mcr.microsoft.com/azureml/x"),
        code_configuration=CodeConfiguration(code=str(project / "src"), scoring_script="score.py"),
        instance_type="Standard_DS3_v2", instance_count=1)
    with pytest.raises(HttpResponseError, match="which is a Kubernetes endpoint"):
        ml_client.online_deployments.begin_create_or_update(managed).result()

    with pytest.raises(HttpResponseError, match="not an attached Kubernetes compute"):
        ml_client.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(
            name="k8s-nowhere", compute="no-such-compute")).result()


def test_a_kubernetes_deployment_answers_as_its_clusters_front_end(ml_client: Any, aml_workspace: Any,
                                                                    project: Path) -> None:
    """Kubernetes endpoints answer as Azure's table for them says: an exception in run() is 502 (where a managed
    endpoint answers 424), a request past request_timeout_ms 504, every time (the scoring server's own timeout
    no longer races the front end's); an init() that keeps failing is DeploymentCrashLoopBackOff."""
    (project / "src" / "score.py").write_text(
        "import json, time\n\ndef init():\n    pass\n\ndef run(raw_data):\n    data = json.loads(raw_data)['data']\n"
        "    if data == [2]:\n        time.sleep(3)\n    raise ValueError('no')\n")
    attached = _attach(ml_client, aml_workspace, "k8s-fe", "Standard_D3_v2")
    endpoint = KubernetesOnlineEndpoint(name="k8s-fe-ep", compute=attached.name, auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    ml_client.online_deployments.begin_create_or_update(_deployment(
        project, "k8s-fe-ep", request_settings=OnlineRequestSettings(request_timeout_ms=1000))).result()
    endpoint.traffic = {"blue": 100}
    scoring_uri = ml_client.online_endpoints.begin_create_or_update(endpoint).result().scoring_uri
    auth = {"Authorization": "Bearer " + ml_client.online_endpoints.get_keys("k8s-fe-ep").primary_key}
    failed = requests.post(scoring_uri, json={"data": [1]}, headers=auth, timeout=30)
    assert failed.status_code == 502 and "ms-azureml-model-error-statuscode" not in failed.headers
    slow = [requests.post(scoring_uri, json={"data": [2]}, headers=auth, timeout=30).status_code for _ in range(4)]
    assert slow == [504] * 4

    (project / "src" / "score.py").write_text("def init():\n    raise RuntimeError('no')\n\ndef run(d):\n"
                                              "    return d\n")
    with pytest.raises(HttpResponseError, match="DeploymentCrashLoopBackOff"):
        ml_client.online_deployments.begin_create_or_update(_deployment(project, "k8s-fe-ep", name="green")).result()


def test_a_cluster_made_outside_any_workspace_is_attached_and_serves(ml_client: Any, aml_workspace: Any,
                                                                     project: Path, emulator_home: Path) -> None:
    """As `az aks create` makes one: `fake-azure aks create` gives a managedClusters resource id, which
    KubernetesCompute attaches; v1's compute list does not show it (it is not a workspace compute)."""
    import os
    import subprocess
    import sys

    from fake_azure.core.compute import ComputeTarget

    env = {**os.environ, "FAKE_AZURE_HOME": str(emulator_home)}
    made = subprocess.run([sys.executable, "-m", "emulator", "aks", "create", "-n", f"gpu-{ml_client.workspace_name}",
                           "-g", "rg-aks", "-s", "Standard_NC6", "-c", "2"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    resource_id = made.stdout.strip()
    assert "/providers/Microsoft.ContainerService/managedClusters/gpu-" in resource_id
    attached = ml_client.compute.begin_create_or_update(KubernetesCompute(
        name="k8s-made", resource_id=resource_id, properties={"instanceTypes": GPU_TYPES})).result()
    ml_client.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(
        name="k8s-made-ep", compute=attached.name, auth_mode="key", traffic={})).result()
    ml_client.online_deployments.begin_create_or_update(_deployment(
        project, "k8s-made-ep", instance_type="gpu", instance_count=2)).result()
    core = _core(emulator_home, ml_client, "k8s-made-ep~blue")
    assert [len(r["gpuIds"]) for r in core["fakeAzure"]["replicas"]] == [1, 1]
    (project / "request.json").write_text(json.dumps({"data": [5]}))
    assert json.loads(ml_client.online_endpoints.invoke(endpoint_name="k8s-made-ep", deployment_name="blue",
                                                        request_file=str(project / "request.json")))["doubled"] == [10]
    assert [c.name for c in ComputeTarget.list(aml_workspace)] == []

    with pytest.raises(HttpResponseError, match="Insufficient nvidia.com/gpu"):  # its 2 nodes hold 2 GPUs
        ml_client.online_deployments.begin_create_or_update(_deployment(
            project, "k8s-made-ep", name="green", instance_type="gpu", instance_count=1)).result()
    subprocess.run([sys.executable, "-m", "emulator", "aks", "delete", "-n", f"gpu-{ml_client.workspace_name}",
                    "-g", "rg-aks"], env=env, capture_output=True, timeout=120, check=True)


def test_a_deployment_naming_no_instance_type_gets_azures_default_one(ml_client: Any, aml_workspace: Any,
                                                                      project: Path, emulator_home: Path) -> None:
    """Azure makes defaultinstancetype on attach even beside the types given, and a deployment without an
    instance_type gets it (before, the first given type alphabetically became the default: here a GPU pod)."""
    attached = _attach(ml_client, aml_workspace, "k8s-own", "Standard_NC6", instanceTypes={"gpu": GPU_TYPES["gpu"]})
    assert attached.properties["defaultInstanceType"] == "defaultinstancetype"
    assert attached.properties["instanceTypes"] == {"gpu": GPU_TYPES["gpu"]}  # kept as given
    ml_client.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(
        name="k8s-own-ep", compute="k8s-own", auth_mode="key")).result()
    ml_client.online_deployments.begin_create_or_update(_deployment(project, "k8s-own-ep")).result()
    ml_client.online_deployments.begin_create_or_update(_deployment(
        project, "k8s-own-ep", name="named", instance_type="defaultinstancetype")).result()
    for name in ("blue", "named"):
        (pod,) = _core(emulator_home, ml_client, f"k8s-own-ep~{name}")["fakeAzure"]["replicas"]
        assert (pod["gpuIds"], pod["cpu"], pod["memoryGb"]) == ([], 0.1, 2.0), name


def test_requests_above_limits_are_refused(ml_client: Any, aml_workspace: Any, project: Path) -> None:
    """Kubernetes refuses a container whose request exceeds its limit; so do the instance type and the
    deployment's own resources here, before anything runs."""
    greedy = {"big": {"resources": {"requests": {"cpu": "4", "memory": "1Gi"}, "limits": {"cpu": "1"}}}}
    with pytest.raises(HttpResponseError, match="less than or equal to limits"):
        _attach(ml_client, aml_workspace, "k8s-greedy", "Standard_D3_v2", instanceTypes=greedy)
    _attach(ml_client, aml_workspace, "k8s-fair", "Standard_D3_v2", instanceTypes=GPU_TYPES)
    ml_client.online_endpoints.begin_create_or_update(KubernetesOnlineEndpoint(
        name="k8s-fair-ep", compute="k8s-fair", auth_mode="key")).result()
    resources = ResourceRequirementsSettings(requests=ResourceSettings(cpu="1", memory="8Gi"),
                                             limits=ResourceSettings(memory="1Gi"))
    with pytest.raises(HttpResponseError, match="memory request 8Gi is more than its limit 1Gi"):
        ml_client.online_deployments.begin_create_or_update(_deployment(
            project, "k8s-fair-ep", instance_type="small", resources=resources)).result()


def test_deleting_the_v1_aks_compute_takes_the_clusters_pods_with_it(ml_client: Any, aml_workspace: Any,
                                                                     project: Path, emulator_home: Path) -> None:
    """ComputeTarget.delete() deletes the AKS cluster (underlyingResourceAction=delete): the deployments on it fail
    and their pods stop, as for a managed cluster deleted under its workspaces (before, they went on serving and
    read Succeeded on a cluster that no longer existed)."""
    from fake_azure.core.compute import ComputeTarget

    _attach(ml_client, aml_workspace, "k8s-doomed", "Standard_D3_v2")
    endpoint = KubernetesOnlineEndpoint(name="k8s-doomed-ep", compute="k8s-doomed", auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    ml_client.online_deployments.begin_create_or_update(_deployment(project, "k8s-doomed-ep")).result()
    endpoint.traffic = {"blue": 100}
    uri = ml_client.online_endpoints.begin_create_or_update(endpoint).result().scoring_uri
    auth = {"Authorization": "Bearer " + ml_client.online_endpoints.get_keys("k8s-doomed-ep").primary_key}
    assert requests.post(uri, json={"data": [1]}, headers=auth, timeout=30).status_code == 200

    cluster = ComputeTarget(aml_workspace, "aks-k8s-doomed")
    cluster.delete()
    cluster.wait_for_completion(is_delete_operation=True)
    deployment = ml_client.online_deployments.get(name="blue", endpoint_name="k8s-doomed-ep")
    assert deployment.provisioning_state == "Failed"
    answer = requests.post(uri, json={"data": [1]}, headers=auth, timeout=30)
    assert answer.status_code == 404 and "No valid deployments to route to" in answer.text
    pods = _core(emulator_home, ml_client, "k8s-doomed-ep~blue")["fakeAzure"]["replicas"]
    assert pods and all(p["state"] != "Running" for p in pods)
    assert ml_client.compute.get("k8s-doomed").provisioning_state == "Failed"
