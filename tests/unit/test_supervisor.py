"""The supervisor's decisions on a fake host and an injected clock: no processes, no sleeps."""
from __future__ import annotations

from typing import Any

from emulator.deploy.supervisor import BACKOFF_CAP_S, MAX_PERIOD_S, ProbePolicy, Supervisor, Target, backoff

KEY = ("ws", "svc")


class Handle:
    def __init__(self, name: str) -> None:
        self.name = name
        self.alive = True
        self.healthy = True
        self.killed = False  # ended by SIGKILL from outside (a node going down), not by itself


class FakeHost:
    """Replicas whose liveness the test controls; records what the supervisor asked for."""

    def __init__(self, policy: ProbePolicy = ProbePolicy(period_s=1.0, failure_threshold=3),
                 replicas: int = 2) -> None:
        self.policy = policy
        self.handles: dict[str, Any] = {f"r{i}": Handle(f"r{i}-0") for i in range(replicas)}
        self.events: list[tuple] = []
        self.restart_crashes = 0  # how many restarts to come will crash
        self.busy: set[str] = set()
        self.serving = True
        self.probes = 0

    def supervised(self) -> list[Target]:
        return [Target(KEY, self.policy, dict(self.handles))] if self.serving else []

    def is_alive(self, handle: Handle) -> bool:
        return handle.alive

    def is_busy(self, key, replica_id: str) -> bool:
        return replica_id in self.busy

    def probe(self, handle: Handle, timeout_s: float) -> bool:
        self.probes += 1
        return handle.healthy

    def killed(self, key, handle: Handle) -> bool:
        return handle.killed

    def take_down(self, key, replica_id: str, handle: Handle, reason: str) -> bool:
        if self.handles.get(replica_id) is not handle:
            return False
        self.handles[replica_id] = None
        self.events.append(("down", replica_id, reason))
        return True

    def restart(self, key, replica_id: str) -> str:
        if self.restart_crashes > 0:
            self.restart_crashes -= 1
            self.events.append(("crashed", replica_id))
            return "crashed"
        self.handles[replica_id] = Handle(f"{replica_id}-new")
        self.events.append(("restarted", replica_id))
        return "ok"

    def give_up(self, key, replica_id: str) -> None:
        self.events.append(("failed", replica_id))
        self.serving = False


class ClockedSupervisor(Supervisor):
    """Work runs inline; ``tick(now)`` also moves the injected clock the supervisor reads afterwards."""

    def __init__(self, host: FakeHost, **kwargs) -> None:
        self.now = 0.0
        super().__init__(host, clock=lambda: self.now, spawn=lambda work: work(), **kwargs)

    def tick(self, now: float | None = None) -> None:
        self.now = self.now if now is None else now
        super().tick(now)


def supervisor(host: FakeHost, **kwargs) -> Supervisor:
    return ClockedSupervisor(host, **kwargs)


