"""Kubelet-like supervision of running replicas: liveness probes, restarts with back-off, crash loops.

The supervisor only decides; the deploy engine acts (``SupervisedHost``). Every decision is made in
``tick(now)`` against an injected clock, so the policy is unit-tested without processes or sleeps;
slow work (an HTTP probe, a replica restart) runs through ``spawn`` (a thread in the daemon, inline
in unit tests)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional, Protocol

from .ticker import Ticker

# Kubernetes restarts a failed container after 10 s, 20 s, 40 s ... capped at 5 min; scaled down so
# a test sees a restart within a second. A replica that has run this long counts as stable again.
BACKOFF_START_S = 0.5
BACKOFF_CAP_S = 8.0
STABLE_AFTER_S = 10.0
# Restarts in a row (without the replica becoming stable) before the service is Failed (CrashLoopBackOff).
MAX_RESTARTS = 3
# Azure's default probe period is 10 s; the emulator probes at least every second so a hung replica
# is noticed in test time (docs/parity.md).
MAX_PERIOD_S = 1.0
TICK_S = 0.1

RestartOutcome = Literal["ok", "crashed", "stale"]
ServiceKey = tuple[str, str]  # (workspace id, service name)


def backoff(restarts_so_far: int) -> float:
    """Delay before restart number ``restarts_so_far + 1``: 0.5, 1, 2, 4, 8, 8, ... seconds."""
    return min(BACKOFF_START_S * (2 ** restarts_so_far), BACKOFF_CAP_S)


@dataclass(frozen=True)
class ProbePolicy:
    period_s: float = MAX_PERIOD_S
    timeout_s: float = 2.0
    failure_threshold: int = 3
    success_threshold: int = 1
    initial_delay_s: float = 0.0

    @classmethod
    def from_body(cls, probe: dict[str, Any], delay_scale: float = 0.0,
                  max_period_s: float = MAX_PERIOD_S) -> "ProbePolicy":
        """From ``livenessProbeRequirements``; the initial delay (310 s by default in Azure) is scaled by
        ``FAKE_AZURE_PROBE_DELAY_SCALE`` (0 by default: probes start as soon as the replica is ready)."""
        return cls(period_s=min(float(probe.get("periodSeconds") or 10), max_period_s),
                   timeout_s=float(probe.get("timeoutSeconds") or 2),
                   failure_threshold=max(1, int(probe.get("failureThreshold") or 3)),
                   success_threshold=max(1, int(probe.get("successThreshold") or 1)),
                   initial_delay_s=float(probe.get("initialDelaySeconds") or 0) * delay_scale)


@dataclass(frozen=True)
class Target:
    """One supervised service: its probe policy and its replicas (replica id -> handle, None while down)."""
    key: ServiceKey
    policy: ProbePolicy
    replicas: dict[str, Any]
    # The engine is working on the service (scaling, a kill): no probe, no restart; a dead replica is
    # still taken out of rotation at once.
    paused: bool = False


class SupervisedHost(Protocol):
    def supervised(self) -> list[Target]: ...
    def is_alive(self, handle: Any) -> bool: ...
    def is_busy(self, key: ServiceKey, replica_id: str) -> bool: ...
    def probe(self, handle: Any, timeout_s: float) -> bool: ...
    def killed(self, key: ServiceKey, handle: Any) -> bool: ...
    def take_down(self, key: ServiceKey, replica_id: str, handle: Any, reason: str) -> bool: ...
    def restart(self, key: ServiceKey, replica_id: str) -> RestartOutcome: ...
    def give_up(self, key: ServiceKey, replica_id: str) -> None: ...


@dataclass
class Watch:
    """What the supervisor knows about one replica."""
    handle: Any
    started: float
    next_probe: float
    failures: int = 0
    successes: int = 0
    crashes: int = 0  # restarts since the replica last ran stably
    restart_at: Optional[float] = None  # set while the replica is down, waiting for its back-off
    busy: bool = False  # a probe or a restart is running for it


def _spawn_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, daemon=True, name="supervisor-work").start()


class Supervisor:
    def __init__(self, host: SupervisedHost, clock: Callable[[], float] = time.monotonic,
                 spawn: Callable[[Callable[[], None]], None] = _spawn_thread, max_restarts: int = MAX_RESTARTS,
                 stable_after_s: float = STABLE_AFTER_S) -> None:
        self._host = host
        self._clock = clock
        self._spawn = spawn
        self.max_restarts = max_restarts
        self.stable_after_s = stable_after_s
        self._watches: dict[tuple[ServiceKey, str], Watch] = {}
        self._lock = threading.Lock()
        self.ticker = Ticker("supervisor", self.tick)

    # --- lifecycle ---
    def start(self, interval: float = TICK_S) -> None:
        self.ticker.start(interval)

    def stop(self) -> None:
        self.ticker.stop()

    # --- decisions ---
    def tick(self, now: Optional[float] = None) -> None:
        now = self._clock() if now is None else now
        seen: set[tuple[ServiceKey, str]] = set()
        for target in self._host.supervised():
            for replica_id, handle in target.replicas.items():
                wkey = (target.key, replica_id)
                seen.add(wkey)
                self._check(target, replica_id, handle, wkey, now)
        with self._lock:  # services deleted, redeployed or failed: forget their replicas
            for wkey in [k for k, w in self._watches.items() if k not in seen and not w.busy]:
                del self._watches[wkey]

    def _check(self, target: Target, replica_id: str, handle: Any, wkey: tuple[ServiceKey, str],
               now: float) -> None:
        restart_now = False
        with self._lock:
            watch = self._watches.get(wkey)
            if watch is None:
                if handle is None:
                    return  # a replica we never saw running: not ours to restart
                watch = self._watches[wkey] = Watch(handle, now, now + target.policy.initial_delay_s)
            elif handle is not None and watch.handle is not handle:  # restarted: probe it afresh
                watch.handle, watch.started, watch.restart_at = handle, now, None
                watch.failures = watch.successes = 0
                watch.next_probe = now + target.policy.initial_delay_s
            if watch.busy:
                return
            if watch.restart_at is not None:
                restart_now = watch.busy = now >= watch.restart_at and not target.paused
            elif handle is not None and watch.crashes and now - watch.started >= self.stable_after_s:
                watch.crashes = 0  # as Kubernetes resets its back-off after a container ran a while
        if restart_now:  # outside the lock: the work may run inline (unit tests) and takes the lock itself
            self._spawn(lambda: self._restart(target.key, replica_id, watch))
        if watch.restart_at is not None or handle is None:
            return
        if not self._host.is_alive(handle):
            # Off the tick thread, as probes are: a take-down may wait for the service's lock (a scaling
            # step holds it while new replicas start; the take-down ejects the replica from the gateway
            # first), and every other service must stay supervised meanwhile.
            with self._lock:
                watch.busy = True
            self._spawn(lambda: self._down_and_release(target.key, replica_id, watch, now))
            return
        if target.paused or now < watch.next_probe:
            return
        watch.next_probe = now + target.policy.period_s
        if self._host.is_busy(target.key, replica_id):
            # With the period shortened to a second, a single-worker replica busy scoring would miss
            # probes that Azure's 10 s period tolerates: a busy replica counts as alive.
            return
        with self._lock:
            watch.busy = True
        self._spawn(lambda: self._probe(target, replica_id, watch))

    def _probe(self, target: Target, replica_id: str, watch: Watch) -> None:
        # ``busy`` stays set until any take-down is done, so no second probe acts on the same replica.
        try:
            ok = self._host.probe(watch.handle, target.policy.timeout_s)
            with self._lock:
                if ok:
                    watch.successes += 1
                    if watch.successes >= target.policy.success_threshold:
                        watch.failures = 0
                    return
                watch.successes = 0
                watch.failures += 1
                failed = watch.failures >= target.policy.failure_threshold
            if failed:
                self._down(target.key, replica_id, watch, self._clock(),
                           f"failed {watch.failures} liveness probes in a row")
        finally:
            with self._lock:
                watch.busy = False

    def _down_and_release(self, key: ServiceKey, replica_id: str, watch: Watch, now: float) -> None:
        """A replica whose process ended: off the gateway; one killed from outside (a node going down)
        is restarted as a new pod would be, without counting towards the crash loop."""
        try:
            if self._host.killed(key, watch.handle):
                self._down(key, replica_id, watch, now, "was killed (SIGKILL)", crashed=False)
            else:
                self._down(key, replica_id, watch, now, "exited")
        finally:
            with self._lock:
                watch.busy = False

    def _down(self, key: ServiceKey, replica_id: str, watch: Watch, now: float, reason: str,
              crashed: bool = True) -> None:
        """The replica died or stopped answering: off the gateway, then restart after back-off or give up."""
        if not self._host.take_down(key, replica_id, watch.handle, reason):
            with self._lock:  # the engine replaced it meanwhile (redeploy, delete): nothing to do
                self._watches.pop((key, replica_id), None)
            return
        if not crashed:
            with self._lock:  # the first back-off step; the crash count stays as it was
                watch.restart_at = now + backoff(0)
            return
        self._after_failure(key, replica_id, watch, now)

    def _after_failure(self, key: ServiceKey, replica_id: str, watch: Watch, now: float) -> None:
        with self._lock:
            give_up = watch.crashes >= self.max_restarts
            if give_up:
                self._watches.pop((key, replica_id), None)
            else:
                watch.restart_at = now + backoff(watch.crashes)
                watch.crashes += 1
        if give_up:
            self._host.give_up(key, replica_id)

    def _restart(self, key: ServiceKey, replica_id: str, watch: Watch) -> None:
        outcome: RestartOutcome = "stale"
        try:
            outcome = self._host.restart(key, replica_id)
        finally:
            with self._lock:
                watch.busy = False
                if outcome == "stale":
                    self._watches.pop((key, replica_id), None)
                elif outcome == "ok":
                    watch.restart_at = None  # the next tick sees the new handle and probes it
        if outcome == "crashed":
            self._after_failure(key, replica_id, watch, self._clock())
