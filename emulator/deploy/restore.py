"""After a daemon restart: the services that were serving or deploying come back, and the operations the
last daemon left unfinished carry on (each service's latest; older ones are cancelled).

Replicas a killed daemon left running are taken over first (as the kubelet finds its containers after a
restart); what is not taken over is swept before any replica starts. Gateways listen again on their
remembered ports before the daemon announces itself, so a known scoring URI never refuses a connection."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from scoring.probe import probe_once

from ..operations import OperationRecord, Operations
from ..resources.services import service as services
from ..resources.services.schema import ENDPOINT
from ..resources.services.state import ServiceState
from ..runtimes.base import ReplicaHandle, ReplicaRuntime, ReplicaSpec, RuntimeErrorBase
from ..store import Store
from . import lifecycle
from .deployment import Deployments, ServiceKey
from .folders import ServiceFolders
from .gateways import GatewayPool
from .records import ReplicaState

# An operation that changes no replica: a service under it is restored as it runs.
REGENERATE_KEYS = "service.regenerateKeys"
# A replica a killed daemon left running is taken over only if it answers its readiness probe within this.
ADOPT_PROBE_TIMEOUT_S = 2.0


class Restorer:
    def __init__(self, store: Store, operations: Operations, runtime: ReplicaRuntime, gateways: GatewayPool,
                 deployments: Deployments, folders: ServiceFolders) -> None:
        self._store = store
        self._operations = operations
        self._runtime = runtime
        self._gateways = gateways
        self._deployments = deployments
        self._folders = folders

    def restore(self, deploy: Callable[[str, str, str | None, bool], None], delete: Callable[[str, str, str], None],
                sweep: Callable[[], None]) -> None:
        """Take over, sweep, reopen the routes, then hand each service to ``deploy`` or ``delete``."""
        conn = self._store.read()
        rows = conn.execute("SELECT workspace_id, name, state FROM services").fetchall()
        unfinished: dict[ServiceKey, OperationRecord] = {}
        for started in self._operations.unfinished(conn, "service."):  # oldest first: the latest one stays
            unfinished[(started.workspace_id, started.target)] = started
        whole: set[ServiceKey] = set()  # services every replica of which was taken over
        for row in rows:
            key = (row["workspace_id"], row["name"])
            op = unfinished.get(key)
            # Not where an operation is redone (it replaces the replicas): only what was serving as recorded.
            if ServiceState(row["state"]) in lifecycle.RESTORED_STATES and (
                    op is None or op.kind == REGENERATE_KEYS) and self._adopt(*key):
                whole.add(key)
        sweep()  # before any replica starts: a new one is not in the handles while it starts
        deletes: list[tuple[ServiceKey, str]] = []
        deploys: list[tuple[ServiceKey, str | None]] = []
        # AKS endpoints (resources/services/endpoints.py): only their route comes back; a version deploying under
        # its endpoint's operation is redone under it.
        endpoint_routes: list[ServiceKey] = []
        endpoint_ops = {key: op.id for key, op in unfinished.items()
                        if op.kind not in (REGENERATE_KEYS, "service.delete") and lifecycle.find(conn, *key) is not None
                        and lifecycle.read(conn, *key).compute_type == ENDPOINT}
        with self._store.transaction() as conn:
            for (ws_id, name), op in unfinished.items():
                self._operations.cancel_running(conn, ws_id, "service.", name, "Superseded by a later operation "
                                                "on the service.", keep=op.id)
            for row in rows:
                key = (row["workspace_id"], row["name"])
                op = unfinished.get(key)
                if ServiceState(row["state"]) is ServiceState.FAILED:  # swept above, old replicas of an update too
                    lifecycle.stopped_by_restart(conn, *key)
                if op is not None and op.kind != REGENERATE_KEYS:
                    self._operations.reopen(conn, op.id)  # whatever the last daemon resolved, it is redone
                if op is not None and op.kind == "service.delete":
                    deletes.append((key, op.id))
                elif lifecycle.read(conn, *key).compute_type == ENDPOINT:
                    endpoint_routes.append(key)
                elif (row["workspace_id"], row["name"].split(".")[0]) in endpoint_ops and \
                        ServiceState(row["state"]) is ServiceState.TRANSITIONING:
                    deploys.append((key, endpoint_ops[(row["workspace_id"], row["name"].split(".")[0])]))
                elif ServiceState(row["state"]) in lifecycle.RESTORED_STATES or op is not None:
                    if key not in whole:  # it reads Transitioning until its replicas are back (or fails)
                        lifecycle.restore_begun(conn, *key)
                    deploys.append((key, op.id if op is not None and op.kind != REGENERATE_KEYS else None))
        self._reopen_routes([key for key, _ in deploys] + endpoint_routes)
        for (ws_id, name), op_id in deletes:
            delete(ws_id, name, op_id)
        for (ws_id, name), redo in deploys:
            deploy(ws_id, name, redo, redo is None)

    def _adopt(self, ws_id: str, name: str) -> bool:
        """Take over the service's replicas that a killed daemon left running and that answer their readiness
        probe (one that does not is stopped, and started afresh by the deployment). True when every one was."""
        replicas = lifecycle.read(self._store.read(), ws_id, name).replicas
        deployment = self._deployments.get((ws_id, name))
        for replica in replicas:
            if replica.state is not ReplicaState.RUNNING:
                continue
            # Only what the runtime needs to find it and reach it: the rest of the spec (environment, entry
            # script, env) is not known before the environment is prepared, and not needed by a running replica.
            spec = ReplicaSpec(replica_id=replica.id, service_name=name,
                               app_root=self._folders.app_root(ws_id, name, replica.id), environment="",
                               entry_script="", log_path=self._folders.log_path(ws_id, name, replica.id),
                               port=replica.port or 0, socket_path=Path(replica.socket) if replica.socket else None)
            try:
                handle = self._runtime.adopt(spec)
            except RuntimeErrorBase:
                handle = None
            if handle is None:
                continue
            if probe_once(handle.address, ADOPT_PROBE_TIMEOUT_S):
                with deployment.lock:
                    deployment.handles[replica.id] = handle
            else:  # hung or not listening where recorded
                self._runtime.stop(handle, timeout=2)
        return bool(replicas) and all(r.id in deployment.handles for r in replicas)

    def _reopen_routes(self, keys: list[ServiceKey]) -> None:
        """The data plane first: each restored service that had a scoring URI gets its cluster's gateway back
        on the remembered port, its route published with the replicas taken over (or none yet), before the
        daemon announces itself. A request there is held (up to the service's max queue wait, then 503 "No
        ready replicas", as azureml-fe answers) until the deployment publishes the replicas: never refused."""
        conn = self._store.read()
        by_workspace: dict[str, list[tuple[dict[str, Any], dict[str, Any], list[ReplicaHandle]]]] = {}
        recorded: dict[ServiceKey, str] = {}
        for ws_id, name in keys:
            record = lifecycle.read(conn, ws_id, name)
            if record.local or not record.scoring_uri:
                continue  # a local service is its container's port; a never-deployed one had no route
            recorded[(ws_id, name)] = record.scoring_uri
            running = self._deployments.get((ws_id, name)).ready_handles(record.replica_ids)
            by_workspace.setdefault(ws_id, []).append((record.wire, services.secrets_of(conn, ws_id, name), running))
        moved: dict[ServiceKey, str] = {}
        for ws_id, restored in by_workspace.items():
            self._gateways.reopen(ws_id, restored)
            for body, _, _ in restored:
                name = body["name"]
                uri = self._gateways.for_service(ws_id, body).scoring_uri(name)
                if uri != recorded[(ws_id, name)]:  # the remembered port was taken meanwhile
                    moved[(ws_id, name)] = uri
        if moved:
            with self._store.transaction() as conn:
                for (ws_id, name), uri in moved.items():
                    lifecycle.route_moved(conn, ws_id, name, uri)
