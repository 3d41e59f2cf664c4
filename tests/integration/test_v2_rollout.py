"""Safe rollout as Microsoft's guide does it (how-to-safely-rollout-online-endpoints), with the real azure-ai-ml
client (1.35): blue serves; green is deployed at 0% and smoke-tested by the azureml-model-deployment header; traffic
moves to green in steps; blue is scaled down and deleted. And an update of a deployment's code replaces its
replicas without dropping a request: the old ones serve until the new ones are ready."""
from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.ai.ml.constants._endpoint import EndpointInvokeFields
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
)
from azure.core.exceptions import HttpResponseError
from polling import poll

SCORE = "def init():\n    pass\n\ndef run(raw_data):\n    return {{'version': '{version}'}}\n"


def _deployment(root: Path, name: str, version: str, count: int = 1) -> ManagedOnlineDeployment:
    code = root / f"src-{version}"
    code.mkdir(exist_ok=True)
    (code / "score.py").write_text(SCORE.format(version=version))
    (root / "model").mkdir(exist_ok=True)
    (root / "model" / "weights.json").write_text("{}")
    (root / "env.yml").write_text("name: rollout\ndependencies:\n  - python=3.11\n")
    return ManagedOnlineDeployment(
        name=name, endpoint_name="rollout", model=Model(path=str(root / "model")),
        environment=Environment(conda_file=str(root / "env.yml"),
                                image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"),
        code_configuration=CodeConfiguration(code=str(code), scoring_script="score.py"),
        instance_type="Standard_DS3_v2", instance_count=count)


def _versions(uri: str, auth: dict[str, str], n: int) -> list[str]:
    return [requests.post(uri, json={}, headers=auth, timeout=30).json()["version"] for _ in range(n)]


def _update_while_scoring(uri: str, auth: dict[str, str], update: Any) -> None:
    """Score the endpoint without pause while ``update`` (v1 code to v2) runs, until the new code answers: every
    answer must be 200, the old code's first, the new code's last."""
    answers: list[tuple[int, str]] = []
    done = threading.Event()

    def keep_scoring() -> None:
        session = requests.Session()
        while not done.is_set():
            answer = session.post(uri, json={}, headers=auth, timeout=30)
            answers.append((answer.status_code, answer.text))

    caller = threading.Thread(target=keep_scoring)
    caller.start()
    try:
        update()
        poll(lambda: any('"v2"' in text for _, text in answers[-3:]), timeout=30)  # the caller saw the new code
    finally:
        done.set()
        caller.join(timeout=60)
    failed = [a for a in answers if a[0] != 200]
    assert not failed, failed[:5]
    assert any('"v1"' in text for _, text in answers) and '"v2"' in answers[-1][1]


def test_blue_green_as_the_safe_rollout_guide_does_it(ml_client: Any, tmp_path: Path) -> None:
    endpoint = ManagedOnlineEndpoint(name="rollout", auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    ml_client.online_deployments.begin_create_or_update(_deployment(tmp_path, "blue", "v1", count=2)).result()
    endpoint.traffic = {"blue": 100}
    uri = ml_client.online_endpoints.begin_create_or_update(endpoint).result().scoring_uri
    auth = {"Authorization": "Bearer " + ml_client.online_endpoints.get_keys("rollout").primary_key}
    assert set(_versions(uri, auth, 4)) == {"v1"}

    ml_client.online_deployments.begin_create_or_update(_deployment(tmp_path, "green", "v2")).result()
    assert ml_client.online_endpoints.get("rollout").traffic == {"blue": 100, "green": 0}
    assert set(_versions(uri, auth, 4)) == {"v1"}  # green takes nothing yet
    (tmp_path / "sample.json").write_text("{}")
    smoke = ml_client.online_endpoints.invoke(endpoint_name="rollout", deployment_name="green",
                                              request_file=str(tmp_path / "sample.json"))
    assert json.loads(smoke) == {"version": "v2"}
    EndpointInvokeFields.DEFAULT_HEADER.pop(EndpointInvokeFields.MODEL_DEPLOYMENT, None)

    for green in (10, 50, 100):
        endpoint.traffic = {"blue": 100 - green, "green": green}
        ml_client.online_endpoints.begin_create_or_update(endpoint).result()
        seen = _versions(uri, auth, 10)
        assert seen.count("v2") == green // 10, (green, seen)

    blue = ml_client.online_deployments.get(name="blue", endpoint_name="rollout")
    blue.instance_count = 1  # scaled down from 2 before it goes
    ml_client.online_deployments.begin_create_or_update(blue).result()
    assert ml_client.online_deployments.get(name="blue", endpoint_name="rollout").instance_count == 1
    ml_client.online_deployments.begin_delete(name="blue", endpoint_name="rollout").result()
    assert [d.name for d in ml_client.online_deployments.list(endpoint_name="rollout")] == ["green"]
    assert set(_versions(uri, auth, 4)) == {"v2"}


def test_updating_a_deployments_code_drops_no_request(ml_client: Any, tmp_path: Path) -> None:
    endpoint = ManagedOnlineEndpoint(name="rollout", auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    ml_client.online_deployments.begin_create_or_update(_deployment(tmp_path, "blue", "v1")).result()
    endpoint.traffic = {"blue": 100}
    uri = ml_client.online_endpoints.begin_create_or_update(endpoint).result().scoring_uri
    auth = {"Authorization": "Bearer " + ml_client.online_endpoints.get_keys("rollout").primary_key}

    _update_while_scoring(uri, auth, lambda: ml_client.online_deployments.begin_create_or_update(
        _deployment(tmp_path, "blue", "v2")).result())


def test_a_failed_update_leaves_the_old_replicas_serving(ml_client: Any, tmp_path: Path) -> None:
    """An update whose init() fails ends Failed with ResourceNotReady, and the replicas it was to replace go on
    answering (Kubernetes keeps the old ReplicaSet's pods when a rollout's new ones never become ready); a
    fixed update then replaces them."""
    endpoint = ManagedOnlineEndpoint(name="rollout", auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    ml_client.online_deployments.begin_create_or_update(_deployment(tmp_path, "blue", "v1")).result()
    endpoint.traffic = {"blue": 100}
    uri = ml_client.online_endpoints.begin_create_or_update(endpoint).result().scoring_uri
    auth = {"Authorization": "Bearer " + ml_client.online_endpoints.get_keys("rollout").primary_key}
    broken = _deployment(tmp_path, "blue", "v2")
    (tmp_path / "src-v2" / "score.py").write_text("def init():\n    raise RuntimeError('no')\n\ndef run(d):\n"
                                                  "    return d\n")
    with pytest.raises(HttpResponseError, match="ResourceNotReady"):
        ml_client.online_deployments.begin_create_or_update(broken).result()
    assert ml_client.online_deployments.get(name="blue", endpoint_name="rollout").provisioning_state == "Failed"
    assert set(_versions(uri, auth, 3)) == {"v1"}

    ml_client.online_deployments.begin_create_or_update(_deployment(tmp_path, "blue", "v3")).result()
    assert set(_versions(uri, auth, 3)) == {"v3"}


def test_a_deployment_that_fails_to_start_answers_as_azure_without_naming_the_core_record(
        ml_client: Any, tmp_path: Path) -> None:
    """A deployment whose init() fails from the start has nothing serving: scoring it is Azure's 404 "No valid
    deployments to route to", not the gateway's "Service rollout~blue not found"."""
    endpoint = ManagedOnlineEndpoint(name="rollout", auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    broken = _deployment(tmp_path, "blue", "v1")
    (tmp_path / "src-v1" / "score.py").write_text("def init():\n    raise RuntimeError('no')\n\ndef run(d):\n"
                                                  "    return d\n")
    with pytest.raises(HttpResponseError, match="ResourceNotReady"):
        ml_client.online_deployments.begin_create_or_update(broken).result()
    endpoint.traffic = {"blue": 100}
    uri = ml_client.online_endpoints.begin_create_or_update(endpoint).result().scoring_uri
    auth = {"Authorization": "Bearer " + ml_client.online_endpoints.get_keys("rollout").primary_key}
    answer = requests.post(uri, json={}, headers=auth, timeout=30)
    assert answer.status_code == 404 and "No valid deployments to route to" in answer.text
    assert "~" not in answer.text


def test_updating_a_gpu_kubernetes_deployment_drops_no_request(ml_client: Any, aml_workspace: Any,
                                                               tmp_path: Path, emulator_home: Path) -> None:
    """A rolling update on a GPU cluster with a free GPU: the new pod is placed on it beside the old one, which
    serves until the new one is ready (before, GPU replicas were stopped first and requests failed meanwhile)."""
    from azure.ai.ml.entities import KubernetesCompute, KubernetesOnlineDeployment, KubernetesOnlineEndpoint

    from fake_azure.core.compute import AksCompute, ComputeTarget

    cluster = ComputeTarget.create(aml_workspace, "aks-gpu", AksCompute.provisioning_configuration(
        vm_size="Standard_NC6s_v3", agent_count=3))  # three nodes of one V100 each
    cluster.wait_for_completion()
    gpu = {"gpu": {"resources": {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"nvidia.com/gpu": "1"}}}}
    ml_client.compute.begin_create_or_update(KubernetesCompute(
        name="k8s-gpu", resource_id=cluster.cluster_resource_id, properties={"instanceTypes": gpu})).result()
    endpoint = KubernetesOnlineEndpoint(name="rollout-gpu", compute="k8s-gpu", auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()

    def deployment(version: str) -> KubernetesOnlineDeployment:
        managed = _deployment(tmp_path, "blue", version)
        return KubernetesOnlineDeployment(
            name="blue", endpoint_name="rollout-gpu", model=managed.model, environment=managed.environment,
            code_configuration=managed.code_configuration, instance_type="gpu", instance_count=1)

    def placed() -> list[tuple[str, list[int]]]:
        with sqlite3.connect(emulator_home / "state.db") as conn:
            (body,) = conn.execute("SELECT body FROM services WHERE name = 'rollout-gpu~blue' AND workspace_id "
                                   "LIKE ?", (f"%/{ml_client.workspace_name}",)).fetchone()
        return [(r["node"], r["gpuIds"]) for r in json.loads(body)["fakeAzure"]["replicas"]]

    ml_client.online_deployments.begin_create_or_update(deployment("v1")).result()
    endpoint.traffic = {"blue": 100}
    uri = ml_client.online_endpoints.begin_create_or_update(endpoint).result().scoring_uri
    auth = {"Authorization": "Bearer " + ml_client.online_endpoints.get_keys("rollout-gpu").primary_key}
    ((old_node, _),) = placed()
    _update_while_scoring(uri, auth, lambda: ml_client.online_deployments.begin_create_or_update(
        deployment("v2")).result())
    ((new_node, new_gpus),) = placed()
    assert new_node != old_node and new_gpus == [0]  # the free GPU: both generations held one meanwhile


def test_an_operation_while_the_deployment_is_busy_is_refused_in_v2_words(ml_client: Any, tmp_path: Path) -> None:
    """409, as Azure answers an operation on an online endpoint while another runs, naming the deployment and
    its endpoint: not the core record (rollout~blue) nor v1's wait_for_deployment."""
    from azure.core.exceptions import ResourceExistsError

    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="rollout", auth_mode="key")).result()
    slow = _deployment(tmp_path, "blue", "v1")
    gate = tmp_path / "gate"  # init() waits for it: the deployment stays busy until the test opens it
    (tmp_path / "src-v1" / "score.py").write_text(
        f"import os, time\n\ndef init():\n    while not os.path.exists({str(gate)!r}):\n        time.sleep(0.05)\n\n"
        "def run(d):\n    return d\n")
    poller = ml_client.online_deployments.begin_create_or_update(slow)
    for attempt in (lambda: ml_client.online_endpoints.begin_delete(name="rollout"),
                    lambda: ml_client.online_deployments.begin_create_or_update(slow)):
        with pytest.raises(ResourceExistsError) as refused:
            attempt()
        message = str(refused.value)
        assert "Deployment blue of endpoint rollout has an operation in progress" in message, message
        assert "~" not in message and "wait_for_deployment" not in message
    gate.touch()
    poller.result()
