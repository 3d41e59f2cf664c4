"""One deployment's live side: its replicas' handles, what they start from, and who is working on it.

``lock`` guards the fields and is only ever held for moments: never across an environment build, a
readiness wait or a replica stop. Work that takes long claims the deployment instead: one rollout at a
time (a deployment, a scaling step or a delete; ``claim``), while restarts of single replicas count as
launches in flight. A delete (or the daemon stopping) sets ``abandoned`` first, so whatever is starting
gives up within a readiness poll, and then waits for the deployment to be idle (``quiesce``) before it
removes the service's folder, so nothing writes there afterwards."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

from ..runtimes.base import ReplicaHandle
from .autoscaler import AutoscaleState

if TYPE_CHECKING:
    from .launch_context import LaunchContext

ServiceKey = tuple[str, str]  # (workspace id, service name)


@dataclass(eq=False)
class Deployment:
    key: ServiceKey
    handles: dict[str, ReplicaHandle] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    launch: "LaunchContext | None" = None
    autoscale: AutoscaleState = field(default_factory=AutoscaleState)
    queue_waits_seen: int = 0
    kills: int = 0  # injected kill_replica faults so far (they rotate over the replicas)
    killed: list[ReplicaHandle] = field(default_factory=list)  # by kill_replica, while still in handles
    # An update's old replicas, serving until the new ones are published, then draining: still live (a sweep
    # keeps them), with the environment they run on.
    retiring: dict[str, ReplicaHandle] = field(default_factory=dict)
    retiring_environment: str | None = None
    abandoned: threading.Event = field(default_factory=threading.Event)
    task: str | None = None  # the rollout under way: "deploy", "scale" or "delete"
    launches: int = 0  # replicas starting outside a rollout (restarts)

    def __post_init__(self) -> None:
        self._idle = threading.Condition(self.lock)

    # --- long work (these take the lock themselves, and wait without holding it) ---
    def claim(self, task: str, wait: bool = True) -> bool:
        """Become the deployment's one rollout; waits for the one under way (or, ``wait=False``, gives up)."""
        with self._idle:
            while self.task is not None:
                if not wait:
                    return False
                self._idle.wait()
            self.task = task
            return True

    def release(self) -> None:
        with self._idle:
            self.task = None
            self._idle.notify_all()

    @property
    def busy(self) -> bool:
        """A rollout is under way (the supervisor pauses its probes, the autoscaler waits)."""
        return self.task is not None

    def begin_launch(self) -> bool:
        """Count a replica restart in flight; False once the deployment is abandoned. Call with ``lock``."""
        if self.abandoned.is_set():
            return False
        self.launches += 1
        return True

    def end_launch(self) -> None:
        with self._idle:
            self.launches -= 1
            self._idle.notify_all()

    def quiesce(self) -> None:
        """Wait until no replica restart is in flight (after ``abandoned`` is set, a readiness poll or so)."""
        with self._idle:
            self._idle.wait_for(lambda: self.launches == 0)

    # --- handles (call with ``lock`` held) ---
    def take_handles(self) -> list[ReplicaHandle]:
        """Every replica's handle, forgotten here: the caller stops them (outside the lock)."""
        taken = list(self.handles.values())
        self.handles.clear()
        self.killed.clear()
        return taken

    def drop(self, replica_id: str) -> ReplicaHandle | None:
        handle = self.handles.pop(replica_id, None)
        if handle is not None:
            self.killed = [h for h in self.killed if h is not handle]
        return handle

    def ready_handles(self, replica_ids: list[str]) -> list[ReplicaHandle]:
        """The handles of the replicas ``replica_ids`` (in order) that are running."""
        return [self.handles[rid] for rid in replica_ids if rid in self.handles]


class Deployments:
    """The engine's deployments by service; the registry's lock is held for lookups only."""

    def __init__(self) -> None:
        self._by_key: dict[ServiceKey, Deployment] = {}
        self._lock = threading.Lock()

    def get(self, key: ServiceKey) -> Deployment:
        with self._lock:
            found = self._by_key.get(key)
            if found is None:
                found = self._by_key[key] = Deployment(key)
            return found

    def find(self, key: ServiceKey) -> Deployment | None:
        with self._lock:
            return self._by_key.get(key)

    def items(self) -> list[tuple[ServiceKey, Deployment]]:
        with self._lock:
            return list(self._by_key.items())

    def __iter__(self) -> Iterator[Deployment]:
        return iter([deployment for _, deployment in self.items()])

    def forget(self, key: ServiceKey, deployment: Deployment) -> None:
        """Drop ``deployment`` (if it is still the one recorded for ``key``)."""
        with self._lock:
            if self._by_key.get(key) is deployment:
                del self._by_key[key]

    def clear(self) -> None:
        with self._lock:
            self._by_key.clear()

    def live_replica_ids(self) -> set[str]:
        return {rid for deployment in self for rid in [*deployment.handles, *deployment.retiring]}
