"""One scoring front end per cluster (AKS) or per workspace (ACI), on a port that survives restarts.

The port a cluster's gateway got is remembered in the ``gateways`` table, so a service's
``scoring_uri`` stays the same across ``fake-azure down``/``up``."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..gateway import AuthPolicy, Gateway, ReplicaEndpoint, ServiceRoute
from ..gateway import tls as gateway_tls
from ..runtimes.base import ReplicaHandle
from ..store import Store
from . import tokens

if TYPE_CHECKING:
    from ..faults import Faults

ACI_CLUSTER = "~aci"  # ACI services share one front end per workspace
# A service as the gateway publishes it: its record, its secret values, its ready replicas.
Published = tuple[dict[str, Any], dict[str, Any], list[ReplicaHandle]]


def _cluster_of(body: dict[str, Any]) -> str:
    return body.get("computeName") or ACI_CLUSTER


def route_for(body: dict[str, Any], secret_values: dict[str, Any]) -> ServiceRoute:
    extra = body.get("fakeAzure") or {}
    # An AKS endpoint's version is reached through its endpoint, whose keys or token guard it.
    internal = bool(extra.get("endpoint"))
    if internal:
        auth = AuthPolicy("none")
    elif body.get("aadAuthEnabled"):
        auth = AuthPolicy("token", token_verifier=tokens.verifier(secret_values["tokenSecret"], body["name"]))
    elif body.get("authEnabled"):
        auth = AuthPolicy("key", keys=(secret_values["primaryKey"], secret_values["secondaryKey"]))
    else:
        auth = AuthPolicy("none")
    return ServiceRoute(name=body["name"], auth=auth,
                        max_concurrent_per_replica=int(body.get("maxConcurrentRequestsPerContainer") or 1),
                        max_queue_wait_ms=int(body.get("maxQueueWaitMs") or 500),
                        scoring_timeout_ms=int(body.get("scoringTimeoutMs") or 60000),
                        versions=tuple((name, int(weight)) for name, weight in extra.get("split") or ()),
                        internal=internal,
                        # A managed online deployment answers as Azure's inference router; a Kubernetes one as its
                        # cluster's azureml-fe, as v1 services on that cluster.
                        managed=extra.get("frontEnd") == "v2" and body.get("computeType") == "Managed",
                        run_error_as_bad_gateway=extra.get("frontEnd") == "v2" and body.get("computeType") != "Managed",
                        label=_v2_label(body["name"]) if extra.get("frontEnd") == "v2" else "")


def _v2_label(core: str) -> str:
    """A v2 deployment's core record (``{endpoint}~{deployment}``) as its users name it."""
    endpoint, _, deployment = core.partition("~")
    return f"deployment {deployment} of endpoint {endpoint}" if deployment else f"service {core}"


def endpoint_of(handle: ReplicaHandle) -> ReplicaEndpoint:
    """Where the gateway reaches a replica: its unix socket, else its TCP port."""
    return ReplicaEndpoint(handle.replica_id, handle.host, handle.port, handle.socket_path)

