"""One scoring front end per cluster (AKS) or per workspace (ACI), on a port that survives restarts.

The port a cluster's gateway got is remembered in the ``gateways`` table, so a service's
``scoring_uri`` stays the same across ``fake-azure down``/``up``."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Iterable

from ..gateway import AuthPolicy, Gateway, ReplicaEndpoint, ServiceRoute
from ..runtimes.base import ReplicaHandle
from ..store import Store
from . import tokens

if TYPE_CHECKING:
    from ..faults import Faults

ACI_CLUSTER = "~aci"  # ACI services share one front end per workspace


def _cluster_of(body: dict[str, Any]) -> str:
    return body.get("computeName") or ACI_CLUSTER


def route_for(body: dict[str, Any], secret_values: dict[str, Any]) -> ServiceRoute:
    if body.get("aadAuthEnabled"):
        auth = AuthPolicy("token", token_verifier=tokens.verifier(secret_values["tokenSecret"], body["name"]))
    elif body.get("authEnabled"):
        auth = AuthPolicy("key", keys=(secret_values["primaryKey"], secret_values["secondaryKey"]))
    else:
        auth = AuthPolicy("none")
    return ServiceRoute(name=body["name"], auth=auth,
                        max_concurrent_per_replica=int(body.get("maxConcurrentRequestsPerContainer") or 1),
                        max_queue_wait_ms=int(body.get("maxQueueWaitMs") or 500),
                        scoring_timeout_ms=int(body.get("scoringTimeoutMs") or 60000))


class ClusterGateway:
    """A started Gateway, publishing services from their records and replica handles."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def scoring_uri(self, name: str) -> str:
        return self.gateway.scoring_uri(name)

    def publish(self, body: dict[str, Any], secret_values: dict[str, Any],
                handles: Iterable[ReplicaHandle]) -> None:
        self.gateway.upsert_service(route_for(body, secret_values))
        self.gateway.set_replicas(body["name"], [ReplicaEndpoint(h.replica_id, h.host, h.port) for h in handles])

    def refresh_auth(self, body: dict[str, Any], secret_values: dict[str, Any]) -> None:
        if self.gateway.routes(body["name"]):
            self.gateway.upsert_service(route_for(body, secret_values))

    def unpublish(self, name: str) -> None:
        self.gateway.remove_service(name)


class GatewayPool:
    def __init__(self, store: Store, faults: "Faults | None" = None) -> None:
        self._store = store
        self._faults = faults
        self._gateways: dict[tuple[str, str], ClusterGateway] = {}
        self._lock = threading.Lock()

    def for_service(self, ws_id: str, body: dict[str, Any]) -> ClusterGateway:
        key = (ws_id, _cluster_of(body))
        with self._lock:
            existing = self._gateways.get(key)
            if existing is not None:
                return existing
            row = self._store.read().execute("SELECT port FROM gateways WHERE workspace_id = ? AND cluster = ?",
                                             key).fetchone()
            gateway = Gateway(port=row["port"] if row else 0, faults=self._faults, scope=ws_id)
            try:
                gateway.start()
            except OSError:  # the remembered port is taken now: take another, the URI changes
                gateway = Gateway(port=0, faults=self._faults, scope=ws_id)
                gateway.start()
            created = self._gateways[key] = ClusterGateway(gateway)
        # Recorded outside the pool's lock: a thread in a write transaction may be waiting for that lock
        # (take_down republishes inside one), and this write would wait for it in turn.
        with self._store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO gateways (workspace_id, cluster, port) VALUES (?, ?, ?)",
                         (*key, gateway.port))
        return created

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
