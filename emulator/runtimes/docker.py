"""``DockerRuntime``: each replica is a container running the real scoring server ``azmlinfsrv``.

* Images: one per environment digest (:mod:`emulator.runtimes.images`), built once from
  ``base_image`` (``FAKE_AZURE_BASE_IMAGE``) and reused.
* Code and models reach the container without bind mounts: the laid-out app root is copied to
  ``/var/azureml-app`` with ``put_archive`` between create and start, so a remote engine works.
* The server listens on 5001 inside; that port alone is published, on the engine host's loopback (a
  remote tcp engine: on its address), and reached directly or through an ssh tunnel
  (:mod:`.engine_host`). Not a unix socket as for the process runtime: the engine may be remote, and
  sharing one would need a bind mount, which this runtime avoids.
* Environment: the spec's variables (never the daemon's own, never ``FAKE_AZURE_*``), with host paths
  rewritten into the container (``AML_APP_ROOT=/var/azureml-app``; ``AZUREML_MODEL_DIR`` and
  ``AZUREML_ENTRY_SCRIPT`` relative to it).
* GPUs: a replica given host GPUs gets exactly those through an nvidia ``DeviceRequest`` with
  device ids, when the engine has the nvidia runtime; inside, they are numbered from 0, so
  ``CUDA_VISIBLE_DEVICES`` is ``0..n-1``. Without the nvidia runtime the GPU policy decides:
  ``cpu-fallback`` (default) runs the replica without GPUs (``CUDA_VISIBLE_DEVICES=""``), ``fail``
  refuses to start it.
* Every container carries ``fake-azure.instance=<instance_id>``; :meth:`DockerRuntime.sweep`
  removes those of this instance that no live replica owns.
* The container's output is followed into ``spec.log_path`` by a thread, so the log files work as
  for the process runtime (and outlive the container), capped the same way (:mod:`.logrotate`); the
  engine's own copy is capped by the container's json-file ``max-size``/``max-file``. The follower
  lags the engine (more so over ssh) and may lose its stream, so while the container exists
  :meth:`DockerRuntime.logs` asks the engine (only the tail, when a tail is asked for), and
  :meth:`DockerRuntime.stop` rewrites the container's part of the log from the engine's copy before
  removing it.

Only this module, :mod:`emulator.runtimes.containers` (the container's parts: environment, app-root
archive, state, log follower) and :mod:`emulator.runtimes.images` import the docker SDK; its errors
become ``RuntimeUnavailable``/``ReplicaStartFailed`` in :func:`~emulator.runtimes.containers.engine_errors`.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Mapping

from ..settings import GPU_POLICIES
from .base import ReplicaHandle, ReplicaRuntime, ReplicaSpec, ReplicaStartFailed, RuntimeUnavailable
from .containers import (
    CONTAINER_APP_ROOT,
    ContainerState,
    container_environ,
    earlier_output,
    engine_errors,
    engine_output,
    file_size,
    follow_logs,
    missing_image,
    renumbered,
    tar_app_root,
)
from .engine_host import EngineHost
from .images import LABEL_SHIM, ImageBuilder
from .logrotate import LogLimits, RotatingLog, last_lines, remove_log
from .pidfiles import PidFiles

try:
    import docker
    import docker.errors
    import docker.types
    import requests.exceptions
except ImportError:  # pragma: no cover - the docker extra is not installed
    docker = None

CONNECT_TIMEOUT_S = 15
API_TIMEOUT_S = 600
CONTAINER_PORT = 5001
LABEL_INSTANCE = "fake-azure.instance"
LABEL_SERVICE = "fake-azure.service"
LABEL_REPLICA = "fake-azure.replica"
_NAME_SAFE = re.compile(r"[^a-zA-Z0-9_.-]+")
# Container states in which the replica has not ended (yet).
_Container = ContainerState  # the name the unit tests know
_NOT_ENDED = ("running", "created", "restarting", "paused")



class DockerRuntime(ReplicaRuntime):
    """Replicas as containers on a Docker engine (``client``, or one made from ``docker_env``).

    ``engine`` says where that engine runs and so how replicas are published and reached; it
    defaults to what ``docker_env``'s ``DOCKER_HOST`` names.
    """

    name = "docker"

    def __init__(self, instance_id: str, base_image: str, cache_dir: Path, client: Any = None, *,
                 gpu_policy: str = "cpu-fallback", pip_strategy: str | None = None,
                 docker_env: Mapping[str, str] | None = None, engine: EngineHost | None = None,
                 tunnel_pid_dir: Path | None = None, log_limits: LogLimits = LogLimits(),
                 python_policy: str = "nearest") -> None:
        if docker is None:
            raise RuntimeUnavailable("the docker runtime needs the docker SDK: pip install 'fake-azure[docker]'")
        if gpu_policy not in GPU_POLICIES:
            raise ValueError(f"gpu_policy {gpu_policy!r}: expected one of {', '.join(GPU_POLICIES)}")
        self.instance_id = instance_id
        self.base_image = base_image
        self.cache_dir = Path(cache_dir)
        self.gpu_policy = gpu_policy
        # FAKE_AZURE_PYTHON_POLICY: an environment's Python that the base image does not have.
        self.python_policy = python_policy
        self.log_limits = log_limits
        with engine_errors("connecting to the Docker engine", RuntimeUnavailable):
            # use_ssh_client: an ssh:// engine is reached with the ssh command, as the docker CLI
            # reaches it (ssh config, agent, jump hosts), not with paramiko.
            if client is None:
                # A short timeout while connecting (from_env asks the engine its API version), so a
                # DOCKER_HOST that swallows connections fails in seconds; long builds get the long one.
                client = docker.from_env(timeout=CONNECT_TIMEOUT_S, use_ssh_client=True,
                                         environment=dict(docker_env) if docker_env is not None else None)
                client.api.timeout = API_TIMEOUT_S
            else:
                client.ping()
            self.client = client
        self.engine = (engine if engine is not None
                       else EngineHost.from_docker_host((docker_env or {}).get("DOCKER_HOST")))
        # ssh tunnels outlive a daemon killed with SIGKILL; sweep() ends those a dead daemon left.
        self._tunnel_pids = PidFiles(tunnel_pid_dir)
        self.images = ImageBuilder(self.client, base_image, self.cache_dir, strategy=pip_strategy)
        self._nvidia: bool | None = None
        self._remote_gpus: int | None = None
        # Whether an image (by tag) carries the azureml.core shim: fixed when the image is built.
        self._image_shim: dict[str, bool] = {}

    # --- environments -------------------------------------------------------------------------------

    def prepare(self, environment: Mapping[str, Any], log: Callable[[str], None]) -> str:
        with engine_errors("preparing the environment image", RuntimeUnavailable):
            return self.images.prepare(self.resolve_environment(environment), log)

    def resolve_environment(self, environment: Mapping[str, Any]) -> Any:
        """The BuildSpec of ``environment`` on this engine's base image (raises SpecError)."""
        from ..environments import resolve_spec

        # The container's interpreter is the base image's: the default Python, and the only one.
        base = self.images.base_python()
        return resolve_spec(environment or {}, host_python_version=base,
                            python_available=lambda version: version == base, python_policy=self.python_policy,
                            interpreters_where=f"in the base image {self.base_image!r} (FAKE_AZURE_BASE_IMAGE), "
                                              f"which has Python {base}",
                            host_label="the base image's")

    # --- GPUs ---------------------------------------------------------------------------------------

    def has_nvidia_runtime(self) -> bool:
        if self._nvidia is None:
            with engine_errors("asking the Docker engine for its runtimes", RuntimeUnavailable):
                self._nvidia = "nvidia" in (self.client.info().get("Runtimes") or {})
        return self._nvidia

    def remote_gpu_count(self) -> int | None:
        """A remote engine's GPUs, listed by nvidia-smi in a throwaway container given all of them."""
        if self.engine.kind == "local":
            return None
        if self._remote_gpus is None:
            if not self.has_nvidia_runtime():
                self._remote_gpus = 0
            else:
                with engine_errors("listing the Docker host's GPUs", RuntimeUnavailable):
                    listing = self.client.containers.run(
                        self.base_image, ["nvidia-smi", "-L"], remove=True, stdout=True, stderr=False,
                        environment={"NVIDIA_DRIVER_CAPABILITIES": "utility"},
                        device_requests=[docker.types.DeviceRequest(driver="nvidia", count=-1,
                                                                    capabilities=[["gpu"]])])
                self._remote_gpus = sum(1 for line in listing.decode(errors="replace").splitlines()
                                        if line.startswith("GPU "))
        return self._remote_gpus

    def location(self) -> str | None:
        return None if self.engine.kind == "local" else f"docker: {self.engine.describe()}"

    def gpus_for(self, gpu_ids: tuple[int, ...]) -> tuple[int, ...]:
        """The host GPUs a replica asking for ``gpu_ids`` actually gets (GPU policy applied)."""
        if not gpu_ids or self.has_nvidia_runtime():
            return tuple(gpu_ids)
        if self.gpu_policy == "require":
            raise ReplicaStartFailed(f"the replica needs GPUs {list(gpu_ids)} but the Docker engine has no "
                                     f"nvidia runtime (install the NVIDIA Container Toolkit)")
        return ()

    def cuda_visible_devices(self, gpu_ids: tuple[int, ...]) -> str:
        """``CUDA_VISIBLE_DEVICES`` inside the container: its GPUs are renumbered from 0."""
        return renumbered(self.gpus_for(tuple(gpu_ids)))

    # --- starting -----------------------------------------------------------------------------------

    def container_environ(self, spec: ReplicaSpec, image_has_shim: bool,
                          gpus: tuple[int, ...] | None = None) -> dict[str, str]:
        """The container's environment; ``gpus``: what :meth:`gpus_for` gave (asked here if None)."""
        return container_environ(spec, image_has_shim, self.gpus_for(tuple(spec.gpu_ids)) if gpus is None else gpus)

    def container_name(self, spec: ReplicaSpec) -> str:
        return _NAME_SAFE.sub("-", f"fake-azure-{self.instance_id}-{spec.service_name}-{spec.replica_id}")[:200]

    def start(self, spec: ReplicaSpec) -> ReplicaHandle:
        app_root = Path(spec.app_root).absolute()
        entry = PurePosixPath(CONTAINER_APP_ROOT) / PurePosixPath(spec.entry_script)
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with engine_errors(f"cannot start replica {spec.replica_id}"):
            image_has_shim = self._image_has_shim(spec.environment)
            gpus = self.gpus_for(tuple(spec.gpu_ids))
            kwargs: dict[str, Any] = {}
            if gpus:
                kwargs["device_requests"] = [docker.types.DeviceRequest(
                    driver="nvidia", device_ids=[str(i) for i in gpus], capabilities=[["gpu"]])]
            if spec.cpu_limit:
                kwargs["nano_cpus"] = int(spec.cpu_limit * 1e9)
            if spec.memory_limit_gb:
                kwargs["mem_limit"] = int(spec.memory_limit_gb * 1024 ** 3)
            name = self.container_name(spec)
            with contextlib.suppress(docker.errors.NotFound):
                self.client.containers.get(name).remove(force=True)  # a leftover of a crashed daemon
            try:
                container = self.client.containers.create(
                    spec.environment,
                    ["azmlinfsrv", "--entry_script", str(entry), "--port", str(CONTAINER_PORT)],
                    name=name, working_dir=CONTAINER_APP_ROOT,
                    environment=self.container_environ(spec, image_has_shim, gpus),
                    # A tunnelled replica keeps spec.port for the tunnel's local end: the engine picks.
                    ports={f"{CONTAINER_PORT}/tcp": (self.engine.publish_address,
                                                     None if self.engine.tunnelled else spec.port or None)},
                    labels={LABEL_INSTANCE: self.instance_id, LABEL_SERVICE: spec.service_name,
                            LABEL_REPLICA: spec.replica_id},
                    # The engine's copy is capped as the log file is (a replica printing 1 GB stays small).
                    log_config=docker.types.LogConfig(type="json-file", config={
                        "max-size": str(self.log_limits.max_bytes), "max-file": str(self.log_limits.max_files)}),
                    stdin_open=False, tty=False, detach=True, **kwargs)
            except docker.errors.ImageNotFound:  # removed since its label was cached (pruned)
                self._image_shim.pop(spec.environment, None)
                raise RuntimeUnavailable(missing_image(spec.environment)) from None
            try:
                with tar_app_root(app_root) as archive:
                    if not container.put_archive("/", archive):
                        raise ReplicaStartFailed(f"cannot copy {app_root} into the container")
                container.start()
                container.reload()
                published = int(container.attrs["NetworkSettings"]["Ports"][f"{CONTAINER_PORT}/tcp"][0]["HostPort"])
                reached = self.engine.reach(published, local_port=spec.port if self.engine.tunnelled else 0)
            except BaseException:
                with contextlib.suppress(Exception):
                    container.remove(force=True)
                raise
        state = ContainerState(container, tunnel=reached.tunnel, log_start=file_size(spec.log_path),
                           writer=RotatingLog(spec.log_path, self.log_limits))
        if reached.tunnel is not None and reached.tunnel.process is not None:
            self._tunnel_pids.record(spec.replica_id, reached.tunnel.process.pid)
        state.follower = threading.Thread(target=follow_logs, args=(state,),
                                          name=f"logs-{name}", daemon=True)
        state.follower.start()
        return ReplicaHandle(spec=spec, host=reached.host, port=reached.port, pid=None, native=state)

    def _image_has_shim(self, tag: str) -> bool:
        """Whether image ``tag`` carries the azureml.core shim (asked of the engine once per tag)."""
        if tag not in self._image_shim:
            try:
                image = self.client.images.get(tag)
            except docker.errors.ImageNotFound:
                raise RuntimeUnavailable(missing_image(tag)) from None
            self._image_shim[tag] = (image.labels or {}).get(LABEL_SHIM) == "1"
        return self._image_shim[tag]

    # --- observing ----------------------------------------------------------------------------------

    def _refresh(self, state: ContainerState) -> str:
        """The container's status ("running", "exited"...); records the exit code once ended."""
        with state.lock:
            if state.removed:
                return "removed"
            try:
                state.container.reload()
            except docker.errors.NotFound:
                state.removed = True
                return "removed"
            except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
                raise RuntimeUnavailable(f"the Docker engine does not answer: {exc}") from exc
            status = state.container.status
            if status in ("exited", "dead") and state.exit_code is None:
                state.exit_code = int(state.container.attrs["State"]["ExitCode"])
            return status

    def is_alive(self, handle: ReplicaHandle) -> bool:
        state: ContainerState = handle.native
        if state.tunnel is not None and not state.tunnel.alive():
            return False  # unreachable: the supervisor replaces it, tunnel included
        if state.follower is not None and state.follower.is_alive():
            # The followed log stream ends when the container does: while it is open the container
            # runs, and probes polling this many times a second cost no engine round trip.
            return True
        return self._refresh(state) in ("running", "created", "restarting")

    def exit_code(self, handle: ReplicaHandle) -> int | None:
        state: ContainerState = handle.native
        if self._refresh(state) in _NOT_ENDED:
            return None
        return state.exit_code

    def logs(self, handle: ReplicaHandle, tail_lines: int | None = None) -> str:
        """Earlier attempts' lines from the log file, then the container's output as the engine has
        it (the followed file may lag); the file alone once the container is gone or the engine mute."""
        state: ContainerState = handle.native
        if tail_lines is not None and tail_lines <= 0:
            return ""
        output = None if state.removed else engine_output(state, tail_lines)
        if output is None:
            return super().logs(handle, tail_lines)
        if tail_lines is None or output.count(b"\n") < tail_lines:
            output = earlier_output(state, handle.log_path) + output
        return (output if tail_lines is None else last_lines(output, tail_lines)).decode("utf-8", errors="replace")

    def _settle_log(self, state: ContainerState, log_path: Path) -> None:
        """Make the log file hold the container's whole output: the follower's copy may miss lines."""
        output = engine_output(state)
        with state.log_lock:
            state.log_settled = True
            if state.writer is not None:
                state.writer.close()
            if output is None:
                return  # the engine is mute: the follower's copy is all there is
            whole = earlier_output(state, log_path) + output
            remove_log(log_path)
            writer = RotatingLog(log_path, self.log_limits)
            try:
                writer.write(whole)
            finally:
                writer.close()

    # --- stopping -----------------------------------------------------------------------------------

    def stop(self, handle: ReplicaHandle, timeout: float = 10.0) -> None:
        state: ContainerState = handle.native
        if state.tunnel is not None:
            state.tunnel.close()
            self._tunnel_pids.forget(handle.replica_id)
        if self._refresh(state) == "removed":
            return
        with engine_errors(f"stopping replica {handle.replica_id}", RuntimeUnavailable):
            with contextlib.suppress(docker.errors.NotFound):
                state.container.stop(timeout=max(0, int(round(timeout))))
            self._refresh(state)
            if state.follower is not None:
                state.follower.join(timeout=5)
            self._settle_log(state, handle.log_path)
            with state.lock, contextlib.suppress(docker.errors.NotFound):
                state.container.remove(force=True)
            state.removed = True

    # cleanup() is ReplicaRuntime's: stop() removes the container.

    def sweep(self, keep_replica_ids: Iterable[str] = ()) -> list[str]:
        """Remove this instance's containers that no live replica (``keep_replica_ids``) owns."""
        keep = set(keep_replica_ids)
        removed = []
        for _, pid in self._tunnel_pids.orphans(keep):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        with engine_errors("sweeping orphaned containers", RuntimeUnavailable):
            ours = {"label": f"{LABEL_INSTANCE}={self.instance_id}"}
            for container in self.client.containers.list(all=True, filters=ours):
                if (container.labels or {}).get(LABEL_REPLICA) in keep:
                    continue
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True)
                    removed.append(container.name)
        return removed

    # --- images -------------------------------------------------------------------------------------

    def list_images(self) -> list[dict[str, Any]]:
        with engine_errors("listing images", RuntimeUnavailable):
            return self.images.list_images()

    def prune_images(self, keep: Any = ()) -> list[str]:
        """Remove our images except those of ``keep`` (digests or ``fake-azure-env:<digest>`` tags)."""
        digests = {str(k).rsplit(":", 1)[-1] for k in keep}
        with engine_errors("pruning images", RuntimeUnavailable):
            return self.images.prune(keep_digests=digests)
