"""How a deployed service behaves, through the SDK surface a user touches.

Crash loops, scoring errors, the front end's overload and timeout answers, services that outlive
the script that deployed them, keys and tokens, updates, capacity on the cluster, overwrite,
autoscaling and a daemon restart. Each test deploys real ``azmlinfsrv`` replicas behind the
cluster's gateway on loopback and deletes what it created.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from echo_service import BODY, ECHO_SCORE, ECHOED, lay_out_echo_project
from polling import poll

from fake_azure.exceptions import WebserviceException

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).parent / "fake-azure"
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "emulator"]

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]


# --- helpers ------------------------------------------------------------------------------------------

@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(lay_out_echo_project(tmp_path))
    return tmp_path


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: never through a proxy from the environment
    return session


def _post(uri: str, data: Any = BODY, token: str | None = None, content_type: str = "application/json",
          timeout: float = 30) -> requests.Response:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    with _session() as session:
        return session.post(uri, data=data, headers=headers, timeout=timeout)


def _poll(check: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    return poll(check, timeout, interval)


def _cluster(ws, name: str = "aks-cpu", vm_size: str = "Standard_D3_v2", **kwargs):
    from fake_azure.core.compute import AksCompute, ComputeTarget

    target = ComputeTarget.create(ws, name, AksCompute.provisioning_configuration(vm_size=vm_size, **kwargs))
    target.wait_for_completion()
    assert target.provisioning_state == "Succeeded"
    return target


def _model(ws):
    from fake_azure.core.model import Model

    return Model.register(ws, model_path="model", model_name="tf-dnn-mnist")


def _deploy(ws, target, name: str, config=None, overwrite: bool = False, gpu: bool = False, model=None):
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AksWebservice

    if config is None:
        config = AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False)
    inference_config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml",
                                       enable_gpu=gpu)
    return Model.deploy(ws, name, [model or _model(ws)], inference_config, config, target, overwrite=overwrite)


class Services:
    """Every service a test deploys, deleted at the end whatever happened."""

    def __init__(self) -> None:
        self.created: list[Any] = []

    def add(self, service: Any) -> Any:
        self.created.append(service)
        return service

    def delete_all(self) -> None:
        for service in reversed(self.created):
            try:
                service.delete()
            except WebserviceException:
                pass


@pytest.fixture
def services() -> Iterator[Services]:
    tracker = Services()
    try:
        yield tracker
    finally:
        tracker.delete_all()


def _healthy(service) -> Any:
    service.wait_for_deployment()
    assert service.state == "Healthy"
    return service


# --- 1. init() fails ----------------------------------------------------------------------------------

def test_init_failure_is_a_crash_loop(ws, workdir, services):
    (workdir / "score.py").write_text(
        "def init():\n    raise RuntimeError('cannot load weights: xyzzy-init-failure')\n\n\n"
        "def run(raw_data):\n    return raw_data\n")
    target = _cluster(ws)
    service = services.add(_deploy(ws, target, "crashing-svc"))
    with pytest.raises(WebserviceException) as info:
        service.wait_for_deployment()
    message = info.value.message
    assert message.startswith("Service deployment polling reached non-successful terminal state, current service "
                              "state: Failed")
    assert "CrashLoopBackOff" in message
    assert service.state == "Failed"
    logs = service.get_logs()
    assert "xyzzy-init-failure" in logs
    assert "Traceback" in logs


# --- 2. run() fails -----------------------------------------------------------------------------------

def test_run_failure_is_a_500(ws, workdir, services):
    (workdir / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(raw_data):\n    raise ValueError('bad input: xyzzy-run-failure')\n")
    target = _cluster(ws)
    service = _healthy(services.add(_deploy(ws, target, "failing-run-svc")))
    primary, _ = service.get_keys()
    response = _post(service.scoring_uri, token=primary)
    assert response.status_code == 500
    assert response.json() == {"message": "An unexpected error occurred in scoring script. Check the logs for more "
                                          "info."}
    with pytest.raises(WebserviceException) as info:
        service.run(BODY)
    assert info.value.message.startswith("Received bad response from service. More information can be found by "
                                         "calling `.get_logs()` on the webservice object.\nResponse Code: 500\n")
    assert "xyzzy-run-failure" in service.get_logs()


# --- 3. overload --------------------------------------------------------------------------------------

SLOW_SCORE = '''\
import json
import time


def init():
    pass


def run(raw_data):
    time.sleep({seconds})
    return {{"slept": {seconds}}}
'''


def test_overloaded_replica_answers_503(ws, workdir, services):
    from fake_azure.core.webservice import AksWebservice

    (workdir / "score.py").write_text(SLOW_SCORE.format(seconds=1))
    target = _cluster(ws)
    config = AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False,
                                                replica_max_concurrent_requests=1, max_request_wait_time=50)
    service = _healthy(services.add(_deploy(ws, target, "overloaded-svc", config)))
    assert service.max_concurrent_requests_per_container == 1 and service.max_request_wait_time == 50
    primary, _ = service.get_keys()
    start = threading.Barrier(3)

    def call(_: int) -> requests.Response:
        start.wait(timeout=10)
        return _post(service.scoring_uri, token=primary)

    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(call, range(3)))
    statuses = sorted(r.status_code for r in responses)
    assert 200 in statuses, statuses
    rejected = [r for r in responses if r.status_code == 503]
    assert rejected, statuses
    assert all("Too many requests for service overloaded-svc (overloaded)" in r.text for r in rejected), \
        [r.text for r in rejected]


# --- 4. scoring timeout -------------------------------------------------------------------------------

def test_scoring_timeout_answers_504(ws, workdir, services):
    from fake_azure.core.webservice import AksWebservice

    (workdir / "score.py").write_text(SLOW_SCORE.format(seconds=2))
    target = _cluster(ws)
    config = AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False, scoring_timeout_ms=300)
    service = _healthy(services.add(_deploy(ws, target, "timeout-svc", config)))
    assert service.scoring_timeout_ms == 300
    primary, _ = service.get_keys()
    started = time.monotonic()
    response = _post(service.scoring_uri, token=primary)
    elapsed = time.monotonic() - started
    assert response.status_code == 504, (response.status_code, response.text)
    assert elapsed < 1.9, f"the front end waited {elapsed:.2f} s for a 300 ms scoring timeout"


# --- 5. services outlive the deploying process --------------------------------------------------------

def _python(code: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=dict(os.environ),
                          capture_output=True, text=True, timeout=timeout)


def test_service_outlives_its_deploying_process(ws, workdir, services):
    from fake_azure.core.webservice import Webservice

    _cluster(ws)  # the deploying process below finds it by name: ComputeTarget(ws, "aks-cpu")
    args = (ws.subscription_id, ws.resource_group, ws.name)
    deployed = _python(f"""
        import warnings
        warnings.simplefilter("ignore")
        import fake_azure
        fake_azure.activate()
        from azureml.core import Workspace
        from azureml.core.compute import ComputeTarget
        from azureml.core.model import InferenceConfig, Model
        from azureml.core.webservice import AksWebservice

        ws = Workspace(*{args!r})
        model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
        config = AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False)
        inference_config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")
        service = Model.deploy(ws, "outliving-svc", [model], inference_config, config, ComputeTarget(ws, "aks-cpu"))
        service.wait_for_deployment()
        print("STATE", service.state)
        """, workdir)
    try:
        assert deployed.returncode == 0, deployed.stderr
        assert "STATE Healthy" in deployed.stdout
        # The deploying process has exited; the replicas belong to the daemon.
        service = Webservice(ws, "outliving-svc")
        assert service.state == "Healthy"
        assert service.run(BODY) == ECHOED
        primary, _ = service.get_keys()

        deleted = _python(f"""
            import fake_azure
            fake_azure.activate()
            from azureml.core import Workspace
            from azureml.core.webservice import Webservice

            Webservice(Workspace(*{args!r}), "outliving-svc").delete()
            print("DELETED")
            """, workdir)
        assert deleted.returncode == 0, deleted.stderr
        assert "DELETED" in deleted.stdout
        with pytest.raises(WebserviceException) as info:
            Webservice(ws, "outliving-svc")
        assert info.value.message == ("WebserviceNotFound: Webservice with name outliving-svc not found in provided "
                                      "workspace")
        assert _post(service.scoring_uri, token=primary).status_code == 404
    finally:
        if Webservice._get(ws, "outliving-svc") is not None:
            Webservice(ws, "outliving-svc").delete()


# A score.py whose init() starts a child in a session of its own (outside the replica's process group)
# that writes its pid to ESCAPED_PIDS next to the script and sleeps.
ESCAPING_SCORE = ECHO_SCORE.replace("def init():\n", """def init():
    import os, subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
                      "time.sleep(600)", os.path.join(os.path.dirname(os.path.abspath(__file__)), "escaped.pid")],
                     start_new_session=True)
