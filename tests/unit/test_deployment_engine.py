"""The deployment engine on the stub runtime (tests/stub_runtime.py): deploy, restore, crash loops,
scaling and abandonment in milliseconds, and what must never wait for a replica that is starting."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from engine_harness import WS, Harness
from polling import poll
from stub_runtime import StubRuntime

from emulator.resources.services import service as services

# Generous: these calls take milliseconds; before the fix they waited for a replica's readiness (minutes).
PROMPT_S = 5.0


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    made = Harness(tmp_path)
    yield made
    made.close()


def _scale(harness: Harness, name: str, count: int) -> None:
    harness.engine.scaler.scale(WS, name, count, "test")


def _deployment(harness: Harness, name: str):
    return harness.engine.deployments.get((WS, name))


def _running(harness: Harness, name: str) -> list[dict]:
    return [r for r in harness.body(name)["fakeAzure"]["replicas"] if r["state"] == "Running"]


def test_a_service_deploys_and_its_replicas_are_published(harness: Harness) -> None:
    op = harness.wait(harness.create("svc", replicas=2))
    assert op["status"] == "Succeeded"
    body = harness.body("svc")
    assert body["state"] == "Healthy" and body["scoringUri"].endswith("/api/v1/service/svc/score")
    assert len(_running(harness, "svc")) == 2 and all(r["socket"] for r in body["fakeAzure"]["replicas"])
    assert len(harness.runtime.live()) == 2


def test_a_replica_that_keeps_crashing_during_init_fails_the_deployment(tmp_path: Path) -> None:
    harness = Harness(tmp_path, StubRuntime(behaviour=lambda spec: "crash"))
    try:
        op = harness.wait(harness.create("svc"))
        assert op["status"] == "Failed" and op["error"]["code"] == "KubernetesDeploymentFailed"
        assert harness.body("svc")["state"] == "Failed"
        assert len(harness.runtime.replicas) == 3  # the first start and two restarts with back-off
        assert "exited during init (attempt 3 of 3)" in harness.engine.logs(WS, "svc", 0)
    finally:
        harness.close()


def test_a_deployment_abandoned_by_a_delete_ends_and_leaves_nothing(tmp_path: Path) -> None:
    harness = Harness(tmp_path, StubRuntime(behaviour=lambda spec: "starting"))  # init() never ends
    try:
        create = harness.create("svc")
        harness.runtime.wait_started(1)
        delete = harness.wait(harness.delete("svc"))
        assert delete["status"] == "Succeeded"
        assert harness.wait(create)["error"]["code"] == "DeploymentCancelled"
        assert harness.runtime.live() == [] and not harness.service_dir("svc").exists()
    finally:
        harness.close()


def test_scaling_out_and_in_starts_and_stops_replicas_behind_the_gateway(harness: Harness) -> None:
    harness.wait(harness.create("svc", replicas=1, autoscale=True))
    _scale(harness, "svc", 3)
    assert len(_running(harness, "svc")) == 3 and len(harness.runtime.live()) == 3
    assert harness.body("svc")["numReplicas"] == 3
    _scale(harness, "svc", 1)
    assert len(harness.body("svc")["fakeAzure"]["replicas"]) == 1 and len(harness.runtime.live()) == 1
    assert "scaled from 3 to 1 replicas" in (harness.service_dir("svc") / "autoscaler.log").read_text()


def test_a_restarted_engine_takes_over_live_replicas_and_restarts_lost_ones(tmp_path: Path) -> None:
    first = Harness(tmp_path)
    first.wait(first.create("svc", replicas=2))
    uri = first.body("svc")["scoringUri"]
    kept, lost = first.runtime.live()
    lost.crash(-9)
    # The daemon is killed: its gateway goes with it, its replicas stay.
    first.engine._gateways.stop_all()
    first.engine.supervisor.stop()
    first.engine.scaler.stop()
    second = Harness(tmp_path, runtime=first.runtime, store=first.store)
    try:
        second.engine.restore()
        assert poll(lambda: second.body("svc")["state"] == "Healthy", 10)
        assert second.body("svc")["scoringUri"] == uri
        live = first.runtime.live()
        assert kept in live and len(live) == 2 and len(first.runtime.replicas) == 3  # one new start only
    finally:
        second.close()


def test_a_replica_that_crashes_past_its_restarts_fails_the_service(tmp_path: Path) -> None:
    harness = Harness(tmp_path, supervise=True)
    try:
        harness.engine.supervisor.max_restarts = 0  # give up at the first crash
        harness.wait(harness.create("svc"))
        harness.runtime.live()[0].crash(1)
        assert poll(lambda: harness.body("svc")["state"] == "Failed", 10)
        assert harness.body("svc")["error"]["details"][0]["code"] == "CrashLoopBackOff"
    finally:
        harness.close()


def test_nothing_waits_for_a_replica_that_a_scale_out_is_starting(tmp_path: Path) -> None:
    gate = threading.Event()
    harness = Harness(tmp_path, StubRuntime(behaviour=lambda spec: "ready" if gate.is_set() else "starting"))
    try:
        gate.set()
        harness.wait(harness.create("svc", replicas=1, autoscale=True))
        gate.clear()  # the next replica's init() does not end until released
        scaling = threading.Thread(target=_scale, args=(harness, "svc", 2), daemon=True)
        scaling.start()
        harness.runtime.wait_started(2)

        started = time.monotonic()
        killed = threading.Thread(target=harness.engine.kill_replica, args=("svc", WS), daemon=True)
        killed.start()
        killed.join(PROMPT_S)
        assert not killed.is_alive(), "kill_replica waited for the starting replica"
        assert "replica" in harness.engine.logs(WS, "svc", 10)
        assert harness.wait(harness.delete("svc"), PROMPT_S)["status"] == "Succeeded"
        assert time.monotonic() - started < PROMPT_S
        scaling.join(PROMPT_S)
        assert not scaling.is_alive()
        assert harness.runtime.live() == [] and not harness.service_dir("svc").exists()
    finally:
        for replica in harness.runtime.replicas:
            replica.become_ready()
        harness.close()


def test_a_restart_racing_a_delete_leaves_no_folder_behind(harness: Harness) -> None:
    harness.wait(harness.create("svc"))
    replica_id = harness.body("svc")["fakeAzure"]["replicas"][0]["id"]
    handle = _deployment(harness, "svc").handles[replica_id]
    handle.native.crash(1)
    assert harness.engine.supervision.take_down((WS, "svc"), replica_id, handle, "exited")

    entered, release = threading.Event(), threading.Event()
    real_start = harness.runtime.start

    def slow_start(spec):
        entered.set()
        release.wait(10)
        return real_start(spec)

    harness.runtime.start = slow_start  # type: ignore[method-assign]  # the stub, slowed for this test
    restart = threading.Thread(target=harness.engine.supervision.restart, args=((WS, "svc"), replica_id), daemon=True)
    restart.start()
    assert entered.wait(5)
    delete = harness.delete("svc")
    harness.wait(delete, 0.5)  # the delete runs (before the fix: it removed the folder, then the start made it again)
    release.set()
    assert harness.wait(delete)["status"] == "Succeeded"
    restart.join(5)
    assert not restart.is_alive()
    assert harness.runtime.live() == []
    assert not harness.service_dir("svc").exists(), sorted(p.name for p in harness.service_dir("svc").rglob("*"))


def test_killed_replicas_are_not_remembered_once_they_are_gone(harness: Harness) -> None:
    harness.wait(harness.create("svc"))
    harness.engine.kill_replica("svc", WS)  # no supervisor here: nothing takes the replica down
    with harness.store.transaction() as conn:
        op_id = harness.operations.start(conn, WS, "service.update", "svc", {"pending": True})
    harness.engine.deploy(WS, "svc", op_id)  # a redeploy replaces every replica
    assert harness.wait(op_id)["status"] == "Succeeded"
    assert _deployment(harness, "svc").killed == []


def test_a_replica_killed_again_while_down_is_remembered_once(harness: Harness) -> None:
    harness.wait(harness.create("svc"))
    for _ in range(3):  # no supervisor here: the dead replica stays the only candidate
        harness.engine.kill_replica("svc", WS)
    assert len(_deployment(harness, "svc").killed) == 1


def test_a_crashed_replica_is_restarted_and_the_service_heals(tmp_path: Path) -> None:
    harness = Harness(tmp_path, supervise=True)
    try:
        harness.wait(harness.create("svc", replicas=2))
        harness.runtime.live()[0].crash(1)
        assert poll(lambda: harness.body("svc")["state"] == "Unhealthy", 5)
        assert poll(lambda: harness.body("svc")["state"] == "Healthy", 10)
        assert sorted(r["restarts"] for r in harness.body("svc")["fakeAzure"]["replicas"]) == [0, 1]
        assert len(harness.runtime.live()) == 2 and len(_running(harness, "svc")) == 2
    finally:
        harness.close()


def test_an_updates_old_replicas_serve_until_the_new_ones_are_ready_and_a_sweep_keeps_them(tmp_path: Path) -> None:
    """A surge: the old replica is stopped only once its successor is ready; meanwhile it counts as live, so a
    sweep of orphans (a reset, a daemon's stop) does not take it for a leftover."""
    from emulator.deploy import lifecycle

    generations = iter(["ready"])
    runtime = StubRuntime(lambda spec: next(generations, "pending"))  # the update's replica waits for the test
    harness = Harness(tmp_path, runtime)
    try:
        assert harness.wait(harness.create("svc"))["status"] == "Succeeded"
        (old,) = runtime.live()
        with harness.store.transaction() as conn:
            lifecycle.deleted(conn, WS, "svc")  # as a redeploy over the service does
        update = harness.create("svc")
        new = runtime.wait_started(2)[1]
        assert old.spec.replica_id in harness.engine.deployments.live_replica_ids()
        assert old.alive and harness.wait(update, seconds=0)["status"] == "Running"
        new.become_ready()
        assert harness.wait(update)["status"] == "Succeeded"
        assert poll(lambda: not old.alive, timeout=10)
    finally:
        harness.close()


def test_an_update_that_fails_leaves_the_old_replicas_serving(tmp_path: Path) -> None:
    """As Kubernetes keeps the old ReplicaSet when a rollout's new pods never become ready: the service is
    Failed with the update's error, but its old replica is still running, recorded and published."""
    generations = iter(["ready"])
    runtime = StubRuntime(lambda spec: next(generations, "crash"))  # the update's replicas crash in init()
    harness = Harness(tmp_path, runtime)
    try:
        assert harness.wait(harness.create("svc"))["status"] == "Succeeded"
        (old,) = runtime.live()
        op = harness.wait(harness.update("svc"))
        assert op["status"] == "Failed" and op["error"]["code"] == "KubernetesDeploymentFailed"
        body = harness.body("svc")
        assert body["state"] == "Failed"
        assert old.alive and runtime.live() == [old]
        assert [(r["id"], r["state"]) for r in body["fakeAzure"]["replicas"]] == [(old.spec.replica_id, "Running")]
        assert "retiringReplicas" not in body["fakeAzure"]
        assert harness.engine.deployments.live_replica_ids() == {old.spec.replica_id}
        key = services.secrets_of(harness.store.read(), WS, "svc")["primaryKey"]
        answer = requests.post(body["scoringUri"], json={}, headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert answer.status_code == 200  # the old replica answered through the gateway

        # A later good update replaces it as any other.
        runtime.behaviour = lambda spec: "ready"
        assert harness.wait(harness.update("svc"))["status"] == "Succeeded"
        assert poll(lambda: not old.alive, timeout=10) and len(runtime.live()) == 1
        assert harness.body("svc")["state"] == "Healthy"
    finally:
        harness.close()
