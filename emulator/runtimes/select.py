"""Choosing the replica runtime from the settings (process, docker, or auto = docker when an engine answers)."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ..settings import DaemonSettings
from .base import ReplicaRuntime, RuntimeUnavailable
from .logrotate import LogLimits
from .process import ProcessRuntime

if TYPE_CHECKING:
    from .docker import DockerRuntime


def instance_id(settings: DaemonSettings) -> str:
    """A stable id for this FAKE_AZURE_HOME: every container it starts carries it as a label."""
    path = settings.home / "instance-id"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(uuid.uuid4().hex)
    return path.read_text().strip()


def log_limits(settings: DaemonSettings) -> LogLimits:
    return LogLimits(settings.replica_log_max_bytes, settings.replica_log_max_files)


def docker_runtime(settings: DaemonSettings) -> DockerRuntime:
    """The docker runtime, or RuntimeUnavailable saying why not (SDK missing, engine not answering)."""
    try:
        from .docker import DockerRuntime
    except ImportError as exc:
        raise RuntimeUnavailable("the docker runtime needs the docker SDK: pip install 'fake-azure[docker]'") from exc
    from .engine_host import EngineHost

    engine = EngineHost.from_docker_host(settings.docker_host, settings.docker_publish_address)
    runtime = DockerRuntime(instance_id(settings), settings.base_image, Path(settings.env_cache).parent / "images",
                            gpu_policy=settings.gpu_policy, pip_strategy=settings.docker_pip,
                            docker_env=dict(settings.docker_env), engine=engine,
                            tunnel_pid_dir=settings.home / "tunnel-pids", log_limits=log_limits(settings),
                            python_policy=settings.python_policy)
    runtime.remote_gpu_count()  # a remote host's GPUs, counted (and cached) now: a failure is "unavailable"
    return runtime


def select_runtime(settings: DaemonSettings) -> tuple[ReplicaRuntime, str]:
    """(runtime, note): the note says why ``auto`` chose what it chose."""
    process = ProcessRuntime(settings.env_cache, settings.reuse_interpreter, pid_dir=settings.home / "replica-pids",
                             log_limits=log_limits(settings), python_policy=settings.python_policy)
    if settings.runtime == "process":
        return process, ""
    try:
        chosen = docker_runtime(settings)
        if settings.runtime == "auto":
            where = settings.docker_host or "the default socket"
            return chosen, f"FAKE_AZURE_RUNTIME=auto chose the docker runtime: an engine answers at {where}"
        return chosen, ""
    except RuntimeUnavailable as exc:
        if settings.runtime == "docker":
            raise
        return process, f"FAKE_AZURE_RUNTIME=auto chose the process runtime: {exc}"