""")


def _process_gone(pid: int) -> bool:
    """Exited: no such process, or a zombie (the container's PID 1 may never reap an orphan)."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (ProcessLookupError, FileNotFoundError):
        return True


def _escaped_pid(home: Path) -> int:
    """The pid the escaping score.py's child wrote into the replica's app root under ``home``."""
    found = _poll(lambda: [p for p in (home / "services").rglob("escaped.pid") if p.read_text()], 30)
    assert len(found) == 1, found
    pid = int(found[0].read_text())
    assert not _process_gone(pid)
    return pid


@pytest.mark.skipif(os.environ.get("FAKE_AZURE_RUNTIME") == "docker",
                    reason="a container's processes all go with the container, and its pids are not the host's")
def test_a_process_score_py_starts_in_its_own_session_is_gone_after_delete(ws, workdir, services, emulator_home):
    (workdir / "score.py").write_text(ESCAPING_SCORE)
    service = _healthy(services.add(_deploy(ws, _cluster(ws), "escaping-svc")))
    pid = _escaped_pid(emulator_home)
    service.delete()
    assert _poll(lambda: _process_gone(pid), 10), f"pid {pid} outlived delete()"


@pytest.mark.skipif(os.environ.get("FAKE_AZURE_RUNTIME") == "docker",
                    reason="a container's processes all go with the container, and its pids are not the host's")
def test_a_process_score_py_starts_in_its_own_session_is_gone_after_the_daemon_stops(workdir, tmp_path_factory):
    (workdir / "score.py").write_text(ESCAPING_SCORE)
    home = PrivateHome(tmp_path_factory.mktemp("escaping-home"))
    pid = None
    try:
        assert home.cli("up").returncode == 0
        deployed = home.python(PREPARE_A_DEPLOYMENT + textwrap.dedent("""
            config = AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False)
            Model.deploy(ws, "escaping-svc", [model], inference_config, config, target).wait_for_deployment()
            """), workdir)
        assert deployed.returncode == 0, deployed.stderr
        pid = _escaped_pid(home.path)
        down = home.cli("down")
        assert down.returncode == 0, down.stderr
        assert _poll(lambda: _process_gone(pid), 10), f"pid {pid} outlived the daemon"
    finally:
        home.cli("down")
        if pid is not None and not _process_gone(pid):
            os.kill(pid, 9)


# --- 6. keys and tokens -------------------------------------------------------------------------------

def test_keys_both_work_and_regeneration_revokes(ws, workdir, services):
    target = _cluster(ws)
    service = _healthy(services.add(_deploy(ws, target, "keyed-svc")))
    primary, secondary = service.get_keys()
    assert isinstance(primary, str) and isinstance(secondary, str) and primary and secondary
    assert primary != secondary
    assert _post(service.scoring_uri).status_code == 401
    assert _post(service.scoring_uri, token="not-a-key").status_code == 401
    for key in (primary, secondary):
        response = _post(service.scoring_uri, token=key)
        assert response.status_code == 200 and response.json() == ECHOED

    service.regen_key("Primary")
    new_primary, same_secondary = service.get_keys()
    assert new_primary != primary and same_secondary == secondary
    assert _post(service.scoring_uri, token=primary).status_code == 401
    assert _post(service.scoring_uri, token=new_primary).json() == ECHOED
    assert _post(service.scoring_uri, token=secondary).status_code == 200
    # The SDK's own run() retries once with fresh keys after a 401.
    assert service.run(BODY) == ECHOED


def test_token_auth_and_no_auth(ws, workdir, services):
    from fake_azure.core.webservice import AksWebservice

    target = _cluster(ws)
    model = _model(ws)
    token_config = AksWebservice.deploy_configuration(auth_enabled=False, token_auth_enabled=True, num_replicas=1,
                                                      autoscale_enabled=False)
    open_config = AksWebservice.deploy_configuration(auth_enabled=False, num_replicas=1, autoscale_enabled=False)
    token_service = services.add(_deploy(ws, target, "token-svc", token_config, model=model))
    open_service = services.add(_deploy(ws, target, "open-svc", open_config, model=model))
    _healthy(token_service)
    _healthy(open_service)

    assert token_service.token_auth_enabled and not token_service.auth_enabled
    token = token_service.get_access_token()
    assert token.token_type == "Bearer" and token.access_token
    assert token.expiry_on > token.refresh_after
    assert _post(token_service.scoring_uri).status_code == 401
    assert _post(token_service.scoring_uri, token="garbage").status_code == 401
    response = _post(token_service.scoring_uri, token=token.access_token)
    assert response.status_code == 200 and response.json() == ECHOED
    # A token names its service: it does not open another one.
    assert token_service.run(BODY) == ECHOED

    assert not open_service.auth_enabled and not open_service.token_auth_enabled
    response = _post(open_service.scoring_uri)
    assert response.status_code == 200 and response.json() == ECHOED
    assert open_service.run(BODY) == ECHOED
    with pytest.raises(WebserviceException):
        open_service.get_access_token()


# --- 7. updates and capacity --------------------------------------------------------------------------

def test_update_replicas_and_tags(ws, workdir, services):
    from fake_azure.core.webservice import AksWebservice, Webservice

    target = _cluster(ws)
    # num_replicas alone, the common form: the SDK sends no autoScaler, yet reads one back.
    config = AksWebservice.deploy_configuration(num_replicas=1)
    service = _healthy(services.add(_deploy(ws, target, "scaled-svc", config=config)))
    assert service.num_replicas == 1
    assert service.autoscaler.autoscale_enabled is False
    assert Webservice(ws, "scaled-svc").autoscaler.autoscale_enabled is False
    assert "scaled-svc" in [s.name for s in Webservice.list(ws)]
    assert len(Webservice._get(ws, "scaled-svc")["fakeAzure"]["replicas"]) == 1

    service.update(num_replicas=2)
    service.wait_for_deployment()
    assert service.state == "Healthy"
    service.update_deployment_state()
    assert service.num_replicas == 2
    body = Webservice._get(ws, "scaled-svc")
    replicas = body["fakeAzure"]["replicas"]
    assert len(replicas) == 2 and all(r["state"] == "Running" for r in replicas), replicas
    assert len({r["socket"] or r["port"] for r in replicas}) == 2
    assert body["deploymentStatus"]["availableReplicas"] == 2
    assert service.run(BODY) == ECHOED

    service.update(tags={"team": "vision"})
    service.update_deployment_state()
    assert service.tags == {"team": "vision"}
    service.add_tags({"stage": "test"})
    assert Webservice(ws, "scaled-svc").tags == {"team": "vision", "stage": "test"}
    assert service.run(BODY) == ECHOED


GATED_INIT_SCORE = '''\
import fcntl
import json


def init():
    # Ready only once the test lets go of its lock on the gate file: the deployment is in progress till then.
    with open({gate!r}) as gate:
        fcntl.flock(gate, fcntl.LOCK_SH)


def run(raw_data):
    return {{"echo": json.loads(raw_data)}}
'''


@contextlib.contextmanager
def _closed_gate(path: Path) -> Iterator[None]:
    """While inside, a GATED_INIT_SCORE replica's init() blocks on ``path`` (the lock ends with the test, too)."""
    with open(path, "w") as gate:
        fcntl.flock(gate, fcntl.LOCK_EX)
        yield


@pytest.mark.skipif(os.environ.get("FAKE_AZURE_RUNTIME") == "docker",
                    reason="the score.py below waits for a gate file on the host file system, which a container "
                           "does not see")
def test_one_operation_at_a_time_and_a_deployment_ends_without_being_waited_on(ws, workdir, services):
    from fake_azure.core.webservice import Webservice

    gate = workdir / "gate"
    (workdir / "score.py").write_text(GATED_INIT_SCORE.format(gate=str(gate)))
    with _closed_gate(gate):
        service = services.add(_deploy(ws, _cluster(ws), "busy-svc"))
        # Azure answers 409 while another operation on the service is in progress.
        with pytest.raises(WebserviceException, match="Response Code: 409"):
            service.update(tags={"team": "vision"})
        with pytest.raises(WebserviceException, match="Response Code: 409"):
            service.delete()
        with pytest.raises(WebserviceException, match="operation in progress"):
            _deploy(ws, _cluster(ws), "busy-svc", overwrite=True)
        assert Webservice(ws, "busy-svc").state == "Transitioning"
    # Nobody waits on the operation: reading the service is enough to see it end, as in Azure.
    assert poll(lambda: Webservice(ws, "busy-svc").state == "Healthy", 60), service.get_logs()
    assert [s.state for s in Webservice.list(ws) if s.name == "busy-svc"] == ["Healthy"]
    service.update(tags={"team": "vision"})
    assert Webservice(ws, "busy-svc").tags == {"team": "vision"}
    assert service.run(BODY) == ECHOED


def test_an_update_that_redeploys_nothing_completes_and_leaves_the_service_healthy(ws, workdir, services):
    from fake_azure.core.webservice import Webservice

    service = _healthy(services.add(_deploy(ws, _cluster(ws), "tagged-svc")))
    earlier = service._operation_endpoint
    service.update(tags={"team": "vision"})
    assert service._operation_endpoint != earlier
    operation = ws._client.json("GET", service._operation_endpoint, "webservice.operation")
    assert operation["state"] == "Succeeded"
    service.wait_for_deployment()
    assert service.state == "Healthy" and Webservice(ws, "tagged-svc").state == "Healthy"
    assert service.run(BODY) == ECHOED


def test_a_model_a_service_is_deployed_with_cannot_be_deleted_until_the_service_is(ws, workdir, services):
    from fake_azure.core.model import Model

    model = _model(ws)
    service = _healthy(services.add(_deploy(ws, _cluster(ws), "holding-svc", model=model)))
    with pytest.raises(WebserviceException) as refused:
        model.delete()
    assert refused.value.message == (
        "The model cannot be deleted because it is currently being used in one or more images. To know what "
        f'images contain the model, run "Image.list(<workspace>, model_id={model.id})"')
    assert Model(ws, id=model.id).id == model.id  # still there
    service.delete()
    model.delete()
    assert model.id not in [m.id for m in Model.list(ws)]


def test_deleting_a_service_frees_its_gpu(ws, workdir, services):
    from fake_azure.core.compute import AksCompute

    target = _cluster(ws, "aks-one-gpu", "Standard_NC6", agent_count=1,
                      cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST)
    assert target.agent_count == 1
    model = _model(ws)
    first = _healthy(services.add(_deploy(ws, target, "gpu-first", gpu=True, model=model)))
    second = services.add(_deploy(ws, target, "gpu-second", gpu=True, model=model))
    with pytest.raises(WebserviceException) as info:
        second.wait_for_deployment()
    assert "Unschedulable" in info.value.message
    assert "Insufficient nvidia.com/gpu" in info.value.message
    assert second.state == "Failed"

    first.delete()
    second = services.add(_deploy(ws, target, "gpu-second", gpu=True, model=model, overwrite=True))
    _healthy(second)
    assert second.run(BODY) == ECHOED


# --- 8. names already taken ---------------------------------------------------------------------------

def test_existing_name_needs_overwrite(ws, workdir, services):
    target = _cluster(ws)
    model = _model(ws)
    service = _healthy(services.add(_deploy(ws, target, "taken-svc", model=model)))
    old_uri = service.scoring_uri
    with pytest.raises(WebserviceException) as info:
        _deploy(ws, target, "taken-svc", model=model)
    assert "Service taken-svc with the same name already exists" in info.value.message
    assert service.run(BODY) == ECHOED  # the refused deployment left the running one alone

    (workdir / "score.py").write_text(ECHO_SCORE.replace('{"echo": ', '{"v2": True, "echo": '))
    replaced = services.add(_deploy(ws, target, "taken-svc", model=model, overwrite=True))
    _healthy(replaced)
    assert replaced.scoring_uri == old_uri
    assert replaced.run(BODY) == {"v2": True, **ECHOED}


# --- 9. autoscaling -----------------------------------------------------------------------------------

def test_autoscaler_scales_out_under_load(ws, workdir, services):
    from fake_azure.core.webservice import AksWebservice

    (workdir / "score.py").write_text(SLOW_SCORE.format(seconds=0.2))
    target = _cluster(ws)
    config = AksWebservice.deploy_configuration(autoscale_enabled=True, autoscale_min_replicas=1,
                                                autoscale_max_replicas=3, autoscale_refresh_seconds=1)
    service = _healthy(services.add(_deploy(ws, target, "autoscaled-svc", config)))
    assert service.num_replicas == 1
    primary, _ = service.get_keys()
    stop = threading.Event()
    deadline = time.monotonic() + 10
    statuses: list[int] = []

    def load() -> None:
        with _session() as session:
            while not stop.is_set() and time.monotonic() < deadline:
                response = session.post(service.scoring_uri, data=BODY, timeout=30,
                                        headers={"Content-Type": "application/json",
                                                 "Authorization": "Bearer " + primary})
                statuses.append(response.status_code)

    workers = [threading.Thread(target=load, daemon=True) for _ in range(6)]
    for worker in workers:
        worker.start()
    try:
        def scaled() -> bool:
            service.update_deployment_state()
            return service.num_replicas > 1

        assert _poll(scaled, timeout=12, interval=0.5), f"still {service.num_replicas} replica(s); {len(statuses)} " \
                                                         f"requests sent"
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=35)
    assert 200 in statuses
    assert 1 < service.num_replicas <= 3
    assert "autoscaler: scaled from 1" in service.get_logs()


