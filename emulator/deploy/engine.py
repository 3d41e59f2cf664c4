"""The deploy engine: the coordinator that turns a service record into running replicas behind the
cluster's gateway. It owns the roles and wires them; each does one job:

- ``launch_context.LaunchContextBuilder``: environment, models and source a replica starts from;
- ``launcher.ReplicaLauncher``: a replica's spec, start, readiness wait and back-off;
- ``deployment.Deployment``: one service's replicas, its lock (held for moments only) and its rollout claim;
- ``rollout.Rollouts``: deploy and delete workers; ``scaler.Scaler``: the autoscale loop;
- ``supervision.SupervisionHost``: what the supervisor acts through; ``restore.Restorer``: after a restart;
- ``lifecycle``: the engine's writes to service records.

Each create, update or delete runs in a worker thread; its operation stays pending until the
replicas are ready (or have failed), then the engine resolves it and the progress policy reveals
the outcome. Replica processes belong to the daemon: a deploy script may exit, the service lives on.
Constructing an engine starts nothing; ``start()`` starts its supervisor and autoscaler."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

from ..blobs import BlobStore
from ..errors import BadRequest, NotFound
from ..faults import Faults
from ..operations import Operations
from ..resources.services import service as services
from ..runtimes.base import ReplicaRuntime
from ..store import Store
from .deployment import Deployments
from .folders import ServiceFolders
from .gateways import GatewayPool
from .gpus import HostGpus
from .launch_context import LaunchContextBuilder
from .launcher import ReplicaLauncher
from .logs import service_logs
from .restore import Restorer
from .rollout import Rollouts
from .scaler import Scaler
from .supervision import SupervisionHost
from .supervisor import Supervisor


class DeploymentEngine:
    def __init__(self, store: Store, blobs: BlobStore, operations: Operations, runtime: ReplicaRuntime,
                 gateways: GatewayPool, gpus: HostGpus, work_dir: Path,
                 scale_down_delay: float = 60.0, faults: Faults | None = None,
                 probe_delay_scale: float = 0.0, supervise: bool = True, runtime_note: str = "") -> None:
        self._store = store
        self._runtime = runtime
        self._gateways = gateways
        self._gpus = gpus
        self._supervise = supervise
        self._stopping = threading.Event()
        # The first line of every deployment log: which runtime runs the replicas, and why or where.
        detail = runtime_note or runtime.location()
        runtime_line = f"fake-azure: replicas run on the {runtime.name} runtime" + (f" ({detail})" if detail else "")
        self.folders = ServiceFolders(work_dir)
        self.deployments = Deployments()
        contexts = LaunchContextBuilder(store, blobs, runtime, gpus, faults or Faults(), self.folders, runtime_line)
        launcher = ReplicaLauncher(runtime, gpus, self.folders)
        self.rollouts = Rollouts(store, operations, runtime, gateways, self.deployments, self.folders, contexts,
                                 launcher, self._stopping)
        self.scaler = Scaler(store, runtime, gateways, self.deployments, self.folders, launcher, scale_down_delay)
        self.supervision = SupervisionHost(store, runtime, gateways, self.deployments, launcher, probe_delay_scale)
        self.supervisor = Supervisor(self.supervision)
        self._restorer = Restorer(store, operations, runtime, gateways, self.deployments, self.folders)

    def start(self) -> None:
        """Start the autoscale loop and (unless ``supervise`` is off) the supervisor."""
        self.scaler.start()
        if self._supervise:
            self.supervisor.start()

    # --- entry points (called by the API after the transaction that recorded the request) ----------
    def deploy(self, ws_id: str, name: str, op_id: str | None, keep_running: bool = False) -> None:
        """Deploy the service as recorded; ``keep_running``: replicas taken over after a restart stay (only
        the missing ones start)."""
        threading.Thread(target=self.rollouts.deploy, args=(ws_id, name, op_id, keep_running), daemon=True,
                         name=f"deploy-{name}").start()

    def delete(self, ws_id: str, name: str, op_id: str) -> None:
        self.deployments.get((ws_id, name)).abandoned.set()  # whatever is starting gives up at once
        threading.Thread(target=self.rollouts.delete, args=(ws_id, name, op_id), daemon=True,
                         name=f"delete-{name}").start()

    def delete_several(self, ws_id: str, names: list[str], op_id: str) -> None:
        """Take down several services under one operation (an AKS endpoint's versions)."""
        for name in names:
            self.deployments.get((ws_id, name)).abandoned.set()
        threading.Thread(target=self.rollouts.delete_several, args=(ws_id, names, op_id), daemon=True,
                         name=f"delete-{names[0] if names else 'none'}").start()

    def publish_route(self, ws_id: str, name: str) -> str:
        """Publish, as recorded, a route without replicas of its own (an AKS endpoint's, which splits the
        traffic over its versions' routes) on its cluster's gateway; returns its scoring URI."""
        conn = self._store.read()
        body = services.get(conn, ws_id, name)
        gateway = self._gateways.for_service(ws_id, body)
        gateway.publish(body, services.secrets_of(conn, ws_id, name), [])
        return gateway.scoring_uri(name)

    def unpublish_route(self, ws_id: str, name: str) -> None:
        gateway = self._gateways.existing_for(ws_id, name)
        if gateway is not None:
            gateway.unpublish(name)

    def restore(self) -> None:
        """After a daemon restart: bring back every service that was serving or deploying (restore.py)."""
        self._restorer.restore(self.deploy, self.delete, self.sweep_orphans)

    def shutdown(self) -> None:
        """The daemon is stopping: stop every replica and front end (records stay for restore())."""
        self._stopping.set()
        self.supervisor.stop()
        self.scaler.stop()
        self._stop_everything()

    def reset(self) -> None:
        """Everything is being forgotten: stop every replica and front end, forget what ran."""
        self._stop_everything()
        self.deployments.clear()
        self.sweep_orphans()

    def forget_workspace(self, ws_id: str) -> None:
        """A workspace is being deleted: stop its services' replicas and take them off the gateways."""
        mine = [(key, deployment) for key, deployment in self.deployments.items() if key[0] == ws_id]
        self._take_down(deployment for _, deployment in mine)
        for key, deployment in mine:
            shutil.rmtree(self.folders.service_dir(*key), ignore_errors=True)
            self.deployments.forget(key, deployment)

    def _stop_everything(self) -> None:
        self._take_down(iter(self.deployments))
        self._gateways.stop_all()

    def _take_down(self, deployments: Any) -> None:
        """Abandon every one first (what is starting gives up at once), then take each down in turn."""
        chosen = list(deployments)
        for deployment in chosen:
            deployment.abandoned.set()
        for deployment in chosen:
            deployment.claim("delete")
            try:
                self.rollouts.take_down_everything(deployment, remove_files=False)
            finally:
                deployment.release()

    @property
    def runtime(self) -> ReplicaRuntime:
        return self._runtime

    @property
    def gpus(self) -> HostGpus:
        return self._gpus

    def environments_in_use(self) -> list[str]:
        """The environment references (interpreters, images) that live replicas run on."""
        in_use = {deployment.launch.environment for deployment in self.deployments
                  if deployment.launch is not None and deployment.handles}
        return sorted(in_use | {deployment.retiring_environment for deployment in self.deployments
                                if deployment.retiring and deployment.retiring_environment})

    def replicas_by_environment(self) -> dict[str, int]:
        """How many live replicas run on each environment reference (an update's retiring ones included): what
        ``fake-azure images`` reports for references it lists no built environment for (the daemon's interpreter)."""
        counts: dict[str, int] = {}
        for deployment in self.deployments:
            with deployment.lock:
                running = [(deployment.launch.environment if deployment.launch is not None else None,
                            len(deployment.handles)), (deployment.retiring_environment, len(deployment.retiring))]
            for environment, count in running:
                if environment and count:
                    counts[environment] = counts.get(environment, 0) + count
        return counts

    def sweep_orphans(self) -> None:
        """Remove what a runtime left behind that no live replica owns (containers of a crashed daemon)."""
        self._runtime.sweep(keep_replica_ids=self.deployments.live_replica_ids())

    def refresh_auth(self, ws_id: str, name: str) -> None:
        """Keys, token auth or request limits changed: update the gateway's route in place."""
        gateway = self._gateways.existing_for(ws_id, name)
        if gateway is None:
            return
        conn = self._store.read()
        gateway.refresh_auth(services.get(conn, ws_id, name), services.secrets_of(conn, ws_id, name))

    def logs(self, ws_id: str, name: str, tail_lines: int) -> str:
        """The service's logs: the environment build's first (num_lines keeps the replicas' newest lines,
        as Azure's does), each under its heading. With ``tail_lines`` only the files' ends are read,
        newest first, until that many lines are in hand: never a whole log."""
        deployment = self.deployments.find((ws_id, name))
        live = dict(deployment.handles) if deployment is not None else {}
        return service_logs(self.folders.service_dir(ws_id, name), self._runtime, live, tail_lines)

    # --- fault injection ---------------------------------------------------------------------------------
    def kill_replica(self, name: str, ws_id: str | None = None) -> dict[str, Any]:
        """Kill one replica process of a running service, as a node or OOM kill would (the supervisor restarts it)."""
        matches = [(key, deployment) for key, deployment in self.deployments.items()
                   if key[1] == name and (ws_id is None or key[0].lower() == ws_id.lower()) and deployment.handles]
        if not matches:
            raise NotFound(f"No running replica of service {name} to kill.", code="WebserviceNotFound")
        if len(matches) > 1:
            raise BadRequest(f"Several workspaces run a service named {name}; give the fault a 'workspace'.")
        (key, deployment), = matches
        with deployment.lock:  # held for the choice only: never while a replica starts or stops
            if not deployment.handles:
                raise NotFound(f"No running replica of service {name} to kill.", code="WebserviceNotFound")
            # Round-robin over the live replicas: repeated kills spread over the service, as node
            # failures would, instead of crash-looping one replica into Failed.
            alive = [(rid, h) for rid, h in sorted(deployment.handles.items()) if self._runtime.is_alive(h)]
            candidates = alive or sorted(deployment.handles.items())
            replica_id, handle = candidates[deployment.kills % len(candidates)]
            deployment.kills += 1
            if not any(h is handle for h in deployment.killed):  # killed again while down: once is enough
                deployment.killed.append(handle)
        # Not through take_down: the supervisor must notice the death by itself, as the kubelet does.
        self._runtime.stop(handle, timeout=0)
        return {"kind": "kill_replica", "service": name, "workspace": key[0], "replica": replica_id}
