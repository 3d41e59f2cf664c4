"""DeploymentEngine.restart(): the new replica starts without the service's lock, so whatever stopped the
service's replicas meanwhile (the daemon stopping, a reset) must not get a replica installed behind it."""
from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

from emulator.deploy.engine import DeploymentEngine
from emulator.resources.services import service as services
from emulator.runtimes.base import ReplicaHandle
from emulator.store import Store

WS, NAME = "ws", "svc"


class StubRuntime:
    def __init__(self) -> None:
        self.stopped: list[ReplicaHandle] = []

    def stop(self, handle: ReplicaHandle, timeout: float = 10.0) -> None:
        self.stopped.append(handle)


def _engine(tmp_path: Path) -> DeploymentEngine:
    """An engine with a stored Unhealthy AKS service whose one replica the supervisor took down."""
    store = Store(tmp_path / "state.db")
    body = {"name": NAME, "state": "Unhealthy", "computeType": "AKS", "deploymentStatus": {},
            "fakeAzure": {"replicas": [{"id": "r1", "state": "CrashLoopBackOff", "restarts": 0}]}}
    with store.transaction() as conn:
        services.insert(conn, WS, body, {})
    engine = DeploymentEngine.__new__(DeploymentEngine)
    engine._store, engine._runtime, engine._work_dir = store, StubRuntime(), tmp_path
    engine._lock, engine._services, engine._stopping = threading.Lock(), {}, threading.Event()
    engine._gateways = SimpleNamespace(existing_for=lambda ws_id, name: None, stop_all=lambda: None)
    engine.supervisor = SimpleNamespace(stop=lambda: None)
    engine._state(WS, NAME).launch = object()  # deployed: restart() starts from this launch context
    return engine


def test_a_replica_that_becomes_ready_while_the_daemon_stops_is_stopped_not_installed(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    state = engine._state(WS, NAME)
    new = ReplicaHandle(spec=None, host="", port=0, socket_path=str(tmp_path / "r1.sock"))

    def start_replica(*args, **kwargs) -> ReplicaHandle:
        engine.shutdown()  # `fake-azure down` stops every replica while this one becomes ready
        return new

    engine._start_replica = start_replica  # type: ignore[method-assign]
    assert engine.restart((WS, NAME), "r1") == "stale"
    assert state.handles == {}, "a replica was installed after the daemon stopped every replica"
    assert engine._runtime.stopped == [new]