# --- 10. a daemon restart -----------------------------------------------------------------------------

class PrivateHome:
    """A second local cloud in its own FAKE_AZURE_HOME, driven only by subprocesses."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
        self.env["FAKE_AZURE_HOME"] = str(path)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              cwd=self.path)

    def python(self, code: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        code = textwrap.dedent(RESTART_PRELUDE) + textwrap.dedent(code)
        return subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True,
                              timeout=timeout, cwd=cwd)


RESTART_PRELUDE = """
    import json, threading, time, warnings
    warnings.simplefilter("ignore")
    import fake_azure
    fake_azure.activate()
    from azureml.core import Workspace
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.core.model import InferenceConfig, Model
    from azureml.core.webservice import AksWebservice, Webservice

    ws = Workspace("00000000-0000-0000-0000-0000000000aa", "rg-restart", "ws-restart")
    """
def _await_healthy(name: str, seconds: int = 120) -> str:
    """PrivateHome script lines that poll service ``name`` until Healthy or ``seconds`` pass, as a user would."""
    return textwrap.dedent(f"""
        deadline = time.monotonic() + {seconds}
        service = Webservice(ws, {name!r})
        while service.state != "Healthy" and time.monotonic() < deadline:
            threading.Event().wait(0.2)
            service.update_deployment_state()
        """)


# A CPU cluster, the echo model and its inference config, in a PrivateHome script.
PREPARE_A_DEPLOYMENT = textwrap.dedent("""
    target = ComputeTarget.create(ws, "aks-cpu", AksCompute.provisioning_configuration())
    target.wait_for_completion()
    model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
    inference_config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")
    """)


def test_service_comes_back_after_daemon_restart(workdir, tmp_path_factory):
    home = PrivateHome(tmp_path_factory.mktemp("restart-home"))
    try:
        assert home.cli("up").returncode == 0
        deployed = home.python("""
            cluster_config = AksCompute.provisioning_configuration(vm_size="Standard_D3_v2")
            target = ComputeTarget.create(ws, "aks-cpu", cluster_config)
            target.wait_for_completion()
            model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
            config = AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False)
            inference_config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")
            service = Model.deploy(ws, "restarted-svc", [model], inference_config, config, target)
            service.wait_for_deployment()
            print(json.dumps({"state": service.state, "uri": service.scoring_uri, "keys": service.get_keys(),
                              "run": service.run(%r)}))
            """ % BODY, workdir)
        assert deployed.returncode == 0, deployed.stderr
        before = json.loads(deployed.stdout.strip().splitlines()[-1])
        assert before["state"] == "Healthy" and before["run"] == ECHOED

        down = home.cli("down")
        assert down.returncode == 0, down.stderr
        with pytest.raises(requests.ConnectionError):
            _post(before["uri"], token=before["keys"][0], timeout=5)
        up = home.cli("up")
        assert up.returncode == 0, up.stderr

        after_run = home.python(_await_healthy("restarted-svc") + textwrap.dedent("""
            print(json.dumps({"state": service.state, "uri": service.scoring_uri, "keys": service.get_keys(),
                              "run": service.run(%r) if service.state == "Healthy" else None}))
            """ % BODY), workdir)
        assert after_run.returncode == 0, after_run.stderr
        after = json.loads(after_run.stdout.strip().splitlines()[-1])
        assert after["state"] == "Healthy"
        assert after["uri"] == before["uri"]
        assert after["keys"] == before["keys"]
        assert after["run"] == ECHOED
        response = _post(after["uri"], token=after["keys"][1])
        assert response.status_code == 200 and response.json() == ECHOED

        deleted = home.python('Webservice(ws, "restarted-svc").delete()\n', workdir)
        assert deleted.returncode == 0, deleted.stderr
    finally:
        home.cli("down")


def test_a_record_the_restarted_engine_cannot_redeploy_fails_the_service(workdir, tmp_path_factory):
    """A stored service the engine cannot bring back after a restart (say, written by another version
    of fake-azure) ends Failed with the reason, never Transitioning forever with nothing running."""
    home = PrivateHome(tmp_path_factory.mktemp("unreadable-home"))
    try:
        assert home.cli("up").returncode == 0
        deployed = home.python(PREPARE_A_DEPLOYMENT + textwrap.dedent("""
            config = AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False)
            Model.deploy(ws, "unreadable-svc", [model], inference_config, config, target).wait_for_deployment()
            """), workdir)
        assert deployed.returncode == 0, deployed.stderr
        assert home.cli("down").returncode == 0
        with contextlib.closing(sqlite3.connect(home.path / "state.db")) as db, db:
            (stored,) = db.execute("SELECT body FROM services WHERE name = 'unreadable-svc'").fetchone()
            body = json.loads(stored)
            del body["environmentImageRequest"]
            db.execute("UPDATE services SET body = ? WHERE name = 'unreadable-svc'", (json.dumps(body),))
        assert home.cli("up").returncode == 0

        after = home.python("""
            deadline = time.monotonic() + 60
            service = Webservice(ws, "unreadable-svc")
            while service.state == "Transitioning" and time.monotonic() < deadline:
                threading.Event().wait(0.2)
                service.update_deployment_state()
            seen = {"state": service.state, "error": service.error}
            service.delete()
            print()  # delete() may leave its progress line open
            print(json.dumps(seen))
            """, workdir)
        assert after.returncode == 0, after.stderr
        seen = json.loads(after.stdout.strip().splitlines()[-1])
        assert seen["state"] == "Failed"
        assert seen["error"]["code"] == "InternalError"
        assert "environmentImageRequest" in seen["error"]["message"]
    finally:
        home.cli("down")


@pytest.mark.skipif(os.environ.get("FAKE_AZURE_RUNTIME") == "docker",
                    reason="the score.py below waits for a gate file on the host file system, which a container "
                           "does not see")
def test_a_deployment_a_restart_interrupts_is_carried_on_and_its_operation_ends(workdir, tmp_path_factory):
    """The daemon stops while a deployment is in progress: the next one finishes that operation, so
    the service is not refused every update and delete (409) for ever after."""
    home = PrivateHome(tmp_path_factory.mktemp("interrupted-home"))
    gate = workdir / "gate"
    (workdir / "score.py").write_text(GATED_INIT_SCORE.format(gate=str(gate)))
    try:
        with _closed_gate(gate):
            assert home.cli("up").returncode == 0
            started = home.python(PREPARE_A_DEPLOYMENT + textwrap.dedent("""
                config = AksWebservice.deploy_configuration(num_replicas=1)
                print(Model.deploy(ws, "interrupted-svc", [model], inference_config, config, target).state)
                """), workdir)
            assert started.returncode == 0, started.stderr
            assert started.stdout.split()[-1] == "Transitioning"
            assert home.cli("down").returncode == 0
        assert home.cli("up").returncode == 0

        after = home.python(_await_healthy("interrupted-svc") + textwrap.dedent("""
            seen = {"state": service.state}
            service.update(tags={"team": "vision"})  # 409 while the old operation never ended
            seen["tags"] = Webservice(ws, "interrupted-svc").tags
            service.delete()
            seen["left"] = [s.name for s in Webservice.list(ws)]
            print()
            print(json.dumps(seen))
            """), workdir)
        assert after.returncode == 0, after.stderr
        assert json.loads(after.stdout.strip().splitlines()[-1]) == {
            "state": "Healthy", "tags": {"team": "vision"}, "left": []}
    finally:
        home.cli("down")

