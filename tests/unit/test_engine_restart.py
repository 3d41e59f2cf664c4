"""A supervisor's restart starts the new replica without the deployment's lock, so whatever stopped the
service's replicas meanwhile (the daemon stopping, a reset) must not get a replica installed behind it."""
from __future__ import annotations

import threading
from pathlib import Path

from engine_harness import WS, Harness
from polling import poll

from emulator.runtimes.base import ReplicaSpec


def test_a_replica_that_becomes_ready_while_the_daemon_stops_is_stopped_not_installed(tmp_path: Path) -> None:
    harness = Harness(tmp_path)
    try:
        harness.wait(harness.create("svc"))
        replica_id = harness.body("svc")["fakeAzure"]["replicas"][0]["id"]
        deployment = harness.engine.deployments.get((WS, "svc"))
        handle = deployment.handles[replica_id]
        handle.native.crash(1)
        assert harness.engine.supervision.take_down((WS, "svc"), replica_id, handle, "exited")
        real_start = harness.runtime.start

        def start(spec: ReplicaSpec):
            new = real_start(spec)
            # `fake-azure down` stops every replica while this one becomes ready (it waits for this restart).
            stopping.start()
            assert poll(deployment.abandoned.is_set, 5)
            return new

        stopping = threading.Thread(target=harness.engine.shutdown, daemon=True)

        harness.runtime.start = start  # type: ignore[method-assign]  # the stub, held for this test
        assert harness.engine.supervision.restart((WS, "svc"), replica_id) == "stale"
        assert deployment.handles == {}, "a replica was installed after the daemon stopped every replica"
        stopping.join(5)
        assert not stopping.is_alive() and harness.runtime.live() == []
    finally:
        harness.close()
