"""The scaler: samples each autoscaled service's gateway, asks autoscaler.py for a replica count and
moves to it (new replicas start and become ready before they are published; removed ones leave the
gateway before they are stopped). A scaling step claims the deployment; it skips a busy one."""
from __future__ import annotations

import threading
import time

from ..resources.services import service as services
from ..resources.services.state import ServiceState
from ..runtimes.base import ReplicaHandle, ReplicaRuntime
from ..scheduler import Unschedulable
from ..store import Store
from . import lifecycle
from .autoscaler import AutoscalePolicy, Sample, decide
from .deployment import Deployment, Deployments
from .failures import DeployFailed
from .folders import ServiceFolders
from .gateways import GatewayPool
from .launcher import ReplicaLauncher
from .records import ReplicaRecord, ReplicaSettings
from .ticker import Ticker

TICK_S = 0.2


class Scaler:
    def __init__(self, store: Store, runtime: ReplicaRuntime, gateways: GatewayPool, deployments: Deployments,
                 folders: ServiceFolders, launcher: ReplicaLauncher, scale_down_delay: float = 60.0) -> None:
        self._store = store
        self._runtime = runtime
        self._gateways = gateways
        self._deployments = deployments
        self._folders = folders
        self._launcher = launcher
        self.scale_down_delay = scale_down_delay
        self.ticker = Ticker("autoscaler", lambda: self.tick(time.monotonic()))

    def start(self, interval: float = TICK_S) -> None:
        self.ticker.start(interval)

    def stop(self) -> None:
        self.ticker.stop()

    def tick(self, now: float) -> None:
        for (ws_id, name), deployment in self._deployments.items():
            if deployment.launch is None or not deployment.handles or deployment.busy:
                continue
            record = lifecycle.serving(self._store.read(), ws_id, name)
            if record is None:
                continue
            scaler = record.autoscale
            gateway = self._gateways.existing_for(ws_id, name)
            if scaler is None or not scaler.enabled or record.state is not ServiceState.HEALTHY or gateway is None:
                continue
            stats = gateway.gateway.stats(name)
            queued = stats.queue_waits > deployment.queue_waits_seen
            deployment.queue_waits_seen = stats.queue_waits
            policy = AutoscalePolicy(scaler.min_replicas, scaler.max_replicas, scaler.target_utilization,
                                     scaler.refresh_seconds, self.scale_down_delay)
            target = decide(policy, deployment.autoscale, now, Sample(stats.busy_replicas, stats.replicas, queued))
            if target is not None and target != stats.replicas:
                reason = (f"utilisation {100 * deployment.autoscale.window[-1][1]:.0f}% (target "
                          f"{policy.target_utilization:.0f}%)")
                threading.Thread(target=self.scale, args=(ws_id, name, target, reason), daemon=True).start()

    def scale(self, ws_id: str, name: str, count: int, reason: str) -> None:
        """Move the service to ``count`` replicas (as many as its cluster can hold); nothing when a
        deployment or another scaling step is under way."""
        deployment = self._deployments.find((ws_id, name))
        if deployment is None or not deployment.claim("scale", wait=False):
            return
        try:
            self._scale(ws_id, name, count, reason, deployment)
        finally:
            deployment.release()

    def _scale(self, ws_id: str, name: str, count: int, reason: str, deployment: Deployment) -> None:
        with self._store.transaction() as conn:
            record = lifecycle.read(conn, ws_id, name)
            body = record.wire
            current = list(record.replicas)
            added: list[ReplicaRecord] = []
            for wanted in range(count - len(current), 0, -1):  # as many as the cluster can hold
                try:
                    added = [ReplicaRecord.from_row(r) for r in services.plan_replicas(
                        conn, ws_id, body, wanted, keep=[r.to_wire() for r in current])]
                    break
                except Unschedulable:
                    continue
            removed = current[count:] if count < len(current) else []
            kept = current + added if added else current[:len(current) - len(removed)]
            lifecycle.scale_planned(conn, ws_id, record, kept)
        if count > len(current) and not added:
            self.log(ws_id, name, f"cannot scale out to {count} replicas: the cluster has no room")
            return
        started: dict[str, ReplicaHandle] = {}
        if added:
            launch = deployment.launch
            try:
                if launch is None:
                    raise DeployFailed({"message": "the service is not deployed"})
                started = self._launcher.start_all(ws_id, ReplicaSettings.from_v1_body(body), added, launch,
                                                   deployment.abandoned)
            except DeployFailed:
                with self._store.transaction() as conn:
                    if services.row(conn, ws_id, name) is not None:
                        lifecycle.replicas_forgotten(conn, ws_id, name, [r.id for r in added])
                self.log(ws_id, name, "scale-out failed: new replicas did not become ready")
                return
        stopped: list[ReplicaHandle] = []
        with deployment.lock:
            wanted_still = not deployment.abandoned.is_set() and \
                lifecycle.serving(self._store.read(), ws_id, name) is not None
            if wanted_still:  # not deleted, failed (a crash loop) or redeployed meanwhile
                deployment.handles.update(started)
                gateway = self._gateways.for_service(ws_id, body)
                gateway.publish(body, services.secrets_of(self._store.read(), ws_id, name),
                                deployment.ready_handles([r.id for r in kept]))
                # Off the gateway first (above), then stopped: no request is cut.
                stopped = [h for h in (deployment.drop(r.id) for r in removed) if h is not None]
                handles = dict(deployment.handles)
        if not wanted_still:
            self._stop(list(started.values()))
            return
        self._stop(stopped)
        with self._store.transaction() as conn:
            now = lifecycle.scaled(conn, ws_id, name, count, handles)
        self.log(ws_id, name, f"scaled from {len(current)} to {now} replicas: {reason}")

    def _stop(self, handles: list[ReplicaHandle]) -> None:
        for handle in handles:
            self._runtime.stop(handle, timeout=5)

    def log(self, ws_id: str, name: str, message: str) -> None:
        path = self._folders.service_dir(ws_id, name) / "autoscaler.log"
        with open(path, "a") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} autoscaler: {message}\n")