class ClusterGateway:
    """A started Gateway, publishing services from their records and replica handles."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def scoring_uri(self, name: str) -> str:
        return self.gateway.scoring_uri(name)

    def publish(self, body: dict[str, Any], secret_values: dict[str, Any],
                handles: Iterable[ReplicaHandle]) -> None:
        self.gateway.upsert_service(route_for(body, secret_values))
        self.gateway.set_replicas(body["name"], [endpoint_of(h) for h in handles])

    def eject(self, name: str, handle: ReplicaHandle) -> bool:
        """Take a dead replica out of rotation at once (the engine republishes the replicas afterwards)."""
        return self.gateway.eject_replica(name, endpoint_of(handle))

    def refresh_auth(self, body: dict[str, Any], secret_values: dict[str, Any]) -> None:
        if self.gateway.routes(body["name"]):
            self.gateway.upsert_service(route_for(body, secret_values))

    def unpublish(self, name: str) -> None:
        self.gateway.remove_service(name)


class GatewayPool:
    def __init__(self, store: Store, faults: "Faults | None" = None, home: Path | None = None) -> None:
        self._store = store
        self._faults = faults
        self._home = home  # where the TLS files of clusters with SSL enabled live (None: plain HTTP only)
        self._gateways: dict[tuple[str, str], ClusterGateway] = {}
        self._lock = threading.Lock()

    def for_service(self, ws_id: str, body: dict[str, Any], held: Iterable[Published] = ()) -> ClusterGateway:
        """The gateway of ``body``'s cluster, started on its remembered port if it is not running.

        ``held``: (body, secret values, replicas) of services of that cluster, published before the gateway
        accepts its first connection (a restarted daemon's services: a request waits for their replicas,
        never gets a 404 in between)."""
        key = (ws_id, _cluster_of(body))
        held = list(held)
        with self._lock:
            existing = self._gateways.get(key)
            if existing is not None:
                for published in held:
                    existing.publish(*published)
                return existing
            row = self._store.read().execute("SELECT port FROM gateways WHERE workspace_id = ? AND cluster = ?",
                                             key).fetchone()
            tls = self._tls(ws_id, key[1])
            try:
                created = self._start(ws_id, row["port"] if row else 0, held, tls)
            except OSError:  # the remembered port is taken now: take another, the URI changes
                created = self._start(ws_id, 0, held, tls)
            self._gateways[key] = created
            gateway = created.gateway
        # Recorded outside the pool's lock: a thread in a write transaction may be waiting for that lock
        # (take_down republishes inside one), and this write would wait for it in turn.
        with self._store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO gateways (workspace_id, cluster, port) VALUES (?, ?, ?)",
                         (*key, gateway.port))
        return created

    def reopen(self, ws_id: str, restored: Iterable[Published]) -> None:
        """A restarted daemon's services of one workspace, (body, secret values, replicas) each: their clusters'
        gateways listen again, every route published before the first connection is accepted."""
        by_cluster: dict[str, list[Published]] = {}
        for published in restored:
            by_cluster.setdefault(_cluster_of(published[0]), []).append(published)
        for held in by_cluster.values():
            self.for_service(ws_id, held[0][0], held)

    def _tls(self, ws_id: str, cluster: str) -> Any:
        """The TLS context of the cluster's front end when its sslConfiguration enables SSL, else None."""
        if self._home is None or cluster == ACI_CLUSTER:
            return None
        row = self._store.read().execute("SELECT body FROM computes WHERE workspace_id = ? AND name = ?",
                                         (ws_id, cluster)).fetchone()
        if row is None:
            return None
        body = json.loads(row["body"])
        ssl_configuration = ((body.get("properties") or {}).get("properties") or {}).get("sslConfiguration")
        return gateway_tls.server_context(self._home, f"{ws_id}/{cluster}", ssl_configuration,
                                          (body.get("fakeAzure") or {}).get("scoringFqdn"))

    def _start(self, ws_id: str, port: int, held: list[Published], tls: Any = None) -> ClusterGateway:
        cluster_gateway = ClusterGateway(Gateway(port=port, faults=self._faults, scope=ws_id, tls=tls))
        for published in held:
            cluster_gateway.publish(*published)
        cluster_gateway.gateway.start()
        return cluster_gateway

    def existing_for(self, ws_id: str, name: str) -> ClusterGateway | None:
        with self._lock:
            for (gateway_ws, _), cluster_gateway in self._gateways.items():
                if gateway_ws == ws_id and cluster_gateway.gateway.routes(name):
                    return cluster_gateway
        return None

    def stop_all(self) -> None:
        with self._lock:
            gateways, self._gateways = list(self._gateways.values()), {}
        for cluster_gateway in gateways:
            cluster_gateway.gateway.stop()
