"""Value types of the gateway and the per-service mutable state (slots, replicas, metrics)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Optional

from scoring.address import Address


@dataclass(frozen=True)
class AuthPolicy:
    """How callers authenticate: ``key`` (primary/secondary keys), ``token`` (verifier callable) or ``none``."""

    mode: str = "key"
    keys: tuple[str, ...] = ()
    token_verifier: Optional[Callable[[str], bool]] = None

    def __post_init__(self) -> None:
        if self.mode not in ("key", "token", "none"):
            raise ValueError(f"AuthPolicy.mode must be 'key', 'token' or 'none', not {self.mode!r}")
        if self.mode == "token" and self.token_verifier is None:
            raise ValueError("AuthPolicy(mode='token') needs a token_verifier")

    def __repr__(self) -> str:  # never show the keys
        return f"AuthPolicy(mode={self.mode!r}, keys=<{len(self.keys)} hidden>)"


@dataclass(frozen=True)
class ServiceRoute:
    name: str
    auth: AuthPolicy
    max_concurrent_per_replica: int = 1
    max_queue_wait_ms: int = 500
    scoring_timeout_ms: int = 60000
    # An AKS endpoint's route: its versions' routes and their shares of the traffic (percentages), which
    # the chain's split_traffic step chooses between; the endpoint itself has no replicas.
    versions: tuple[tuple[str, int], ...] = ()
    # A version behind an endpoint: reached through its endpoint's route only, never by its own path.
    internal: bool = False
    # A managed online deployment's route: answered as Azure's inference router answers (the model's
    # non-200 as 424, an overload as 429, the scoring timeout as 408) instead of as azureml-fe does.
    managed: bool = False
    # A Kubernetes online deployment's route (SDK v2): azureml-fe's codes, but an exception in run() (the
    # scoring server's 500) is 502, as Azure's table for Kubernetes online endpoints lists it.
    run_error_as_bad_gateway: bool = False
    # How the gateway's own answers name what they route to ("service NAME" unless set: a v2 deployment is named
    # as its users know it, not by its core record's name).
    label: str = ""

    @property
    def called(self) -> str:
        return self.label or f"service {self.name}"

    def __post_init__(self) -> None:
        if any(weight < 0 for _, weight in self.versions):
            raise ValueError("a version's share of the traffic cannot be negative")
        if self.max_concurrent_per_replica < 1:
            raise ValueError("max_concurrent_per_replica must be at least 1")
        if self.max_queue_wait_ms < 0 or self.scoring_timeout_ms <= 0:
            raise ValueError("max_queue_wait_ms must be >= 0 and scoring_timeout_ms > 0")


@dataclass(frozen=True)
class ReplicaEndpoint:
    """A replica the gateway forwards to: at ``socket_path`` (a unix socket) when set, else ``host:port``."""

    replica_id: str
    host: str
    port: int
    socket_path: Optional[str] = None

    @property
    def address(self) -> Address:
        return self.socket_path if self.socket_path is not None else (self.host, self.port)


@dataclass(frozen=True)
class ServiceStats:
    in_flight: int
    busy_replicas: int
    replicas: int
    served: int
    failed_by_status: dict[int, int]
    queue_waits: int
    latency_ms_sum: float = 0.0
    latency_ms_max: float = 0.0


class ServiceState:
    """Everything the chain shares about one service; all fields guarded by ``cond``."""

    def __init__(self, route: ServiceRoute) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.route = route
        self.replicas: list[ReplicaEndpoint] = []
        self.in_flight: dict[str, int] = {}  # replica_id -> requests being proxied to it
        self.reserved = 0  # admitted requests that have not picked a replica yet
        self.waiting = 0  # requests waiting in admit for a slot
        self.rr = 0  # round-robin cursor for ties
        self.removed = False
        self.publication = 0  # how many times the engine set the replicas (an ejection holds until the next)
        self.split_credit: dict[str, int] = {}  # an endpoint's weighted round-robin over its versions
        # metrics
        self.retried = 0  # requests sent to another replica after the first could not be reached
        self.ejected = 0  # replicas taken out of rotation because their port refused connections
        self.served = 0
        self.failed_by_status: dict[int, int] = {}
        self.queue_waits = 0
        self.latency_ms_sum = 0.0
        self.latency_ms_max = 0.0

    # --- slot accounting (call with cond held) ---
    def free_slots(self, excluding: frozenset[ReplicaEndpoint] = frozenset()) -> int:
        """Free concurrency slots on the replicas (but those in ``excluding``), less the admitted requests."""
        limit = self.route.max_concurrent_per_replica
        free = sum(max(0, limit - self.in_flight.get(r.replica_id, 0)) for r in self.replicas if r not in excluding)
        return free - self.reserved

    def pending(self) -> int:
        """Requests being proxied, admitted or waiting for a slot."""
        return sum(self.in_flight.values()) + self.reserved + self.waiting

    def eject(self, replica: ReplicaEndpoint, seen_publication: Optional[int] = None) -> bool:
        """Take ``replica`` out of rotation until the engine publishes the replicas again; whether it was in.
        With ``seen_publication`` (when a request chose it) only if the engine has not republished since:
        a replica restarted at the same address meanwhile stays."""
        if replica not in self.replicas or seen_publication not in (None, self.publication):
            return False
        self.replicas = [r for r in self.replicas if r != replica]
        self.ejected += 1
        self.cond.notify_all()  # waiters re-check: there may be no replica left
        return True

    def snapshot(self) -> ServiceStats:
        with self.cond:
            ids = {r.replica_id for r in self.replicas}
            current = [self.in_flight.get(i, 0) for i in ids]
            return ServiceStats(
                in_flight=sum(self.in_flight.values()),
                busy_replicas=sum(1 for n in current if n > 0),
                replicas=len(ids),
                served=self.served,
                failed_by_status=dict(self.failed_by_status),
                queue_waits=self.queue_waits,
                latency_ms_sum=self.latency_ms_sum,
                latency_ms_max=self.latency_ms_max,
            )


@dataclass
class Registry:
    """Services by name; the lock guards the dict only (per-service state has its own condition)."""

    services: dict[str, ServiceState] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, name: str) -> Optional[ServiceState]:
        with self.lock:
            return self.services.get(name)
