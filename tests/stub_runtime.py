"""A stub ``ReplicaRuntime`` for engine-level tests: replicas are in-memory objects, no azmlinfsrv.

Each replica answers the readiness probe (``GET /`` -> 200 ``Healthy``) on its unix socket (or a loopback
port) once it is ready, so the engine's real probes and the real gateway see it; a test tells it to
become ready, crash or hang. What a started replica does first is the runtime's ``behaviour(spec)``:
``"ready"`` (at once), ``"starting"`` (until told), ``"crash"`` (it exits during init).
"""
from __future__ import annotations

import socket
import threading
from typing import Any, Callable, Iterable, Mapping

from emulator.runtimes.base import ReplicaHandle, ReplicaRuntime, ReplicaSpec

HEALTHY = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\nHealthy"


class StubReplica:
    """One replica: ``starting`` (refuses probes), ``ready``, ``hung`` (accepts, never answers) or dead."""

    def __init__(self, spec: ReplicaSpec) -> None:
        self.spec = spec
        self.state = "starting"
        self.exit_code: int | None = None
        self.changed = threading.Condition()
        if spec.socket_path is not None:
            spec.socket_path.unlink(missing_ok=True)
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(str(spec.socket_path))
        else:
            self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind(("127.0.0.1", spec.port))
        self._listener.listen(16)
        bound = self._listener.getsockname()
        self.port = bound[1] if isinstance(bound, tuple) else 0
        self._held: list[socket.socket] = []  # a hung replica's connections, never answered
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"stub-{spec.replica_id}")
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self.exit_code is None

    def _set(self, state: str) -> None:
        with self.changed:
            self.state = state
            self.changed.notify_all()

    def become_ready(self) -> None:
        self._set("ready")

    def hang(self) -> None:
        self._set("hung")

    def crash(self, code: int = 1) -> None:
        """The process ends by itself (``code`` > 0) or by a signal (negative)."""
        if self.exit_code is None:
            self.exit_code = code
            self._close()
            self._set("dead")

    def _close(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        for conn in self._held:
            conn.close()
        if self.spec.socket_path is not None:
            self.spec.socket_path.unlink(missing_ok=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed: the replica ended
            if self.state == "hung":
                self._held.append(conn)
                continue
            with conn:
                if self.state != "ready":
                    continue  # init() has not finished: nothing answers yet
                try:
                    conn.settimeout(2)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(HEALTHY)
                except OSError:
                    pass


class StubRuntime(ReplicaRuntime):
    """Replicas as :class:`StubReplica` objects; ``replicas`` keeps every one started, in order."""

    name = "stub"

    def __init__(self, behaviour: Callable[[ReplicaSpec], str] = lambda spec: "ready") -> None:
        self.behaviour = behaviour
        self.replicas: list[StubReplica] = []
        self.prepared: list[Mapping[str, Any]] = []
        self.started = threading.Condition()
        self.stopped: list[str] = []  # replica ids, in the order they were stopped

    def prepare(self, environment: Mapping[str, Any], log: Callable[[str], None]) -> str:
        self.prepared.append(environment)
        log("stub runtime: environment ready")
        return "stub-environment"

    def start(self, spec: ReplicaSpec) -> ReplicaHandle:
        # As the real runtimes do: the replica's log goes where the spec says, its folder made if need be.
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log_path, "a") as log:
            log.write(f"stub replica {spec.replica_id} starting\n")
        replica = StubReplica(spec)
        what = self.behaviour(spec)
        if what == "ready":
            replica.become_ready()
        elif what == "crash":
            replica.crash(1)
        with self.started:
            self.replicas.append(replica)
            self.started.notify_all()
        return self._handle(replica)

    @staticmethod
    def _handle(replica: StubReplica) -> ReplicaHandle:
        spec = replica.spec
        return ReplicaHandle(spec=spec, host="127.0.0.1", port=replica.port, native=replica,
                             socket_path=str(spec.socket_path) if spec.socket_path is not None else None)

    def stop(self, handle: ReplicaHandle, timeout: float = 10.0) -> None:
        replica: StubReplica = handle.native
        if replica.alive:
            replica.crash(-9 if timeout == 0 else -15)
        self.stopped.append(handle.replica_id)

    def is_alive(self, handle: ReplicaHandle) -> bool:
        return handle.native.alive

    def exit_code(self, handle: ReplicaHandle) -> int | None:
        return handle.native.exit_code

    def sweep(self, keep_replica_ids: Iterable[str] = ()) -> list[str]:
        keep = set(keep_replica_ids)
        swept = [r for r in self.replicas if r.alive and r.spec.replica_id not in keep]
        for replica in swept:
            replica.crash(-15)
        return [r.spec.replica_id for r in swept]

    def adopt(self, spec: ReplicaSpec) -> ReplicaHandle | None:
        """A replica still running from an earlier engine on this runtime (a killed daemon's)."""
        for replica in reversed(self.replicas):
            if replica.spec.replica_id == spec.replica_id and replica.alive:
                return self._handle(replica)
        return None

    # --- for tests ---
    def live(self) -> list[StubReplica]:
        return [r for r in self.replicas if r.alive]

    def wait_started(self, count: int, timeout: float = 10.0) -> list[StubReplica]:
        """The first ``count`` replicas started, once there are that many."""
        with self.started:
            if not self.started.wait_for(lambda: len(self.replicas) >= count, timeout):
                raise AssertionError(f"{len(self.replicas)} replicas started, {count} expected")
            return self.replicas[:count]
