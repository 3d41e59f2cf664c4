"""Concurrent control-plane clients against one workspace (issue 7).

(a) 20 threads mixing model registration and listing, compute reads, a DevTest cluster that many of
    them race to create, a few real deployments and service listings, for a bounded number of rounds:
    no unexpected exception, no deadlock (every thread joins before a deadline), consistent state after.
(b) two ``Model.deploy(..., overwrite=False)`` of one name released together: exactly one wins.

Real replicas behind the cluster's gateway; everything created is deleted. No sleeps: polling
against deadlines, threads joined with deadlines."""
from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from echo_service import BODY, ECHOED, lay_out_echo_project
from polling import poll

from fake_azure.exceptions import ComputeTargetException, WebserviceException

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]

THREADS = 20
ROUNDS = 2
DEPLOYERS = 4  # threads 0..3 deploy (and delete) one service each, in their first round
MODEL = "conc-model"
SHARED = "aks-shared"
DEVTEST = "aks-dev"
JOIN_DEADLINE_S = 300.0
CONFLICT_TEXT = "with the same name already exists, please use a different service name or delete the existing service"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(lay_out_echo_project(tmp_path))
    return tmp_path


@pytest.fixture
def cleanup(ws, emulator_home: Path) -> Iterator[list[Any]]:
    """Clusters the test created, deleted at the end after every service left in the workspace."""
    from fake_azure.core.webservice import Webservice

    made: list[Any] = []
    try:
        yield made
    finally:
        for leftover in Webservice.list(ws):
            try:
                leftover.delete()
            except Exception:  # best-effort cleanup
                pass
        for thing in reversed(made):
            try:
                thing.delete()
            except Exception:  # best-effort cleanup
                pass


def _post(uri: str, key: str) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.post(uri, data=BODY, timeout=30,
                            headers={"Content-Type": "application/json", "Authorization": "Bearer " + key})


def _aks(**kwargs: Any):
    from fake_azure.core.compute import AksCompute

    return AksCompute.provisioning_configuration(vm_size="Standard_D3_v2", **kwargs)


def _run_threads(target: Callable[[int], None], count: int, deadline_s: float) -> dict[int, BaseException]:
    """Run ``target(i)`` in ``count`` threads; returns the exceptions by thread. Fails on a thread still alive."""
    errors: dict[int, BaseException] = {}
    lock = threading.Lock()

    def wrapper(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:  # reported by the test
            exc.formatted = traceback.format_exc()  # type: ignore[attr-defined]  # rides to the report
            with lock:
                errors[index] = exc

    threads = [threading.Thread(target=wrapper, args=(i,), name=f"client-{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + deadline_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {deadline_s:.0f} s (deadlock?): {stuck}"
    return errors


def _devtest_cluster(ws) -> None:
    """Read the DevTest cluster, or create it when it is not there yet (other threads race to do the same)."""
    from fake_azure.core.compute import ComputeTarget

    try:
        ComputeTarget(ws, DEVTEST)
    except ComputeTargetException:
        try:
            target = ComputeTarget.create(ws, DEVTEST, _aks(agent_count=1, cluster_purpose="DevTest"))
            target.wait_for_completion()
        except ComputeTargetException:
            pass  # another thread's create got there first: read it below
    assert poll(lambda: ComputeTarget(ws, DEVTEST).provisioning_state == "Succeeded", 60), \
        ComputeTarget(ws, DEVTEST).provisioning_state


def test_twenty_clients_mixing_control_plane_calls(ws, workdir, cleanup):
    from fake_azure.core.compute import ComputeTarget
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AksWebservice, Webservice

    shared = ComputeTarget.create(ws, SHARED, _aks())
    cleanup.append(shared)
    shared.wait_for_completion()
    assert shared.provisioning_state == "Succeeded"
    inference = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")
    deployed: list[str] = []
    expected_errors: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        for round_ in range(ROUNDS):
            model = Model.register(ws, model_path="model", model_name=MODEL)
            assert any(m.version == model.version for m in Model.list(ws, name=MODEL))
            assert ComputeTarget(ws, SHARED).provisioning_state == "Succeeded"
            try:
                _devtest_cluster(ws)
            except ComputeTargetException as exc:  # an SDK error is an acceptable answer to a race
                with lock:
                    expected_errors.append(f"client-{index}: {exc}")
            if index < DEPLOYERS and round_ == 0:
                name = f"conc-svc-{index}"
                service = Model.deploy(ws, name, [model], inference,
                                       AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False),
                                       ComputeTarget(ws, SHARED))
                with lock:
                    deployed.append(name)
                service.wait_for_deployment()
                assert service.state == "Healthy", service.get_logs()
                response = _post(service.scoring_uri, service.get_keys()[0])
                assert response.status_code == 200 and response.json() == ECHOED
                service.delete()
            Webservice.list(ws)

    try:
        errors = _run_threads(client, THREADS, JOIN_DEADLINE_S)
    finally:
        if poll(lambda: ComputeTarget.list(ws) and any(t.name == DEVTEST for t in ComputeTarget.list(ws)), 1):
            cleanup.append(ComputeTarget(ws, DEVTEST))
    assert not errors, "\n".join(getattr(exc, "formatted", repr(exc)) for exc in errors.values())

    # Model versions: exactly 1..N, no gap, no duplicate.
    versions = sorted(m.version for m in Model.list(ws, name=MODEL))
    assert versions == list(range(1, THREADS * ROUNDS + 1)), versions
    assert Model(ws, MODEL).version == THREADS * ROUNDS
    # Clusters: the shared one and exactly one DevTest cluster, both provisioned.
    targets = {t.name: t for t in ComputeTarget.list(ws)}
    assert sorted(targets) == sorted([SHARED, DEVTEST])
    assert all(t.provisioning_state == "Succeeded" for t in targets.values())
    assert ComputeTarget(ws, DEVTEST).cluster_purpose == "DevTest"
    # Services: every deployer deployed once and deleted; nothing is left, and what is listed exists.
    assert sorted(deployed) == [f"conc-svc-{i}" for i in range(DEPLOYERS)]
    listed = Webservice.list(ws)
    for service in listed:
        Webservice(ws, service.name)
    assert [s.name for s in listed] == []


def test_two_deploys_of_one_name_racing_one_wins(ws, workdir, cleanup):
    from fake_azure.core.compute import ComputeTarget
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AksWebservice

    target = ComputeTarget.create(ws, "aks-race", _aks())
    cleanup.append(target)
    target.wait_for_completion()
    model = Model.register(ws, model_path="model", model_name="race-model")
    inference = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")
    config = AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False)
    barrier = threading.Barrier(2, timeout=60)
    services: dict[int, Any] = {}

    def racer(index: int) -> None:
        barrier.wait()
        services[index] = Model.deploy(ws, "race-svc", [model], inference, config, target, overwrite=False)
        services[index].wait_for_deployment()

    errors = _run_threads(racer, 2, 240)
    assert len(services) == 1 and len(errors) == 1, (services, errors)
    (error,) = errors.values()
    assert isinstance(error, WebserviceException), getattr(error, "formatted", repr(error))
    assert f"Service race-svc {CONFLICT_TEXT}" in str(error)
    (service,) = services.values()
    assert service.state == "Healthy", service.get_logs()
    response = _post(service.scoring_uri, service.get_keys()[0])
    assert response.status_code == 200 and response.json() == ECHOED
    service.delete()