def test_backoff_doubles_from_half_a_second_and_is_capped():
    assert [backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff(50) == BACKOFF_CAP_S


def test_probe_policy_from_the_service_body():
    body = {"periodSeconds": 10, "initialDelaySeconds": 310, "timeoutSeconds": 2, "successThreshold": 1,
            "failureThreshold": 3}
    assert ProbePolicy.from_body(body) == ProbePolicy(MAX_PERIOD_S, 2.0, 3, 1, 0.0)
    assert ProbePolicy.from_body(body, delay_scale=0.01).initial_delay_s == 3.1
    assert ProbePolicy.from_body({"periodSeconds": 0.25}).period_s == 0.25  # shorter periods are kept


def test_a_dead_replica_is_taken_down_and_restarted_after_backoff():
    host = FakeHost()
    sup = supervisor(host)
    sup.tick(0.0)
    host.handles["r1"].alive = False
    sup.tick(0.1)
    assert host.events == [("down", "r1", "exited")]
    sup.tick(0.5)  # the first back-off (0.5 s) has not passed since 0.1
    assert ("restarted", "r1") not in host.events
    sup.tick(0.61)
    assert host.events[-1] == ("restarted", "r1")
    sup.tick(0.7)  # the new replica is watched afresh, not taken down again
    assert host.events.count(("down", "r1", "exited")) == 1


def test_a_hung_replica_fails_after_failure_threshold_probes():
    host = FakeHost(ProbePolicy(period_s=1.0, failure_threshold=3))
    sup = supervisor(host)
    host.handles["r0"].healthy = False
    for second in range(3):
        assert not [e for e in host.events if e[0] == "down"]
        sup.tick(float(second))
    assert host.events[0] == ("down", "r0", "failed 3 liveness probes in a row")
    assert ("down", "r1", "failed 3 liveness probes in a row") not in host.events


def test_probes_wait_for_the_period_and_the_initial_delay():
    host = FakeHost(ProbePolicy(period_s=1.0, initial_delay_s=5.0), replicas=1)
    sup = supervisor(host)
    sup.tick(0.0)
    sup.tick(4.9)
    assert host.probes == 0
    sup.tick(5.0)
    sup.tick(5.5)
    assert host.probes == 1
    sup.tick(6.0)
    assert host.probes == 2


def test_a_success_resets_the_failure_count():
    host = FakeHost(ProbePolicy(period_s=1.0, failure_threshold=2), replicas=1)
    sup = supervisor(host)
    handle = host.handles["r0"]
    for second, healthy in enumerate([False, True, False, True, False]):
        handle.healthy = healthy
        sup.tick(float(second))
    assert host.events == []


def test_a_busy_replica_is_not_probed():
    host = FakeHost(ProbePolicy(period_s=1.0, failure_threshold=1), replicas=1)
    host.busy.add("r0")
    host.handles["r0"].healthy = False
    sup = supervisor(host)
    for second in range(5):
        sup.tick(float(second))
    assert host.probes == 0 and host.events == []


def test_restarts_that_keep_crashing_fail_the_service():
    host = FakeHost(replicas=1)
    sup = supervisor(host, max_restarts=3)
    sup.tick(0.0)
    host.restart_crashes = 10
    host.handles["r0"].alive = False
    now = 0.0
    for _ in range(200):
        now += 0.1
        sup.tick(now)
        if not host.serving:
            break
    assert host.events == [("down", "r0", "exited"), ("crashed", "r0"), ("crashed", "r0"), ("crashed", "r0"),
                           ("failed", "r0")]
    assert 0.5 + 1 + 2 <= now < 0.5 + 1 + 2 + 1  # back-off 0.5, 1, 2 s between the attempts


def test_a_replica_that_dies_again_soon_counts_towards_the_crash_loop():
    host = FakeHost(replicas=1)
    sup = supervisor(host, max_restarts=2, stable_after_s=10.0)
    now = 0.0
    sup.tick(now)
    for _ in range(3):
        host.handles["r0"].alive = False
        for _ in range(40):  # long enough for any back-off below the cap
            now += 0.1
            sup.tick(now)
            if host.handles["r0"] is not None and host.handles["r0"].alive:
                break
    assert host.events[-1] == ("failed", "r0")
    assert [e[0] for e in host.events].count("restarted") == 2


def test_a_replica_that_ran_stably_gets_a_fresh_backoff():
    host = FakeHost(replicas=1)
    sup = supervisor(host, max_restarts=1, stable_after_s=10.0)
    sup.tick(0.0)
    host.handles["r0"].alive = False
    sup.tick(0.1)
    sup.tick(0.7)
    assert host.events[-1] == ("restarted", "r0")
    sup.tick(0.8)
    sup.tick(11.0)  # ran 10 s: stable again
    host.handles["r0"].alive = False
    sup.tick(11.1)
    sup.tick(11.7)
    assert host.events[-1] == ("restarted", "r0") and ("failed", "r0") not in host.events


def test_a_replica_replaced_by_the_engine_is_forgotten():
    host = FakeHost(replicas=1)
    sup = supervisor(host)
    sup.tick(0.0)
    old = host.handles["r0"]
    old.alive = False
    host.handles["r0"] = Handle("redeployed")  # the engine redeployed meanwhile
    sup.tick(0.1)
    assert host.events == []  # the new handle is watched; the old one is not taken down
    host.serving = False
    sup.tick(0.2)
    assert sup._watches == {}


def test_watches_survive_while_the_engine_works_on_the_service():
    host = FakeHost(replicas=1)
    sup = supervisor(host, max_restarts=1)
    sup.tick(0.0)
    host.restart_crashes = 5
    host.handles["r0"].alive = False
    sup.tick(0.1)
    host.serving = False  # e.g. the service's lock is held: reported paused, not absent
    paused = Target(KEY, host.policy, dict(host.handles), paused=True)
    host.supervised = lambda: [paused]  # type: ignore[method-assign]  # this test picks the targets
    sup.tick(5.0)
    assert ("r0" in {k[1] for k in sup._watches}) and ("crashed", "r0") not in host.events
    # this test picks the targets (a method replaced on the instance):
    host.supervised = lambda: [Target(KEY, host.policy, dict(host.handles))]  # type: ignore[method-assign]
    for now in (5.1, 5.2, 7.0, 9.0):
        sup.tick(now)
    assert host.events[-1] == ("failed", "r0")  # the crash count was kept across the pause


def test_a_take_down_that_waits_does_not_hold_up_the_tick() -> None:
    """take_down may wait for a deployment's lock: the tick hands it off and goes on with the others."""
    host = FakeHost(replicas=1)
    deferred: list = []
    sup = Supervisor(host, clock=lambda: 0.0, spawn=deferred.append)  # work held back, as if blocked
    host.handles["r0"].alive = False
    for now in (0.0, 0.5, 0.6):
        sup.tick(now)
    assert host.events == []  # nothing was done on the tick thread
    for work in list(deferred):
        work()
    assert host.events.count(("down", "r0", "exited")) == 1  # one take-down, not one per tick


def test_a_replica_killed_from_outside_is_restarted_without_counting_towards_the_crash_loop():
    """A node going down kills replicas that did nothing wrong: Kubernetes starts new pods, so repeated
    kills never fail the service (issue 11: two replicas killed 0.8 s apart every 5 s)."""
    host = FakeHost(replicas=1)
    sup = supervisor(host, max_restarts=2, stable_after_s=10.0)
    now = 0.0
    sup.tick(now)
    for _ in range(5):  # killed again soon after each restart
        host.handles["r0"].killed = True
        host.handles["r0"].alive = False
        now += 0.1
        sup.tick(now)
        assert host.events[-1] == ("down", "r0", "was killed (SIGKILL)")
        sup.tick(now + 0.45)
        assert host.events[-1][0] == "down"  # restarted after the first back-off step, 0.5 s ...
        now += 0.51
        sup.tick(now)
        assert host.events[-1] == ("restarted", "r0")  # ... every time: the back-off does not grow
    assert ("failed", "r0") not in host.events and host.serving


def test_a_dead_replica_is_taken_down_while_the_engine_works_on_the_service():
    """Paused (the engine holds the service's lock: scaling, a kill): no probe and no restart, but a replica
    whose process died leaves rotation at once, whatever else is going on."""
    host = FakeHost(ProbePolicy(period_s=1.0, failure_threshold=1), replicas=2)
    # this test picks the targets (a method replaced on the instance):
    host.supervised = lambda: [Target(KEY, host.policy, dict(host.handles), paused=True)]  # type: ignore[method-assign]
    sup = supervisor(host)
    sup.tick(0.0)
    host.handles["r0"].healthy = False
    host.handles["r1"].alive = False
    sup.tick(0.1)
    assert host.events == [("down", "r1", "exited")]
    for now in (1.0, 2.0, 3.0):  # paused: neither the restart nor a probe of the hung r0 happens
        sup.tick(now)
    assert host.events == [("down", "r1", "exited")] and host.probes == 0
    # this test picks the targets (a method replaced on the instance):
    host.supervised = lambda: [Target(KEY, host.policy, dict(host.handles))]  # type: ignore[method-assign]
    sup.tick(3.1)
    assert ("restarted", "r1") in host.events
