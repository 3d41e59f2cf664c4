"""GPU policy and container lifecycle as a user sees them, each in its own local cloud (own home)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import ssh_engine
from polling import poll

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
    elif action == "score":
        service = Webservice(ws, "life-svc")
        try:
            print(json.dumps({"answer": service.run(open("test_data.json").read()), "state": service.state}))
        except Exception as exc:  # a service still coming back: the caller polls
            print(json.dumps({"error": repr(exc), "state": service.state}))
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
    shutil.copy(SEED / "test_data.json", workdir / "test_data.json")
    return workdir


def _down(home: Path, env_extra: dict[str, str] | None = None) -> None:
    subprocess.run([CLI, "down"], env={**os.environ, **(env_extra or {}), "FAKE_AZURE_HOME": str(home)},
                   capture_output=True, timeout=120)


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
        assert "fake-azure: replicas run on the process runtime" in served["logs"]
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


@pytest.mark.requires_docker
def test_a_remote_engine_over_ssh_serves_through_tunnels_and_cleans_up(tmp_path: Path, project: Path) -> None:
    """DOCKER_HOST=ssh://...: the engine is driven over ssh and each replica reached through an ssh tunnel."""
    reason = ssh_engine.ssh_unavailable_reason()
    if reason is not None:
        if os.environ.get("FAKE_AZURE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"FAKE_AZURE_REQUIRE_DOCKER=1 but the ssh engine test {reason}", pytrace=False)
        pytest.skip(reason)
    home = tmp_path / "home-ssh"
    with ssh_engine.ssh_docker_host(tmp_path / "ssh") as docker_host:
        env = {"FAKE_AZURE_RUNTIME": "docker", "DOCKER_HOST": docker_host}
        try:
            deployed = _run(home, project, env, "deploy")
            assert deployed["state"] == "Healthy", deployed
            assert "replicas run on the docker runtime (docker: an engine on " in deployed["logs"]
            assert "over ssh; replicas reached through ssh tunnels)" in deployed["logs"]
            model = json.loads((project / "model" / "weights.json").read_text())
            rows = json.loads((project / "test_data.json").read_text())["data"]
            expected = [int(sum(x * w for x, w in zip(row, model["w"])) + model["b"] > 0) for row in rows]
            scored = _run(home, project, env, "score")
            assert scored["state"] == "Healthy" and scored["answer"] == expected
            status = json.loads(subprocess.run([CLI, "status", "--json"], capture_output=True, text=True, timeout=60,
                                               env={**os.environ, **env, "FAKE_AZURE_HOME": str(home)}).stdout)
            assert any("over ssh" in note for note in status["notes"]), status
            [container] = _our_containers(home)  # the engine behind sshd is the local one
            published = int(container.attrs["NetworkSettings"]["Ports"]["5001/tcp"][0]["HostPort"])
            tunnels = _tunnels_to(published)
            assert len(tunnels) == 1, tunnels  # the replica is reached through exactly one ssh forward

            # A daemon killed outright leaves its container and tunnel; the next one ends both and
            # brings the service back through a tunnel of its own.
            os.kill(status["pid"], signal.SIGKILL)
            assert poll(lambda: _is_zombie(status["pid"]), timeout=30)
            assert len(_tunnels_to(published)) == 1
            subprocess.run([CLI, "up"], env={**os.environ, **env, "FAKE_AZURE_HOME": str(home)}, check=True,
                           capture_output=True, timeout=120)
            assert poll(lambda: _tunnels_to(published) == [], timeout=10)  # SIGTERM lands asynchronously
            back = poll(lambda: _run(home, project, env, "score").get("answer"), timeout=120, interval=0.5)
            assert back == expected
            [container] = _our_containers(home)
            published = int(container.attrs["NetworkSettings"]["Ports"]["5001/tcp"][0]["HostPort"])
            assert len(_tunnels_to(published)) == 1

            assert _run(home, project, env, "delete") == {"deleted": True}
            assert _our_containers(home) == [] and _tunnels_to(published) == []
        finally:
            _down(home, env)
        assert _our_containers(home) == []


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _tunnels_to(remote_port: int) -> list[str]:
    """Command lines of live `ssh -N -L ...:127.0.0.1:<remote_port>` processes."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"ssh") and b"-N" in argv and any(
                a.endswith(f":127.0.0.1:{remote_port}".encode()) for a in argv):
            found.append(b" ".join(argv).decode(errors="replace"))
    return found
