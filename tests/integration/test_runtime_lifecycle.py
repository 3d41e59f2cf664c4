"""GPU policy and container lifecycle as a user sees them, each in its own local cloud (own home)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed-workflow"
CLI = str(Path(sys.executable).with_name("fake-azure"))

DEPLOY = textwrap.dedent('''
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import fake_azure
    fake_azure.activate()
    from azureml.core import Workspace
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.core.model import InferenceConfig, Model
    from azureml.core.webservice import AksWebservice, Webservice
    from azureml.exceptions import WebserviceException

    ws = Workspace("00000000-0000-0000-0000-0000000000aa", "rg-lifecycle", "ws-lifecycle")
    action = sys.argv[1]
    if action == "deploy":
        model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
        target = ComputeTarget.create(ws, "aks-gpu", AksCompute.provisioning_configuration(
            vm_size="Standard_NC6", agent_count=1, cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST))
        target.wait_for_completion()
        config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml", enable_gpu=True)
        service = Model.deploy(ws, "life-svc", [model], config,
                               AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=1), target)
        try:
            service.wait_for_deployment()
            print(json.dumps({"state": service.state, "logs": service.get_logs()}))
        except WebserviceException as exc:
            print(json.dumps({"state": service.state, "error": exc.message}))
    elif action == "delete":
        Webservice(ws, "life-svc").delete()
        print(json.dumps({"deleted": True}))
''')


def _run(home: Path, workdir: Path, env_extra: dict[str, str], action: str) -> dict:
    env = {**os.environ, "FAKE_AZURE_HOME": str(home), **env_extra}
    result = subprocess.run([sys.executable, "-c", DEPLOY, action], cwd=workdir, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    workdir = tmp_path / "project"
    workdir.mkdir()
    shutil.copytree(SEED / "model", workdir / "model")
    shutil.copy(SEED / "myenv.yml", workdir / "myenv.yml")
    shutil.copy(SEED / "score.py", workdir / "score.py")
    return workdir


def _down(home: Path) -> None:
    subprocess.run([CLI, "down"], env={**os.environ, "FAKE_AZURE_HOME": str(home)}, capture_output=True,
                   timeout=120)


def _host_has_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None and "GPU" in subprocess.run(
        ["nvidia-smi", "-L"], capture_output=True, text=True).stdout


@pytest.mark.skipif(_host_has_gpu(), reason="the GPU policy only matters on a host without NVIDIA GPUs")
def test_gpu_policy_require_fails_and_fallback_warns(tmp_path: Path, project: Path) -> None:
    strict, lenient = tmp_path / "home-require", tmp_path / "home-fallback"
    try:
        failed = _run(strict, project, {"FAKE_AZURE_GPU_POLICY": "require", "FAKE_AZURE_RUNTIME": "process"},
                      "deploy")
        assert failed["state"] == "Failed"
        assert "FAKE_AZURE_GPU_POLICY=require" in failed["error"]
        served = _run(lenient, project, {"FAKE_AZURE_RUNTIME": "process"}, "deploy")
        assert served["state"] == "Healthy"
        assert "this host has no NVIDIA GPU; its replicas run on the CPU" in served["logs"]
        status = subprocess.run([CLI, "status", "--json"], env={**os.environ, "FAKE_AZURE_HOME": str(lenient)},
                                capture_output=True, text=True, timeout=60)
        assert any("no NVIDIA GPU" in note for note in json.loads(status.stdout)["notes"])
    finally:
        _down(strict)
        _down(lenient)


def _our_containers(home: Path) -> list:
    import docker

    instance = (home / "instance-id").read_text().strip()
    return docker.from_env().containers.list(all=True, filters={"label": f"fake-azure.instance={instance}"})


@pytest.mark.requires_docker
def test_docker_containers_are_labelled_and_go_away_on_delete_and_down(tmp_path: Path, project: Path) -> None:
    home = tmp_path / "home-docker"
    env = {"FAKE_AZURE_RUNTIME": "docker"}
    try:
        deployed = _run(home, project, env, "deploy")
        assert deployed["state"] == "Healthy", deployed
        containers = _our_containers(home)
        assert len(containers) == 1 and containers[0].labels["fake-azure.service"] == "life-svc"
        assert _run(home, project, env, "delete") == {"deleted": True}
        assert _our_containers(home) == []
        assert _run(home, project, env, "deploy")["state"] == "Healthy"
        assert len(_our_containers(home)) == 1
        _down(home)
        assert _our_containers(home) == []
    finally:
        _down(home)
