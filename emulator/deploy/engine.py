"""The deploy engine: turns a service record into running replicas behind the cluster's gateway.

Each create, update or delete runs in a worker thread; its operation stays pending until the
replicas are ready (or have failed), then the engine resolves it and the progress policy reveals
the outcome. Replica processes belong to the daemon: a deploy script may exit, the service lives on."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from scoring.layout import ModelFiles, lay_out
from scoring.probe import ProbeResult, probe_once, wait_ready

from ..blobs import BlobStore
from ..faults import Faults
from ..environments import EnvironmentBuildError
from ..errors import NotFound
from ..operations import Operations
from ..paths import UnsafePath, relative_path, resolve_inside, segment
from ..resources.assets import service as assets
from ..resources.services import service as services
from ..resources.services.state import ServiceState
from ..scheduler import Unschedulable
from ..runtimes.base import ReplicaHandle, ReplicaRuntime, ReplicaSpec, RuntimeErrorBase, read_log
from ..store import Store
from .autoscaler import AutoscalePolicy, AutoscaleState, Sample, decide
from .gateways import GatewayPool
from .gpus import HostGpus
from .supervisor import ProbePolicy, RestartOutcome, ServiceKey, Supervisor, Target

# Kubernetes restarts a crashing container with growing back-off; scaled down so tests don't wait.
# (During a deployment; once a service serves, deploy/supervisor.py restarts its replicas.)
RESTART_BACKOFF_S = (0.2, 0.4)
SUPERVISED_STATES = ("Healthy", "Unhealthy")
REPLICA_READY_TIMEOUT_S = 300.0
# A replica a killed daemon left running is taken over only if it answers its readiness probe within this.
ADOPT_PROBE_TIMEOUT_S = 2.0
# A unix socket's path holds at most 107 bytes; names in the folder take 26.
_MAX_SOCKET_DIR = 80
# A deployment given up because its service is being deleted (or its workspace, or the daemon stops).
ABANDONED_ERROR = {"code": "DeploymentCancelled", "statusCode": 409,
                   "message": "The deployment was abandoned: the service is being deleted."}


# The SDK's local-deployment failures (azureml._model_management._util), as operation errors.
LOCAL_CRASH_ERROR = {"code": "ContainerCrashed", "statusCode": 500,
                     "message": "Error: Container has crashed. Did your init method fail?"}


def local_port_in_use_error(port: int, exc: Exception) -> dict[str, Any]:
    return {"code": "PortInUse", "statusCode": 409, "message": (
        "Docker container start has failed, the port you are attempting to use is already in use:\n"
        f"port {port} is already in use on 127.0.0.1 ({exc})")}


def _port_taken(port: int) -> bool:
    if not port:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def replica_address(handle: ReplicaHandle) -> dict[str, Any]:
    """What a replica record shows of where it listens: a TCP port (local services, containers) or its
    unix socket."""
    return {"port": handle.port or None, "socket": handle.socket_path}


def _private_temp_folder(home: Path) -> Path:
    """A socket folder under the temporary directory, the same for a home across daemon restarts (so
    adopted replicas' sockets stay where they were), unless someone else made it: then a fresh one."""
    digest = hashlib.sha1(str(home).encode()).hexdigest()[:12]
    name = f"fake-azure-sockets-{os.getuid()}-{digest}"
    # TMPDIR may be long too (pytest's tmp_path is): then the system's own /tmp.
    root = tempfile.gettempdir()
    if len(str(Path(root) / name)) > _MAX_SOCKET_DIR:
        root = "/tmp"
    folder = Path(root) / name
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        found = os.lstat(folder)
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or stat.S_IMODE(found.st_mode) != 0o700:
            return Path(tempfile.mkdtemp(prefix="fake-azure-sockets-", dir=root))
    return folder


def join_sections(sections: list[tuple[str, Callable[[int | None], str]]], tail_lines: int) -> str:
    """Logs under ``===== title =====`` headings, joined by newlines, cut to their last ``tail_lines``
    lines (0: all). Each reader returns its text, or only its last N lines when given N; with a tail
    the sections are read newest first, each only for the lines still missing."""
    def headed(title: str, text: str) -> str:
        return f"===== {title} =====\n{text}"

    if not tail_lines:
        return "\n".join(headed(title, read(None)) for title, read in sections)
    # Joined by "\n", each section but the last counts as its lines plus one line break.
    kept: list[str] = []
    for index in range(len(sections) - 1, -1, -1):
        title, read = sections[index]
        text = headed(title, read(tail_lines - len(kept)))
        kept[:0] = (text + ("\n" if index < len(sections) - 1 else "")).splitlines()
        if len(kept) >= tail_lines:
            break
    return "\n".join(kept[-tail_lines:])


class DeployFailed(Exception):
    def __init__(self, error: dict[str, Any], sub_operation: str = "DeployService") -> None:
        super().__init__(error.get("message"))
        self.error = error
        self.sub_operation = sub_operation


@dataclass
class LaunchContext:
    """What every replica of a deployed service starts from (kept for scaling out later)."""
    environment: str  # what the runtime's prepare() returned: an interpreter, an image
    models: list[ModelFiles]
    source_dir: Path | None
    entry: str
    env_vars: dict[str, str]
    log_dir: Path


@dataclass
class ServiceRuntimeState:
    handles: dict[str, ReplicaHandle] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    launch: LaunchContext | None = None
    autoscale: AutoscaleState = field(default_factory=AutoscaleState)
    queue_waits_seen: int = 0
    kills: int = 0  # injected kill_replica faults so far (they rotate over the replicas)
    killed: list[ReplicaHandle] = field(default_factory=list)  # by kill_replica, until taken down
    # Set when the service is being deleted or forgotten: a deployment waiting for its replicas (an
    # init() that hangs holds state.lock up to REPLICA_READY_TIMEOUT_S) gives up at once.
    abandoned: threading.Event = field(default_factory=threading.Event)




class DeploymentEngine:
    def __init__(self, store: Store, blobs: BlobStore, operations: Operations, runtime: ReplicaRuntime,
                 gateways: GatewayPool, gpus: HostGpus, work_dir: Path,
                 scale_down_delay: float = 60.0, faults: Faults | None = None,
                 probe_delay_scale: float = 0.0, supervise: bool = True, runtime_note: str = "") -> None:
        self._store = store
        self._blobs = blobs
        self._operations = operations
        self._runtime = runtime
        # The first line of every deployment log: which runtime runs the replicas, and why or where.
        detail = runtime_note or runtime.location()
        self._runtime_line = f"fake-azure: replicas run on the {runtime.name} runtime" + (f" ({detail})" if detail else "")
        self._gateways = gateways
        self._gpus = gpus
        self._work_dir = work_dir
        self._services: dict[tuple[str, str], ServiceRuntimeState] = {}
        self._lock = threading.Lock()
        self._sockets: Path | None = None  # the replicas' socket folder, made on first use
        self._stopping = threading.Event()
        self.scale_down_delay = scale_down_delay
        self._faults = faults or Faults()
        self.probe_delay_scale = probe_delay_scale
        threading.Thread(target=self._autoscale_loop, daemon=True, name="autoscaler").start()
        self.supervisor = Supervisor(self)
        if supervise:
            self.supervisor.start()

    # --- entry points (called by the API after the transaction that recorded the request) ----------
    def deploy(self, ws_id: str, name: str, op_id: str | None, keep_running: bool = False) -> None:
        """Deploy the service as recorded; ``keep_running``: replicas taken over after a restart stay (only
        the missing ones start)."""
        threading.Thread(target=self._deploy, args=(ws_id, name, op_id, keep_running), daemon=True,
                         name=f"deploy-{name}").start()

    def delete(self, ws_id: str, name: str, op_id: str) -> None:
        self._state(ws_id, name).abandoned.set()
        threading.Thread(target=self._delete, args=(ws_id, name, op_id), daemon=True,
                         name=f"delete-{name}").start()

    def restore(self) -> None:
        """After a daemon restart: bring back every service that was serving or deploying, and carry on
        the operations the last daemon left unfinished (each service's latest; older ones are cancelled).

        Replicas a killed daemon left running are taken over first (as the kubelet finds its containers
        after a restart); what is not taken over is swept before any replica starts."""
        conn = self._store.read()
        rows = conn.execute("SELECT workspace_id, name, state FROM services").fetchall()
        unfinished: dict[tuple[str, str], Any] = {}
        for op in self._operations.unfinished(conn, "service."):  # oldest first: the latest one stays
            unfinished[(op["workspace_id"], op["target"])] = op
        whole: set[tuple[str, str]] = set()  # services every replica of which was taken over
        for row in rows:
            key = (row["workspace_id"], row["name"])
            op = unfinished.get(key)
            # Not where an operation is redone (it replaces the replicas): only what was serving as recorded.
            if row["state"] in SUPERVISED_STATES + ("Transitioning",) and (
                    op is None or op["kind"] == "service.regenerateKeys") and self._adopt(*key):
                whole.add(key)
        self.sweep_orphans()  # before any replica starts: a new one is not in the handles while it starts
        deletes, deploys = [], []
        with self._store.transaction() as conn:
            for (ws_id, name), op in unfinished.items():
                self._operations.cancel_running(conn, ws_id, "service.", name, "Superseded by a later operation "
                                                "on the service.", keep=op["id"])
            for row in rows:
                key = (row["workspace_id"], row["name"])
                op = unfinished.get(key)
                if op is not None and op["kind"] != "service.regenerateKeys":
                    self._operations.reopen(conn, op["id"])  # whatever the last daemon resolved, it is redone
                if op is not None and op["kind"] == "service.delete":
                    deletes.append((key, op["id"]))
                elif row["state"] in ("Healthy", "Transitioning", "Unhealthy") or op is not None:
                    if key not in whole:  # it reads Transitioning until _deploy brings its replicas back (or fails)
                        services.save(conn, key[0], services.get(conn, *key), ServiceState.TRANSITIONING)
                    deploys.append((key, op["id"] if op is not None and op["kind"] != "service.regenerateKeys"
                                    else None))
        self._reopen_routes([key for key, _ in deploys])
        for (ws_id, name), op_id in deletes:
            self.delete(ws_id, name, op_id)
        for (ws_id, name), op_id in deploys:
            self.deploy(ws_id, name, op_id, keep_running=op_id is None)

    def _adopt(self, ws_id: str, name: str) -> bool:
        """Take over the service's replicas that a killed daemon left running and that answer their readiness
        probe (one that does not is stopped, and started afresh by _deploy). True when every one was."""
        body = services.get(self._store.read(), ws_id, name)
        replicas = body.get("fakeAzure", {}).get("replicas", [])
        state = self._state(ws_id, name)
        log_dir = self._service_dir(ws_id, name)
        for replica in replicas:
            if replica.get("state") != "Running":
                continue
            # Only what the runtime needs to find it and reach it: the rest of the spec (environment, entry
            # script, env) is not known before the environment is prepared, and not needed by a running replica.
            spec = ReplicaSpec(replica_id=replica["id"], service_name=name,
                               app_root=log_dir / "replicas" / replica["id"], environment="", entry_script="",
                               log_path=log_dir / f"{replica['id']}.log",
                               port=int(replica.get("port") or 0),
                               socket_path=Path(replica["socket"]) if replica.get("socket") else None)
            try:
                handle = self._runtime.adopt(spec)
            except RuntimeErrorBase:
                handle = None
            if handle is None:
                continue
            if probe_once(handle.address, ADOPT_PROBE_TIMEOUT_S):
                state.handles[replica["id"]] = handle
            else:  # hung or not listening where recorded
                self._runtime.stop(handle, timeout=2)
        return bool(replicas) and all(r["id"] in state.handles for r in replicas)

    def _reopen_routes(self, keys: list[tuple[str, str]]) -> None:
        """The data plane first: each restored service that had a scoring URI gets its cluster's gateway back
        on the remembered port, its route published with the replicas taken over (or none yet), before the
        daemon announces itself. A request there is held (up to the service's max queue wait, then 503 "No
        ready replicas", as azureml-fe answers) until _deploy publishes the replicas: never refused."""
        conn = self._store.read()
        by_workspace: dict[str, list[tuple[dict[str, Any], dict[str, Any], list[ReplicaHandle]]]] = {}
        for ws_id, name in keys:
            body = services.get(conn, ws_id, name)
            if body["computeType"] == services.LOCAL or not body.get("scoringUri"):
                continue  # a local service is its container's port; a never-deployed one had no route
            handles = self._state(ws_id, name).handles
            running = [handles[r["id"]] for r in body["fakeAzure"]["replicas"] if r["id"] in handles]
            by_workspace.setdefault(ws_id, []).append((body, services.secrets_of(conn, ws_id, name), running))
        moved: dict[tuple[str, str], str] = {}
        for ws_id, restored in by_workspace.items():
            self._gateways.reopen(ws_id, restored)
            for body, _, _ in restored:
                uri = self._gateways.for_service(ws_id, body).scoring_uri(body["name"])
                if uri != body["scoringUri"]:  # the remembered port was taken meanwhile
                    moved[(ws_id, body["name"])] = uri
        if moved:
            with self._store.transaction() as conn:
                for (ws_id, name), uri in moved.items():
                    current = services.get(conn, ws_id, name)
                    current["scoringUri"] = uri
                    services.save(conn, ws_id, current)

    def shutdown(self) -> None:
        """The daemon is stopping: stop every replica and front end (records stay for restore())."""
        self._stopping.set()
        self.supervisor.stop()
        self._stop_everything()

    def reset(self) -> None:
        """Everything is being forgotten: stop every replica and front end, forget what ran."""
        self._stop_everything()
        with self._lock:
            self._services.clear()
        self.sweep_orphans()

    def forget_workspace(self, ws_id: str) -> None:
        """A workspace is being deleted: stop its services' replicas and take them off the gateways."""
        with self._lock:
            mine = [(key, state) for key, state in self._services.items() if key[0] == ws_id]
        for _, state in mine:
            state.abandoned.set()
        for (_, name), state in mine:
            with state.lock:
                gateway = self._gateways.existing_for(ws_id, name)
                if gateway is not None:
                    gateway.unpublish(name)
                self._stop_handles(state)
                shutil.rmtree(self._service_dir(ws_id, name), ignore_errors=True)
        with self._lock:
            for key, _ in mine:
                self._services.pop(key, None)

    def _stop_everything(self) -> None:
        with self._lock:
            states = list(self._services.values())
        for state in states:
            state.abandoned.set()
        for state in states:
            with state.lock:
                self._stop_handles(state)
        self._gateways.stop_all()

    @property
    def runtime(self) -> ReplicaRuntime:
        return self._runtime

    @property
    def gpus(self) -> HostGpus:
        return self._gpus

    def environments_in_use(self) -> list[str]:
        """The environment references (interpreters, images) that live replicas run on."""
        with self._lock:
            return sorted({state.launch.environment for state in self._services.values()
                           if state.launch is not None and state.handles})

    def sweep_orphans(self) -> None:
        """Remove what a runtime left behind that no live replica owns (containers of a crashed daemon)."""
        with self._lock:
            live = {rid for state in self._services.values() for rid in state.handles}
        self._runtime.sweep(keep_replica_ids=live)

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
        folder = self._service_dir(ws_id, name)
        stems = {p.name.split(".log", 1)[0] for p in folder.glob("*.log*")}
        stems = sorted(stems, key=lambda stem: (stem != "environment", stem))
        with self._lock:
            state = self._services.get((ws_id, name))
            live = dict(state.handles) if state is not None else {}

        def section(stem: str) -> Callable[[int | None], str]:
            def read(tail: int | None) -> str:
                # A running replica's runtime has the current output (a container's file may lag).
                handle = live.get(stem)
                return self._runtime.logs(handle, tail) if handle is not None else read_log(folder / f"{stem}.log", tail)
            return read

        return join_sections([("environment build" if stem == "environment" else f"replica {stem}", section(stem))
                              for stem in stems], tail_lines)

    # --- workers --------------------------------------------------------------------------------------
    def _service_dir(self, ws_id: str, name: str) -> Path:
        key = hashlib.sha1(f"{ws_id}/{name}".encode()).hexdigest()[:12]
        return self._work_dir / "services" / f"{name}-{key}"

    def _socket_path(self, ws_id: str, name: str, replica_id: str) -> Path:
        """A replica's unix socket: in a folder of the home only we may enter (or, where the home's
        path is too long for a socket address, in a private temporary folder)."""
        with self._lock:
            if self._sockets is None:
                folder = self._work_dir / "sockets"
                if len(str(folder)) > _MAX_SOCKET_DIR:
                    folder = _private_temp_folder(self._work_dir)
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                folder.chmod(0o700)
                self._sockets = folder
        key = self._service_dir(ws_id, name).name.rsplit("-", 1)[1]
        return self._sockets / f"{key}-{replica_id}.sock"

    def _state(self, ws_id: str, name: str) -> ServiceRuntimeState:
        with self._lock:
            return self._services.setdefault((ws_id, name), ServiceRuntimeState())

    def _deploy(self, ws_id: str, name: str, op_id: str | None, keep_running: bool = False) -> None:
        state = self._state(ws_id, name)
        with state.lock:
            state.abandoned.clear()  # a delete queued before this deployment has finished by now
            unexpected: Exception | None = None
            try:
                if not keep_running:
                    self._stop_handles(state)
                self._run_replicas(ws_id, name, state)
                failure = None
            except DeployFailed as exc:
                failure = exc
            except Exception as exc:  # a bug must still end the operation, never leave it pending
                unexpected = exc
                failure = DeployFailed({"code": "InternalError", "statusCode": 500,
                                        "message": f"fake-azure failed to deploy {name}: {exc!r}"})
            if failure is not None and self._stopping.is_set():
                # The daemon stops: the next one's restore() redeploys under the same operation.
                self._stop_handles(state)
                return
            if failure is not None:
                try:
                    self._stop_handles(state)
                    # Restored after a restart there is no operation to reveal the failure: the record does.
                    self._record_failure(ws_id, name, failure, mark_failed=op_id is None)
                finally:  # the operation ends whatever happens above: an unended one refuses every update
                    if op_id:
                        extra: dict[str, Any] = {"operationDetails": {"subOperationType": failure.sub_operation}}
                        if failure.sub_operation == "BuildEnvironment":  # the SDK points users at this log
                            extra["operationLog"] = str(self._service_dir(ws_id, name) / "environment.log")
                        self._operations.resolve(op_id, {"status": "Failed", "error": failure.error,
                                                         "extra": extra})
                if unexpected is not None:
                    raise unexpected
                return
        if op_id:
            self._operations.resolve(op_id, {"status": "Succeeded"})
        else:  # restored after a restart: no operation to reveal the state
            with self._store.transaction() as conn:
                current = services.get(conn, ws_id, name)
                if current["state"] != "Healthy":
                    services.save(conn, ws_id, current, services.ServiceState.HEALTHY)

    def _run_replicas(self, ws_id: str, name: str, state: ServiceRuntimeState) -> None:
        conn = self._store.read()
        body = services.get(conn, ws_id, name)
        secrets = services.secrets_of(conn, ws_id, name)
        request = body["environmentImageRequest"] or {}
        log_dir = self._service_dir(ws_id, name)
        log_dir.mkdir(parents=True, exist_ok=True)
        for old in log_dir.glob("*.log*"):  # rotated replica logs (.log.1...) too
            if old.name.split(".", 1)[0] not in state.handles:  # a replica taken over still writes its own
                old.unlink()
        build_log = log_dir / "environment.log"

        with open(build_log, "a") as build_file:  # once: a build sends every pip output line here
            def log(line: str) -> None:
                build_file.write(line.rstrip("\n") + "\n")
                build_file.flush()  # get_logs() shows the build as it goes

            log(self._runtime_line)
            try:
                if self._faults.take("fail_next_build", ws_id):
                    log("fake-azure: environment build failed (fault injected through /_emulator/faults)")
                    raise EnvironmentBuildError("Image build failed: fault injected by fake-azure (fail_next_build).")
                environment = self._runtime.prepare(request.get("environment") or {}, log)
            except EnvironmentBuildError as exc:
                raise DeployFailed({"code": "EnvironmentBuildFailed", "statusCode": 400,
                                    "message": f"Failed to build the environment for the service:\n{exc.message}"},
                                   sub_operation="BuildEnvironment") from exc
        warning = self._gpus.shortfall_warning(sum(len(r["gpuIds"]) for r in body["fakeAzure"]["replicas"]))
        if warning and self._gpus.policy == "require":
            raise DeployFailed({"code": "GpuUnavailable", "statusCode": 400, "message": (
                "FAKE_AZURE_GPU_POLICY=require: the service's replicas were given GPUs on the emulated cluster, but "
                "this host has no NVIDIA GPU to run them on.")})
        models = self._model_files(conn, ws_id, body)
        source_dir, entry = self._materialize_source(conn, ws_id, request)
        replicas = body.get("fakeAzure", {}).get("replicas", [])
        if warning:
            for replica in replicas:
                with open(log_dir / f"{replica['id']}.log", "a") as replica_log:
                    replica_log.write(warning + "\n")
        env_vars = {k: str(v) for k, v in ((request.get("environment") or {}).get("environmentVariables")
                                           or {}).items()}
        state.launch = LaunchContext(environment, models, source_dir, entry, env_vars, log_dir)
        state.autoscale = AutoscaleState()
        self._start_replicas(ws_id, body, [r for r in replicas if r["id"] not in state.handles], state)
        if body["computeType"] == services.LOCAL:
            # A local service is reached straight at its container's port: no gateway, no auth.
            handle = state.handles[replicas[0]["id"]]
            scoring_uri = f"http://localhost:{handle.port}/score"
        else:
            gateway = self._gateways.for_service(ws_id, body)
            gateway.publish(body, secrets, [state.handles[r["id"]] for r in replicas])
            scoring_uri = gateway.scoring_uri(name)
        with self._store.transaction() as conn:
            current = services.get(conn, ws_id, name)
            current["scoringUri"] = scoring_uri
            for replica in current["fakeAzure"]["replicas"]:
                handle = state.handles.get(replica["id"])
                if handle is not None:
                    replica.update(state="Running", **replica_address(handle))
            current["deploymentStatus"].update(availableReplicas=len(replicas), updatedReplicas=len(replicas),
                                               desiredReplicas=len(replicas), error=None)
            if (current.get("autoScaler") or {}).get("autoscaleEnabled"):  # it reports what runs
                current["numReplicas"] = len(replicas)
            services.save(conn, ws_id, current)

    def _start_replicas(self, ws_id: str, body: dict[str, Any], replicas: list[dict[str, Any]],
                        state: ServiceRuntimeState) -> None:
        """Start replicas concurrently; all of them become ready or the first failure is raised."""
        results: dict[str, ReplicaHandle | DeployFailed] = {}

        def start_one(replica: dict[str, Any]) -> None:
            try:
                results[replica["id"]] = self._start_replica(ws_id, body, replica, state.launch, state.abandoned)
            except DeployFailed as failure:
                results[replica["id"]] = failure
            except Exception as exc:  # a runtime's unexpected error: the deployment fails with it, not the thread
                results[replica["id"]] = DeployFailed({
                    "code": "ReplicaStartFailed", "statusCode": 500,
                    "message": f"Replica {replica['id']} could not start: {type(exc).__name__}: {exc}"})

        threads = [threading.Thread(target=start_one, args=(r,), daemon=True) for r in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for replica in replicas:
            outcome = results[replica["id"]]
            if isinstance(outcome, ReplicaHandle):
                state.handles[replica["id"]] = outcome
        failures = [o for o in results.values() if isinstance(o, DeployFailed)]
        if failures:
            raise failures[0]

    def _start_replica(self, ws_id: str, body: dict[str, Any], replica: dict[str, Any],
                       launch: LaunchContext, abandoned: threading.Event,
                       attempts: int | None = None) -> ReplicaHandle:
        models, source_dir, entry = launch.models, launch.source_dir, launch.entry
        env_vars, log_dir = launch.env_vars, launch.log_dir
        app_root = self._service_dir(ws_id, body["name"]) / "replicas" / replica["id"]
        shutil.rmtree(app_root, ignore_errors=True)
        layout = lay_out(app_root, models, entry, source_directory=source_dir)
        env = {**env_vars, **layout.env(body["name"], ws_id.rsplit("/", 1)[-1], body["scoringTimeoutMs"])}
        local = body["computeType"] == services.LOCAL
        spec = ReplicaSpec(replica_id=replica["id"], service_name=body["name"], app_root=app_root,
                           environment=launch.environment, entry_script=layout.entry_script,
                           cpu_limit=body["containerResourceRequirements"].get("cpuLimit"),
                           memory_limit_gb=body["containerResourceRequirements"].get("memoryInGBLimit"),
                           log_path=log_dir / f"{replica['id']}.log", env=env,
                           gpu_ids=() if local else self._gpus.for_replica(replica),
                           port=int(body.get("port") or 0) if local else 0,
                           # Users call a local service at its port; others only through the gateway,
                           # so their replicas listen where no other local user can connect.
                           socket_path=None if local else self._socket_path(ws_id, body["name"], replica["id"]))
        # Docker does not restart a crashed local container; Kubernetes restarts a pod's.
        if attempts is None:
            attempts = 1 if local else 1 + len(RESTART_BACKOFF_S)
        for attempt in range(attempts):
            try:
                handle = self._runtime.start(spec)
            except RuntimeErrorBase as exc:
                if local and _port_taken(spec.port):
                    raise DeployFailed(local_port_in_use_error(spec.port, exc)) from exc
                raise DeployFailed({"code": "ReplicaStartFailed", "statusCode": 500,
                                    "message": f"Replica {replica['id']} could not start: {exc}"}) from exc
            result = wait_ready(handle.address, time.monotonic() + REPLICA_READY_TIMEOUT_S,
                                lambda: not abandoned.is_set() and self._runtime.is_alive(handle))
            if result is ProbeResult.READY:
                return handle
            self._runtime.stop(handle, timeout=2)
            if abandoned.is_set():
                raise DeployFailed(ABANDONED_ERROR)
            if result is ProbeResult.TIMEOUT:
                raise DeployFailed({"code": "DeploymentTimedOut", "statusCode": 504, "message": (
                    "The deployment operation polling has TimedOut. The service creation is taking longer than our "
                    "normal time. We are still trying to achieve the desired state for the web service. Please "
                    "check the webservice state for the current webservice health. You can run "
                    "print(service.state) from the python SDK to retrieve the current state of the webservice.")})
            if local:
                raise DeployFailed(LOCAL_CRASH_ERROR)
            with open(spec.log_path, "a") as handle_log:
                handle_log.write(f"\n[fake-azure] replica {replica['id']} exited during init (attempt "
                                 f"{attempt + 1} of {attempts}); Kubernetes would report CrashLoopBackOff\n")
            if attempt + 1 < attempts and abandoned.wait(RESTART_BACKOFF_S[min(attempt, len(RESTART_BACKOFF_S) - 1)]):
                raise DeployFailed(ABANDONED_ERROR)
        raise DeployFailed(services.crash_loop_error(body["name"]))

    def _model_files(self, conn: Any, ws_id: str, body: dict[str, Any]) -> list[ModelFiles]:
        result = []
        for model in body.get("models", []):
            rows = conn.execute("SELECT relpath, sha256 FROM model_files WHERE workspace_id = ? AND name = ? AND "
                                "version = ?", (ws_id, model["name"], model["version"])).fetchall()
            try:  # checked at upload; again here, as every stored path is before it becomes a file
                files = {relative_path(r["relpath"], "model file path", canonical=True):
                         self._blobs.path_for(r["sha256"]) for r in rows}
                segment(model["name"], "model name")
            except UnsafePath as exc:
                raise DeployFailed(exc.to_body()["error"]) from exc
            result.append(ModelFiles(model["name"], model["version"], files))
        return result

    def _materialize_source(self, conn: Any, ws_id: str, request: dict[str, Any]) -> tuple[Path | None, str]:
        """The uploaded source, as a folder lay_out can copy: (source dir or None, entry script).

        Every name the request gives is resolved inside its folder with emulator/paths.py (the API
        refused bad ones already: this is the second line, for records written before that check)."""
        try:
            services.check_image_request(request)
            asset_id = (request.get("assets") or [{}])[0].get("id")
            folder_name = request.get("sourceDirectory")
            assets_dir = self._work_dir / "assets"
            root = resolve_inside(assets_dir, asset_id, "asset id", single=True)
            files = assets.files(conn, ws_id, asset_id)  # 404 unless the workspace owns the asset
        except (UnsafePath, NotFound) as exc:
            raise DeployFailed(exc.to_body()["error"]) from exc
        if not root.exists():  # assets are immutable: one copy serves every later deployment
            staging = assets_dir / f".{asset_id}.{os.getpid()}.{threading.get_ident()}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            base = resolve_inside(staging, folder_name, "sourceDirectory", single=True) if folder_name else staging
            for relpath, digest in files.items():
                destination = resolve_inside(base, relpath, "source file path")
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self._blobs.path_for(digest), destination)
            try:
                os.replace(staging, root)
            except OSError:  # another deployment of the same asset won the race
                shutil.rmtree(staging, ignore_errors=True)
        try:
            target = resolve_inside(root, folder_name, "sourceDirectory", single=True) if folder_name else root
            entry = resolve_inside(target, request.get("driverProgram"), "driverProgram")
        except UnsafePath as exc:
            raise DeployFailed(exc.to_body()["error"]) from exc
        if folder_name:
            return target, entry.relative_to(target).as_posix()
        return None, str(entry)

    def _stop_handles(self, state: ServiceRuntimeState) -> None:
        for handle in state.handles.values():
            self._runtime.stop(handle, timeout=5)
        state.handles.clear()

    def _record_failure(self, ws_id: str, name: str, failure: DeployFailed, mark_failed: bool = False) -> None:
        """Record why the replicas are down; ``mark_failed`` also fails the service (no operation will)."""
        with self._store.transaction() as conn:
            if services.row(conn, ws_id, name) is None:
                return
            current = services.get(conn, ws_id, name)
            current["deploymentStatus"]["error"] = failure.error
            current["deploymentStatus"]["availableReplicas"] = 0
            for replica in current["fakeAzure"]["replicas"]:
                replica["state"] = "CrashLoopBackOff" if failure.error.get("code") == "KubernetesDeploymentFailed" \
                    else "Failed"
            if mark_failed:
                current["error"] = failure.error
            services.save(conn, ws_id, current, ServiceState.FAILED if mark_failed else None)
        gateway = self._gateways.existing_for(ws_id, name)
        if gateway is not None:
            gateway.unpublish(name)

    def _delete(self, ws_id: str, name: str, op_id: str) -> None:
        state = self._state(ws_id, name)
        with state.lock:
            # Off the gateway first, as everywhere else: a request arriving now gets the deleted
            # service's 404, never a 502 from a replica being stopped.
            gateway = self._gateways.existing_for(ws_id, name)
            if gateway is not None:
                gateway.unpublish(name)
            self._stop_handles(state)
            # Replicas' app roots and every log go with the service (a failed service keeps its logs
            # for get_logs until it is deleted; nothing reads them afterwards).
            shutil.rmtree(self._service_dir(ws_id, name), ignore_errors=True)
        with self._lock:
            self._services.pop((ws_id, name), None)
        self._operations.resolve(op_id, {"status": "Succeeded"})

    # --- autoscaling ----------------------------------------------------------------------------------
    def _autoscale_loop(self, interval: float = 0.2) -> None:
        while not self._stopping.wait(interval):
            try:
                self._autoscale_tick(time.monotonic())
            except Exception as exc:  # keep scaling the other services; say what went wrong
                print(f"fake-azure: autoscaler error: {exc!r}", flush=True)

    def _autoscale_tick(self, now: float) -> None:
        with self._lock:
            items = list(self._services.items())
        for (ws_id, name), state in items:
            if state.launch is None or not state.handles or state.lock.locked():
                continue
            found = services.row(self._store.read(), ws_id, name)
            if found is None:
                continue
            body = json.loads(found["body"])
            scaler = body.get("autoScaler") or {}
            gateway = self._gateways.existing_for(ws_id, name)
            if not scaler.get("autoscaleEnabled") or body["state"] != "Healthy" or gateway is None:
                continue
            stats = gateway.gateway.stats(name)
            queued = stats.queue_waits > state.queue_waits_seen
            state.queue_waits_seen = stats.queue_waits
            policy = AutoscalePolicy(int(scaler["minReplicas"]), int(scaler["maxReplicas"]),
                                     float(scaler["targetUtilization"]), float(scaler["refreshPeriodInSeconds"]),
                                     self.scale_down_delay)
            target = decide(policy, state.autoscale, now, Sample(stats.busy_replicas, stats.replicas, queued))
            if target is not None and target != stats.replicas:
                reason = (f"utilisation {100 * state.autoscale.window[-1][1]:.0f}% (target "
                          f"{policy.target_utilization:.0f}%)")
                threading.Thread(target=self._scale, args=(ws_id, name, target, reason), daemon=True).start()

    def _scale(self, ws_id: str, name: str, count: int, reason: str) -> None:
        state = self._state(ws_id, name)
        if not state.lock.acquire(blocking=False):
            return  # a deployment or another scaling step is running
        try:
            with self._store.transaction() as conn:
                body = services.get(conn, ws_id, name)
                current = list(body["fakeAzure"]["replicas"])
                added: list[dict[str, Any]] = []
                for wanted in range(count - len(current), 0, -1):  # as many as the cluster can hold
                    try:
                        added = services.plan_replicas(conn, ws_id, body, wanted, keep=current)
                        break
                    except Unschedulable:
                        continue
                removed = current[count:] if count < len(current) else []
                body["fakeAzure"]["replicas"] = current + added if added else current[:len(current) - len(removed)]
                services.save(conn, ws_id, body)
            if count > len(current) and not added:
                self._autoscale_log(ws_id, name, f"cannot scale out to {count} replicas: the cluster has no room")
                return
            if added:
                try:
                    self._start_replicas(ws_id, body, added, state)
                except DeployFailed:
                    for replica in added:
                        handle = state.handles.pop(replica["id"], None)
                        if handle is not None:
                            self._runtime.stop(handle, timeout=2)
                    self._forget_replicas(ws_id, name, {r["id"] for r in added})
                    self._autoscale_log(ws_id, name, "scale-out failed: new replicas did not become ready")
                    return
            kept = [r for r in body["fakeAzure"]["replicas"] if r["id"] in state.handles]
            gateway = self._gateways.for_service(ws_id, body)
            gateway.publish(body, services.secrets_of(self._store.read(), ws_id, name),
                            [state.handles[r["id"]] for r in kept])
            for replica in removed:  # off the gateway first, then stopped: no request is cut
                handle = state.handles.pop(replica["id"], None)
                if handle is not None:
                    self._runtime.stop(handle, timeout=5)
            with self._store.transaction() as conn:
                body = services.get(conn, ws_id, name)
                for replica in body["fakeAzure"]["replicas"]:
                    handle = state.handles.get(replica["id"])
                    if handle is not None:
                        replica.update(state="Running", **replica_address(handle))
                body["numReplicas"] = len(body["fakeAzure"]["replicas"])
                body["deploymentStatus"].update(desiredReplicas=count,
                                                availableReplicas=len(body["fakeAzure"]["replicas"]),
                                                updatedReplicas=len(body["fakeAzure"]["replicas"]))
                services.save(conn, ws_id, body)
            self._autoscale_log(ws_id, name, f"scaled from {len(current)} to {len(body['fakeAzure']['replicas'])} "
                                             f"replicas: {reason}")
        finally:
            state.lock.release()

    def _forget_replicas(self, ws_id: str, name: str, replica_ids: set[str]) -> None:
        with self._store.transaction() as conn:
            body = services.get(conn, ws_id, name)
            body["fakeAzure"]["replicas"] = [r for r in body["fakeAzure"]["replicas"] if r["id"] not in replica_ids]
            services.save(conn, ws_id, body)

    def _autoscale_log(self, ws_id: str, name: str, message: str) -> None:
        path = self._service_dir(ws_id, name) / "autoscaler.log"
        with open(path, "a") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} autoscaler: {message}\n")

    # --- supervision (deploy/supervisor.py decides, these act) ----------------------------------------
    def supervised(self) -> list[Target]:
        """Serving services whose replicas the supervisor watches (paused while a restart or scaling runs)."""
        with self._lock:
            items = list(self._services.items())
        targets = []
        conn = self._store.read()
        for key, state in items:
            if state.launch is None:
                continue
            found = services.row(conn, *key)
            if found is None or found["state"] not in SUPERVISED_STATES:
                continue
            body = json.loads(found["body"])
            if body["computeType"] == services.LOCAL:
                continue  # Docker does not restart a local container (and the SDK does not expect it)
            policy = ProbePolicy.from_body(body.get("livenessProbeRequirements") or {}, self.probe_delay_scale)
            targets.append(Target(key, policy, {r["id"]: state.handles.get(r["id"])
                                                for r in body["fakeAzure"]["replicas"]}, state.lock.locked()))
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
        with self._lock:
            state = self._services.get(key)
        if state is not None and any(h is handle for h in state.killed):
            return True
        return self._runtime.exit_code(handle) in (-signal.SIGKILL, 128 + signal.SIGKILL)

    def take_down(self, key: ServiceKey, replica_id: str, handle: ReplicaHandle, reason: str) -> bool:
        """Take a dead or hung replica off the gateway and stop it; the service is Unhealthy until it is back."""
        ws_id, name = key
        state = self._state(ws_id, name)
        gateway = self._gateways.existing_for(ws_id, name)
        if gateway is not None and state.handles.get(replica_id) is handle:
            # Out of rotation before anything else, without the service's lock: a deployment or scaling
            # step may hold it for as long as its replicas take to start.
            gateway.eject(name, handle)
        with state.lock:  # held briefly: nothing under it waits for a replica
            state.killed = [h for h in state.killed if h is not handle]
            if state.handles.get(replica_id) is not handle:
                return False
            with self._store.transaction() as conn:
                found = services.row(conn, ws_id, name)
                if found is None or found["state"] not in SUPERVISED_STATES:
                    return False
                state.handles.pop(replica_id)
                self._republish(ws_id, name, state)  # the engine's view: every replica but this one
                body = json.loads(found["body"])
                for replica in body["fakeAzure"]["replicas"]:
                    if replica["id"] == replica_id:
                        replica.update(state="CrashLoopBackOff", port=None, socket=None)
                body["deploymentStatus"]["availableReplicas"] = len(state.handles)
                services.save(conn, ws_id, body, ServiceState.UNHEALTHY if found["state"] != "Unhealthy" else None)
        # No longer in state.handles, so no one else stops it; a hung replica may take seconds to stop.
        self._runtime.stop(handle, timeout=2)
        with open(handle.log_path, "a") as replica_log:
            replica_log.write(f"\n[fake-azure] replica {replica_id} {reason}; restarting it with back-off "
                              "(Kubernetes: Back-off restarting failed container)\n")
        return True

    def restart(self, key: ServiceKey, replica_id: str) -> RestartOutcome:
        """Start a replica the supervisor took down; Healthy again once every replica is back.

        The new replica starts and becomes ready without the service's lock (a take-down of another
        replica must not wait for it); the lock is taken briefly to install it, once the service is
        still supervised and its replica slot still wants it (no redeploy, scaling or delete meanwhile)."""
        ws_id, name = key
        state = self._state(ws_id, name)
        with state.lock:
            launch = state.launch
            found = services.row(self._store.read(), ws_id, name)
            if found is None or found["state"] not in SUPERVISED_STATES or launch is None \
                    or replica_id in state.handles:
                return "stale"
            body = json.loads(found["body"])
            replica = next((r for r in body["fakeAzure"]["replicas"] if r["id"] == replica_id), None)
            if replica is None:
                return "stale"
        try:
            handle: ReplicaHandle | None = self._start_replica(ws_id, body, replica, launch, state.abandoned,
                                                               attempts=1)
        except DeployFailed:
            handle = None
        installed = self._install_restarted(ws_id, name, replica_id, state, launch, handle)
        if not installed:
            if handle is not None:
                self._runtime.stop(handle, timeout=2)
            return "stale"
        return "ok" if handle is not None else "crashed"

    def _install_restarted(self, ws_id: str, name: str, replica_id: str, state: ServiceRuntimeState,
                           launch: LaunchContext, handle: ReplicaHandle | None) -> bool:
        """Put a restarted replica (None: it crashed) into the service; False when the service moved on."""
        with state.lock, self._store.transaction() as conn:
            if state.abandoned.is_set():  # the daemon stops, or a reset or delete stopped every replica meanwhile
                return False
            found = services.row(conn, ws_id, name)
            if found is None or found["state"] not in SUPERVISED_STATES or state.launch is not launch \
                    or replica_id in state.handles:
                return False  # deleted, failed or redeployed meanwhile, or the slot was filled
            body = json.loads(found["body"])
            replicas = body["fakeAzure"]["replicas"]
            if not any(entry["id"] == replica_id for entry in replicas):
                return False  # scaled in meanwhile
            if handle is not None:
                state.handles[replica_id] = handle
                self._republish(ws_id, name, state)
            for entry in replicas:
                if entry["id"] == replica_id:
                    entry["restarts"] = int(entry.get("restarts") or 0) + 1
                    entry.update(state="Running", **replica_address(handle)) if handle is not None \
                        else entry.update(state="CrashLoopBackOff")
            body["deploymentStatus"]["availableReplicas"] = len(state.handles)
            everyone_back = all(r["id"] in state.handles for r in replicas)
            back_to_healthy = everyone_back and body["state"] != ServiceState.HEALTHY.value
            services.save(conn, ws_id, body, ServiceState.HEALTHY if back_to_healthy else None)
        return True

    def give_up(self, key: ServiceKey, replica_id: str) -> None:
        """A replica kept crashing after its restarts: the service fails with Azure's CrashLoopBackOff."""
        ws_id, name = key
        state = self._state(ws_id, name)
        with state.lock:
            found = services.row(self._store.read(), ws_id, name)
            if found is None or found["state"] not in SUPERVISED_STATES:
                return
            handles = list(state.handles.values())
            state.handles.clear()
            failure = DeployFailed(services.crash_loop_error(name))
            self._record_failure(ws_id, name, failure, mark_failed=True)  # off the gateway, then stopped
        for handle in handles:  # outside the lock: stopping takes up to seconds each
            self._runtime.stop(handle, timeout=5)

    def _republish(self, ws_id: str, name: str, state: ServiceRuntimeState) -> None:
        gateway = self._gateways.existing_for(ws_id, name)
        if gateway is not None:
            conn = self._store.read()
            body = services.get(conn, ws_id, name)
            gateway.publish(body, services.secrets_of(conn, ws_id, name),
                            [state.handles[r["id"]] for r in body["fakeAzure"]["replicas"] if r["id"] in state.handles])

    # --- fault injection ---------------------------------------------------------------------------------
    def kill_replica(self, name: str, ws_id: str | None = None) -> dict[str, Any]:
        """Kill one replica process of a running service, as a node or OOM kill would (the supervisor restarts it)."""
        from ..errors import BadRequest, NotFound

        with self._lock:
            matches = [(key, state) for key, state in self._services.items()
                       if key[1] == name and (ws_id is None or key[0].lower() == ws_id.lower()) and state.handles]
        if not matches:
            raise NotFound(f"No running replica of service {name} to kill.", code="WebserviceNotFound")
        if len(matches) > 1:
            raise BadRequest(f"Several workspaces run a service named {name}; give the fault a 'workspace'.")
        (key, state), = matches
        with state.lock:
            if not state.handles:
                raise NotFound(f"No running replica of service {name} to kill.", code="WebserviceNotFound")
            # Round-robin over the live replicas: repeated kills spread over the service, as node
            # failures would, instead of crash-looping one replica into Failed.
            alive = [(rid, h) for rid, h in sorted(state.handles.items()) if self._runtime.is_alive(h)]
            candidates = alive or sorted(state.handles.items())
            replica_id, handle = candidates[state.kills % len(candidates)]
            state.kills += 1
            state.killed.append(handle)
            # Not through take_down: the supervisor must notice the death by itself, as the kubelet does.
            self._runtime.stop(handle, timeout=0)
        return {"kind": "kill_replica", "service": name, "workspace": key[0], "replica": replica_id}
