"""The replica launcher: a replica's spec, its start, its readiness wait and the back-off between attempts.

It holds no lock and touches no record: callers hand it a service record and a launch context and get
handles of ready replicas back, or a ``DeployFailed``; whatever it started and did not hand back is stopped."""
from __future__ import annotations

import shutil
import socket
import threading
import time

from scoring.layout import lay_out
from scoring.probe import ProbeResult, wait_ready

from ..resources.services import service as services
from ..runtimes.base import ReplicaHandle, ReplicaRuntime, ReplicaSpec, RuntimeErrorBase
from .failures import (
    ABANDONED_ERROR,
    LOCAL_CRASH_ERROR,
    TIMED_OUT_ERROR,
    DeployFailed,
    local_port_in_use_error,
    replica_start_failed_error,
)
from .folders import ServiceFolders
from .gpus import HostGpus
from .launch_context import LaunchContext
from .records import ReplicaRecord, ReplicaSettings

# Kubernetes restarts a crashing container with growing back-off; scaled down so tests don't wait.
# (During a deployment; once a service serves, deploy/supervisor.py restarts its replicas.)
RESTART_BACKOFF_S = (0.2, 0.4)


def _port_taken(port: int) -> bool:
    """Whether something holds the loopback ``port``. Probed as the replica's own bind is (SO_REUSEADDR), so
    a port a closed connection left in TIME_WAIT reads as free, as it is to the replica."""
    if not port:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


FRONT_END_FIRST_MS = 1000  # how much longer a replica behind a gateway lets run() take than its front end

class ReplicaLauncher:
    def __init__(self, runtime: ReplicaRuntime, gpus: HostGpus, folders: ServiceFolders) -> None:
        self._runtime = runtime
        self._gpus = gpus
        self._folders = folders

    def start_all(self, ws_id: str, settings: ReplicaSettings, replicas: list[ReplicaRecord], launch: LaunchContext,
                  abandoned: threading.Event) -> dict[str, ReplicaHandle]:
        """Start replicas concurrently: every one ready (replica id -> handle), or the first failure raised
        once those that did start are stopped again."""
        results: dict[str, ReplicaHandle | DeployFailed] = {}

        def start_one(replica: ReplicaRecord) -> None:
            try:
                results[replica.id] = self.start(ws_id, settings, replica, launch, abandoned)
            except DeployFailed as failure:
                results[replica.id] = failure
            except Exception as exc:  # a runtime's unexpected error: the deployment fails with it, not the thread
                results[replica.id] = DeployFailed(replica_start_failed_error(
                    replica.id, f"{type(exc).__name__}: {exc}"))

        threads = [threading.Thread(target=start_one, args=(r,), daemon=True) for r in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        started = {rid: outcome for rid, outcome in results.items() if isinstance(outcome, ReplicaHandle)}
        failures = [outcome for r in replicas if isinstance(outcome := results[r.id], DeployFailed)]
        if failures:
            for handle in started.values():
                self._runtime.stop(handle, timeout=5)
            raise failures[0]
        return started

    def share_devices(self, these: list[ReplicaRecord], those: list[ReplicaRecord]) -> bool:
        """Whether a replica of ``these`` would be given a host GPU that one of ``those`` holds."""
        held = {device for replica in those for device in self._gpus.for_replica(replica)}
        return any(device in held for replica in these for device in self._gpus.for_replica(replica))

    def spec(self, ws_id: str, settings: ReplicaSettings, replica: ReplicaRecord,
             launch: LaunchContext) -> ReplicaSpec:
        """A fresh app root for the replica (models, source) and how the runtime starts it."""
        name, local = settings.name, settings.local
        app_root = self._folders.app_root(ws_id, name, replica.id)
        shutil.rmtree(app_root, ignore_errors=True)
        layout = lay_out(app_root, launch.models, launch.entry, source_directory=launch.source_dir)
        # Behind a gateway the front end's timeout answers (504, or 408 on a managed endpoint); the scoring
        # server's own, a moment later, only frees its worker. Equal, the two raced, and a slow request came
        # back now and then as the server's 500 instead.
        timeout_ms = settings.scoring_timeout_ms + (0 if local else FRONT_END_FIRST_MS)
        env = {**launch.env_vars, **layout.env(name, ws_id.rsplit("/", 1)[-1], timeout_ms)}
        return ReplicaSpec(replica_id=replica.id, service_name=name, app_root=app_root,
                           environment=launch.environment, entry_script=layout.entry_script,
                           cpu_limit=settings.cpu_limit, memory_limit_gb=settings.memory_limit_gb,
                           log_path=launch.log_dir / f"{replica.id}.log", env=env,
                           gpu_ids=() if local else self._gpus.for_replica(replica),
                           port=settings.port,
                           # Users call a local service at its port; others only through the gateway,
                           # so their replicas listen where no other local user can connect.
                           socket_path=None if local else self._folders.socket_path(ws_id, name, replica.id))

    def start(self, ws_id: str, settings: ReplicaSettings, replica: ReplicaRecord, launch: LaunchContext,
              abandoned: threading.Event, attempts: int | None = None) -> ReplicaHandle:
        """One replica, ready; ``attempts`` starts at most (default: a local container once, a pod with the
        deployment's back-off). Gives up (``ABANDONED_ERROR``) within a readiness poll of ``abandoned``."""
        if abandoned.is_set():
            raise DeployFailed(ABANDONED_ERROR)
        spec = self.spec(ws_id, settings, replica, launch)
        local = settings.local
        # Docker does not restart a crashed local container; Kubernetes restarts a pod's.
        if attempts is None:
            attempts = 1 if local else 1 + len(RESTART_BACKOFF_S)
        for attempt in range(attempts):
            try:
                handle = self._runtime.start(spec)
            except RuntimeErrorBase as exc:
                if local and _port_taken(spec.port):
                    raise DeployFailed(local_port_in_use_error(spec.port, exc)) from exc
                raise DeployFailed(replica_start_failed_error(replica.id, str(exc))) from exc
            def worth_waiting(handle: ReplicaHandle = handle) -> bool:  # wait_ready calls it before the loop goes on
                return not abandoned.is_set() and self._runtime.is_alive(handle)

            result = wait_ready(handle.address, time.monotonic() + settings.ready_timeout_s, worth_waiting)
            if result is ProbeResult.READY:
                return handle
            self._runtime.stop(handle, timeout=2)
            if abandoned.is_set():
                raise DeployFailed(ABANDONED_ERROR)
            if result is ProbeResult.TIMEOUT:
                with open(spec.log_path, "a") as handle_log:
                    handle_log.write(f"\n[fake-azure] replica {replica.id} was not ready within "
                                     f"{settings.ready_timeout_s:g} s (readiness probe failed)\n")
                raise DeployFailed(TIMED_OUT_ERROR)
            if local:
                raise DeployFailed(LOCAL_CRASH_ERROR)
            with open(spec.log_path, "a") as handle_log:
                handle_log.write(f"\n[fake-azure] replica {replica.id} exited during init (attempt "
                                 f"{attempt + 1} of {attempts}); Kubernetes would report CrashLoopBackOff\n")
            if attempt + 1 < attempts and abandoned.wait(RESTART_BACKOFF_S[min(attempt, len(RESTART_BACKOFF_S) - 1)]):
                raise DeployFailed(ABANDONED_ERROR)
        raise DeployFailed(services.crash_loop_error(settings.name))
