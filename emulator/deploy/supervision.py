"""What the supervisor (supervisor.py, which only decides) acts through: the engine's side of
``SupervisedHost``. A dead replica leaves the gateway at once; its restart starts and becomes ready
without any lock, and is installed only if the service still wants it."""
from __future__ import annotations

import signal

from scoring.probe import probe_once

from ..resources.services import service as services
from ..runtimes.base import ReplicaHandle, ReplicaRuntime
from ..store import Store
from . import lifecycle
from .deployment import Deployment, Deployments, ServiceKey
from .failures import DeployFailed
from .gateways import GatewayPool
from .launch_context import LaunchContext
from .launcher import ReplicaLauncher
from .records import ReplicaSettings
from .supervisor import ProbePolicy, RestartOutcome, Target


class SupervisionHost:
    def __init__(self, store: Store, runtime: ReplicaRuntime, gateways: GatewayPool, deployments: Deployments,
                 launcher: ReplicaLauncher, probe_delay_scale: float = 0.0) -> None:
        self._store = store
        self._runtime = runtime
        self._gateways = gateways
        self._deployments = deployments
        self._launcher = launcher
        self.probe_delay_scale = probe_delay_scale

    def supervised(self) -> list[Target]:
        """Serving services whose replicas the supervisor watches (paused while a rollout runs)."""
        targets = []
        conn = self._store.read()
        for key, deployment in self._deployments.items():
            if deployment.launch is None:
                continue
            record = lifecycle.serving(conn, *key)
            if record is None or record.local:
                continue  # Docker does not restart a local container (and the SDK does not expect it)
            policy = ProbePolicy.from_body(record.liveness_probe, self.probe_delay_scale)
            targets.append(Target(key, policy, {rid: deployment.handles.get(rid) for rid in record.replica_ids},
                                  deployment.busy))
        return targets

    def is_alive(self, handle: ReplicaHandle) -> bool:
        return self._runtime.is_alive(handle)

    def is_busy(self, key: ServiceKey, replica_id: str) -> bool:
        gateway = self._gateways.existing_for(*key)
        return gateway is not None and gateway.gateway.replica_in_flight(key[1], replica_id) > 0

    def probe(self, handle: ReplicaHandle, timeout_s: float) -> bool:
        return probe_once(handle.address, timeout_s)

    def killed(self, key: ServiceKey, handle: ReplicaHandle) -> bool:
        """Whether a dead replica was killed from outside (SIGKILL: ``faults.kill_replica``, a node going
        down) rather than ending by itself."""
        deployment = self._deployments.find(key)
        if deployment is not None and any(h is handle for h in list(deployment.killed)):
            return True
        return self._runtime.exit_code(handle) in (-signal.SIGKILL, 128 + signal.SIGKILL)

    def take_down(self, key: ServiceKey, replica_id: str, handle: ReplicaHandle, reason: str) -> bool:
        """Take a dead or hung replica off the gateway and stop it; the service is Unhealthy until it is back."""
        ws_id, name = key
        deployment = self._deployments.get(key)
        gateway = self._gateways.existing_for(ws_id, name)
        if gateway is not None and deployment.handles.get(replica_id) is handle:
            gateway.eject(name, handle)  # out of rotation before anything else
        with deployment.lock:  # held briefly: nothing under it waits for a replica
            if deployment.handles.get(replica_id) is not handle:
                deployment.killed = [h for h in deployment.killed if h is not handle]
                return False
            with self._store.transaction() as conn:
                record = lifecycle.serving(conn, ws_id, name)
                if record is None:
                    return False
                deployment.drop(replica_id)
                self._republish(deployment)  # the engine's view: every replica but this one
                lifecycle.replica_lost(conn, ws_id, record, replica_id, len(deployment.handles))
        # No longer in the handles, so no one else stops it; a hung replica may take seconds to stop.
        self._runtime.stop(handle, timeout=2)
        with open(handle.log_path, "a") as replica_log:
            replica_log.write(f"\n[fake-azure] replica {replica_id} {reason}; restarting it with back-off "
                              "(Kubernetes: Back-off restarting failed container)\n")
        return True

    def restart(self, key: ServiceKey, replica_id: str) -> RestartOutcome:
        """Start a replica the supervisor took down; Healthy again once every replica is back.

        The new replica starts and becomes ready without the deployment's lock (a take-down of another
        replica must not wait for it); the lock is taken briefly to install it, once the service is
        still supervised and its replica slot still wants it (no redeploy, scaling or delete meanwhile).
        A delete waits for it to end before it removes the service's folder."""
        ws_id, name = key
        deployment = self._deployments.get(key)
        with deployment.lock:
            launch = deployment.launch
            record = lifecycle.serving(self._store.read(), ws_id, name)
            replica = None if record is None else record.replica(replica_id)
            if record is None or replica is None or launch is None or replica_id in deployment.handles \
                    or not deployment.begin_launch():
                return "stale"
        try:
            try:
                handle: ReplicaHandle | None = self._launcher.start(
                    ws_id, ReplicaSettings.from_v1_body(record.wire), replica, launch, deployment.abandoned,
                    attempts=1)
            except DeployFailed:
                handle = None
            if not self._install_restarted(deployment, replica_id, launch, handle):
                if handle is not None:
                    self._runtime.stop(handle, timeout=2)
                return "stale"
            return "ok" if handle is not None else "crashed"
        finally:
            deployment.end_launch()

    def _install_restarted(self, deployment: Deployment, replica_id: str, launch: LaunchContext,
                           handle: ReplicaHandle | None) -> bool:
        """Put a restarted replica (None: it crashed) into the service; False when the service moved on."""
        ws_id, name = deployment.key
        with deployment.lock, self._store.transaction() as conn:
            if deployment.abandoned.is_set():  # the daemon stops, or a reset or delete stops every replica
                return False
            record = lifecycle.serving(conn, ws_id, name)
            if record is None or deployment.launch is not launch or replica_id in deployment.handles:
                return False  # deleted, failed or redeployed meanwhile, or the slot was filled
            if replica_id not in record.replica_ids:
                return False  # scaled in meanwhile
            if handle is not None:
                deployment.handles[replica_id] = handle
                self._republish(deployment)
            lifecycle.replica_back(conn, ws_id, record, replica_id, handle, deployment.handles)
        return True

    def give_up(self, key: ServiceKey, replica_id: str) -> None:
        """A replica kept crashing after its restarts: the service fails with Azure's CrashLoopBackOff."""
        ws_id, name = key
        deployment = self._deployments.get(key)
        with deployment.lock:
            if lifecycle.serving(self._store.read(), ws_id, name) is None:
                return
            handles = deployment.take_handles()
            with self._store.transaction() as conn:
                lifecycle.crash_looped(conn, ws_id, name)
            gateway = self._gateways.existing_for(ws_id, name)
            if gateway is not None:
                gateway.unpublish(name)  # off the gateway, then stopped
        for handle in handles:  # outside the lock: stopping takes up to seconds each
            self._runtime.stop(handle, timeout=5)

    def _republish(self, deployment: Deployment) -> None:
        """Publish the deployment's running replicas (call with its lock held)."""
        ws_id, name = deployment.key
        gateway = self._gateways.existing_for(ws_id, name)
        if gateway is not None:
            conn = self._store.read()
            record = lifecycle.read(conn, ws_id, name)
            gateway.publish(record.wire, services.secrets_of(conn, ws_id, name),
                            deployment.ready_handles(record.replica_ids))

