"""The ``Gateway`` (registry of services + front end running ``chain.build_chain()``), and
``BackgroundServer``, a stoppable waitress server used for stand-in replicas in tests and the bench."""
from __future__ import annotations

import ssl
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

from scoring.address import Address

from .chain import build_chain
from .context import Context
from .frontend import FrontEndThread
from .model import Registry, ReplicaEndpoint, ServiceRoute, ServiceState, ServiceStats
from .proxy import ConnectionPool

if TYPE_CHECKING:
    from ..faults import Faults

STOP_POLL_S = 0.05  # how often an idle loop looks at its stop flag (requests never wait on it)


class Gateway:
    """One azureml-fe-like front end. All public methods are thread-safe."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, clock: Callable[[], float] = time.monotonic,
                 faults: Optional["Faults"] = None, scope: Optional[str] = None,
                 tls: Optional[ssl.SSLContext] = None) -> None:
        self._faults = faults
        self._tls = tls  # a cluster with SSL enabled: https (emulator/gateway/tls.py)
        self._scope = scope
        self._host = host
        self._requested_port = port
        self._clock = clock
        self._registry = Registry()
        self._pool = ConnectionPool()
        self._chain = build_chain()
        self._frontend: Optional[FrontEndThread] = None
        self._lock = threading.Lock()

    # --- lifecycle ---
    def start(self) -> None:
        with self._lock:
            if self._frontend is None:
                self._frontend = FrontEndThread(self._host, self._requested_port, self._chain, self._make_context,
                                                self._tls)

    def stop(self) -> None:
        with self._lock:
            frontend, self._frontend = self._frontend, None
        if frontend is not None:
            frontend.stop()
            self._pool.close_all()
            self._pool = ConnectionPool()  # a restarted gateway gets a fresh pool

    @property
    def port(self) -> int:
        frontend = self._frontend
        if frontend is None:
            raise RuntimeError("Gateway is not started")
        return frontend.port

    def scoring_uri(self, name: str) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self._host}:{self.port}/api/v1/service/{name}/score"

    # --- services ---
    def routes(self, name: str) -> bool:
        """Whether requests for ``name`` are routed here."""
        return self._registry.get(name) is not None

    def upsert_service(self, route: ServiceRoute) -> None:
        with self._registry.lock:
            existing = self._registry.services.get(route.name)
            if existing is None:
                self._registry.services[route.name] = ServiceState(route)
                return
        with existing.cond:  # in-flight requests keep their slots; new limits apply from now
            if existing.route.versions != route.versions:
                existing.split_credit.clear()  # a new split starts its round afresh
            existing.route = route
            existing.cond.notify_all()

    def remove_service(self, name: str) -> None:
        with self._registry.lock:
            state = self._registry.services.pop(name, None)
        if state is not None:
            with state.cond:
                state.removed = True
                state.cond.notify_all()
        self._forget_idle_connections()

    def set_replicas(self, name: str, replicas: list[ReplicaEndpoint]) -> None:
        state = self._state(name)
        unique: dict[str, ReplicaEndpoint] = {}
        for replica in replicas:
            unique[replica.replica_id] = replica
        with state.cond:
            state.replicas = list(unique.values())
            state.publication += 1
            state.cond.notify_all()
        self._forget_idle_connections()

    def eject_replica(self, name: str, replica: ReplicaEndpoint) -> bool:
        """Take one replica out of rotation now (it died), without waiting for anything but the service's
        own condition; the next ``set_replicas`` decides again. Whether it was in rotation."""
        state = self._registry.get(name)
        if state is None:
            return False
        with state.cond:
            return state.eject(replica)

    def _forget_idle_connections(self) -> None:
        """Idle keep-alive connections to replicas no service routes to any more are closed."""
        with self._registry.lock:
            states = list(self._registry.services.values())
        live: set[Address] = set()
        for state in states:
            with state.cond:
                live.update(r.address for r in state.replicas)
        self._pool.retain(live)

    def stats(self, name: str) -> ServiceStats:
        return self._state(name).snapshot()

    def replica_in_flight(self, name: str, replica_id: str) -> int:
        """Requests being proxied to one replica now (the supervisor does not probe a busy replica)."""
        state = self._registry.get(name)
        if state is None:
            return 0
        with state.cond:
            return state.in_flight.get(replica_id, 0)

    def _state(self, name: str) -> ServiceState:
        state = self._registry.get(name)
        if state is None:
            raise KeyError(f"Service {name} is not routed by this gateway")
        return state

    def _make_context(self, method: str, path: str, query: str, headers: dict[str, str],
                      content_length: Optional[int], read_body: Callable[[int], bytes]) -> Context:
        return Context(method=method, path=path, query=query, headers=headers, content_length=content_length,
                       read_body=read_body, registry=self._registry, pool=self._pool, clock=self._clock,
                       faults=self._faults, scope=self._scope)


def _serve(server: Any, stopping: threading.Event) -> None:
    """waitress's loop, checking ``stopping`` between polls; closes every channel on the loop thread at the end."""
    from waitress import wasyncore

    socket_map = server._map
    while not stopping.is_set() and socket_map:
        wasyncore.loop(timeout=STOP_POLL_S, map=socket_map, use_poll=True, count=1)
    for channel in list(socket_map.values()):
        channel.close()


class BackgroundServer:
    """A waitress server on its own loop thread that stops cleanly (stand-in replicas for tests and bench)."""

    def __init__(self, app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0, **adjustments: Any) -> None:
        from waitress import create_server

        self.server = create_server(app, host=host, port=port, **adjustments)
        self.port = int(self.server.effective_port)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=_serve, args=(self.server, self._stopping),
                                        name=f"waitress-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._thread.join(timeout=10)
        self.server.task_dispatcher.shutdown()
