"""Rollouts: a service's deployment (build, start, publish) and its delete, each run in a worker thread
that claims the deployment (deployment.py) for its duration. No lock is held while an environment
builds, a replica becomes ready or a replica stops: the deployment's lock is taken for moments, to
install what was started once it is still wanted."""
from __future__ import annotations

import shutil
import threading
import time
from typing import Any

from ..operations import Operations, OperationStatus, Outcome
from ..resources.services import service as services
from ..runtimes.base import ReplicaHandle, ReplicaRuntime
from ..store import Store
from . import lifecycle
from .autoscaler import AutoscaleState
from .deployment import Deployment, Deployments
from .failures import ABANDONED_ERROR, DeployFailed, internal_error
from .folders import ServiceFolders
from .gateways import GatewayPool
from .launch_context import LaunchContextBuilder
from .launcher import ReplicaLauncher
from .records import ReplicaSettings


class Rollouts:
    def __init__(self, store: Store, operations: Operations, runtime: ReplicaRuntime, gateways: GatewayPool,
                 deployments: Deployments, folders: ServiceFolders, contexts: LaunchContextBuilder,
                 launcher: ReplicaLauncher, stopping: threading.Event) -> None:
        self._store = store
        self._operations = operations
        self._runtime = runtime
        self._gateways = gateways
        self._deployments = deployments
        self._folders = folders
        self._contexts = contexts
        self._launcher = launcher
        self._stopping = stopping  # set when the daemon stops

    def stop_all(self, handles: list[ReplicaHandle], timeout: float = 5) -> None:
        for handle in handles:
            self._runtime.stop(handle, timeout=timeout)

    # --- deploy ---------------------------------------------------------------------------------------
    def deploy(self, ws_id: str, name: str, op_id: str | None, keep_running: bool = False) -> None:
        """Bring the service's replicas up as recorded and resolve ``op_id`` (None: a restored service);
        ``keep_running``: replicas taken over after a restart stay (only the missing ones start)."""
        while True:
            deployment = self._deployments.get((ws_id, name))
            deployment.claim("deploy")  # an earlier deployment or a scaling step ends first
            if self._deployments.find((ws_id, name)) is deployment:
                break
            deployment.release()  # deleted meanwhile: a new deployment object stands for the service now
        if self._stopping.is_set():  # queued behind the daemon's stop: the next daemon's restore() redoes it
            deployment.release()
            return
        try:
            self._deploy(ws_id, name, op_id, keep_running, deployment)
        finally:
            deployment.release()

    def _deploy(self, ws_id: str, name: str, op_id: str | None, keep_running: bool, deployment: Deployment) -> None:
        deployment.abandoned.clear()  # a delete queued before this deployment has finished by now
        retiring: list[ReplicaHandle] = []
        old_launch = deployment.launch
        if not keep_running:
            with deployment.lock:
                old = deployment.take_handles()
            if old and self._can_surge(ws_id, name, old):
                retiring = old  # a surge, as a rolling update: they serve until the new replicas do
                with deployment.lock:
                    deployment.retiring = {h.replica_id: h for h in old}
                    deployment.retiring_environment = old_launch.environment if old_launch else None
            else:
                self.stop_all(old)
        unexpected: Exception | None = None
        try:
            self._bring_up(ws_id, name, deployment)
            failure = None
        except DeployFailed as exc:
            failure = exc
        except Exception as exc:  # a bug must still end the operation, never leave it pending
            unexpected = exc
            failure = DeployFailed(internal_error(name, exc))
        # An update that failed while its old replicas serve leaves them serving, as Kubernetes does with the
        # old ReplicaSet (not after a delete, nor as the daemon stops, nor with no operation to report it).
        keep_old = bool(failure and retiring and op_id and not deployment.abandoned.is_set()
                        and not self._stopping.is_set())
        if not keep_old:
            self._retire(ws_id, name, retiring)
        with deployment.lock:
            deployment.retiring, deployment.retiring_environment = {}, None
        if failure is None:
            if op_id:
                self._operations.resolve(op_id, Outcome(OperationStatus.SUCCEEDED))
            else:  # restored after a restart: no operation to reveal the state
                with self._store.transaction() as conn:
                    lifecycle.restored(conn, ws_id, name)
            return
        with deployment.lock:
            started = deployment.take_handles()
            if keep_old:
                deployment.handles = {h.replica_id: h for h in retiring}
                deployment.launch = old_launch  # what a restart of them starts from, and keeps their environment
        if self._stopping.is_set():
            # The daemon stops: the next one's restore() redeploys under the same operation.
            self.stop_all(started)
            return
        try:
            if keep_old:  # still published on the gateway: the new replicas never were
                with self._store.transaction() as conn:
                    lifecycle.update_failed_old_serving(conn, ws_id, name, failure.error)
            else:  # restored after a restart there is no operation to reveal the failure: the record does
                self.record_failure(ws_id, name, failure.error, mark_failed=op_id is None)
            self.stop_all(started)
        finally:  # the operation ends whatever happens above: an unended one refuses every update
            if op_id:
                extra: dict[str, Any] = {"operationDetails": {"subOperationType": failure.sub_operation}}
                if failure.sub_operation == "BuildEnvironment":  # the SDK points users at this log
                    extra["operationLog"] = str(self._folders.service_dir(ws_id, name) / "environment.log")
                self._operations.resolve(op_id, Outcome(OperationStatus.FAILED, error=failure.error, extra=extra))
        if unexpected is not None:
            raise unexpected

    def _can_surge(self, ws_id: str, name: str, old: list[ReplicaHandle]) -> bool:
        """Whether new replicas may start beside the ``old`` ones: not a local service (its port), and not where
        a new replica would be given a GPU an old one holds (a framework like TensorFlow fills its device): the
        planner places an update's GPU replicas on free devices when the cluster has them."""
        record = lifecycle.find(self._store.read(), ws_id, name)
        if record is None or record.local:
            return False
        if not any(r.gpu_ids for r in record.replicas):
            return True
        if {h.replica_id for h in old} - {r.id for r in record.retiring}:
            return False  # an old replica whose devices the record does not say
        return not self._launcher.share_devices(record.replicas, record.retiring)

    def _retire(self, ws_id: str, name: str, handles: list[ReplicaHandle]) -> None:
        """An update's old replicas, once the new ones are published (or the update failed): each stops when
        the requests it was given have been answered (at most its scoring timeout later), so none is dropped."""
        if not handles:
            return
        cluster = self._gateways.existing_for(ws_id, name)
        record = lifecycle.find(self._store.read(), ws_id, name)
        timeout_s = int(record.wire.get("scoringTimeoutMs") or 0) / 1000 if record is not None else 0.0
        deadline = time.monotonic() + timeout_s
        while cluster is not None and time.monotonic() < deadline and not self._stopping.is_set() and any(
                cluster.gateway.replica_in_flight(name, h.replica_id) for h in handles):
            time.sleep(0.02)  # no lock held: requests finish on the gateway's threads
        self.stop_all(handles)

    def _bring_up(self, ws_id: str, name: str, deployment: Deployment) -> None:
        record = lifecycle.read(self._store.read(), ws_id, name)
        body, replicas = record.wire, record.replicas
        with deployment.lock:
            keep = set(deployment.handles)
        launch = self._contexts.build(ws_id, body, keep)  # may build an environment: no lock held
        with deployment.lock:
            deployment.launch = launch
            deployment.autoscale = AutoscaleState()
        missing = [r for r in replicas if r.id not in keep]
        started = self._launcher.start_all(ws_id, ReplicaSettings.from_v1_body(body), missing, launch,
                                           deployment.abandoned)
        with deployment.lock:
            abandoned = deployment.abandoned.is_set()  # deleted meanwhile, or the daemon stops
            if not abandoned:
                deployment.handles.update(started)
        if abandoned:
            self.stop_all(list(started.values()))
            raise DeployFailed(ABANDONED_ERROR)
        with deployment.lock:
            if record.local:
                # A local service is reached straight at its container's port: no gateway, no auth.
                scoring_uri = f"http://localhost:{deployment.handles[replicas[0].id].port}/score"
            else:
                gateway = self._gateways.for_service(ws_id, body)
                gateway.publish(body, services.secrets_of(self._store.read(), ws_id, name),
                                deployment.ready_handles([r.id for r in replicas]))
                scoring_uri = gateway.scoring_uri(name)
            handles = dict(deployment.handles)
        with self._store.transaction() as conn:
            lifecycle.deployed(conn, ws_id, name, scoring_uri, handles)

    def record_failure(self, ws_id: str, name: str, error: dict[str, Any], mark_failed: bool = False) -> None:
        """Record why the replicas are down (``mark_failed``: the service fails too), then take the service
        off its gateway."""
        with self._store.transaction() as conn:
            lifecycle.deploy_failed(conn, ws_id, name, error, mark_failed)
        gateway = self._gateways.existing_for(ws_id, name)
        if gateway is not None:
            gateway.unpublish(name)

    # --- delete ---------------------------------------------------------------------------------------
    def delete(self, ws_id: str, name: str, op_id: str) -> None:
        """The caller set the deployment's ``abandoned``: what is starting gives up at once."""
        self.delete_several(ws_id, [name], op_id)

    def delete_several(self, ws_id: str, names: list[str], op_id: str) -> None:
        """Take down each service in turn (an AKS endpoint's versions), then resolve the one operation."""
        for name in names:
            key = (ws_id, name)
            deployment = self._deployments.get(key)
            deployment.claim("delete")
            try:
                self.take_down_everything(deployment, remove_files=True)
                self._deployments.forget(key, deployment)
            finally:
                deployment.release()
        self._operations.resolve(op_id, Outcome(OperationStatus.SUCCEEDED))

    def take_down_everything(self, deployment: Deployment, remove_files: bool) -> None:
        """Off the gateway, every replica stopped, and (``remove_files``) the service's folder removed, once
        no restart is in flight (so nothing writes there afterwards). The caller holds the claim."""
        ws_id, name = deployment.key
        deployment.quiesce()
        # Off the gateway first, as everywhere else: a request arriving now gets the deleted
        # service's 404, never a 502 from a replica being stopped.
        gateway = self._gateways.existing_for(ws_id, name)
        if gateway is not None:
            gateway.unpublish(name)
        with deployment.lock:
            handles = deployment.take_handles()
        self.stop_all(handles)
        if remove_files:
            # Replicas' app roots and every log go with the service (a failed service keeps its logs
            # for get_logs until it is deleted; nothing reads them afterwards).
            shutil.rmtree(self._folders.service_dir(ws_id, name), ignore_errors=True)
