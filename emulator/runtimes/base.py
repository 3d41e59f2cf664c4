"""The ``ReplicaRuntime`` interface shared by the process and docker runtimes.

A runtime only starts, stops and observes replicas; readiness (``scoring.probe``), scheduling and
GPU assignment are decided by the caller and handed over in a ``ReplicaSpec``.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from scoring.address import Address

from .logrotate import read_text

# Never leak the control plane (token, home) or our own service manager into a replica.
DROPPED_ENV_PREFIXES = ("FAKE_AZURE_",)
DROPPED_ENV_VARS = ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET")


def read_log(path: Path, tail_lines: int | None = None) -> str:
    """A replica's log (with its rotated files), or only its last ``tail_lines`` lines, read from the
    end; "" while it does not exist."""
    return read_text(path, tail_lines)


class RuntimeErrorBase(Exception):
    """Root of the errors a runtime raises."""


class RuntimeUnavailable(RuntimeErrorBase):
    """The runtime cannot run replicas here (no scoring server for the interpreter, no engine...)."""


class ReplicaStartFailed(RuntimeErrorBase):
    """A replica could not be launched at all (as opposed to launching and then crashing)."""


@dataclass(frozen=True)
class ReplicaSpec:
    """Everything needed to start one replica of a service.

    ``environment`` is what :meth:`ReplicaRuntime.prepare` returned (an interpreter path for the
    process runtime, an image for a container runtime); ``entry_script`` is relative to ``app_root``
    (as ``AZUREML_ENTRY_SCRIPT``); ``gpu_ids`` are host GPU indices, empty for a CPU replica;
    ``port`` 0 lets the runtime pick a free loopback port. ``socket_path``: listen on this unix socket
    instead of a TCP port, so that only processes allowed into its (private) folder reach the replica;
    a runtime that cannot (a container's port is published by its engine) listens on TCP as before.
    """

    replica_id: str
    service_name: str
    app_root: Path
    environment: str
    entry_script: str
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    gpu_ids: tuple[int, ...] = ()
    port: int = 0
    # Resource limits (the deployment's cpu_cores_limit / memory_gb_limit); applied by container
    # runtimes, ignored by the process runtime. None: no limit.
    cpu_limit: float | None = None
    memory_limit_gb: float | None = None
    socket_path: Path | None = None


@dataclass
class ReplicaHandle:
    """A started replica. ``native`` is the runtime's own object (a ``Popen``, a container...).

    It listens on ``socket_path`` (a unix socket) when set, else on ``host``:``port``."""

    spec: ReplicaSpec
    host: str
    port: int
    pid: int | None = None
    native: Any = field(default=None, repr=False)
    socket_path: str | None = None

    @property
    def address(self) -> Address:
        return self.socket_path if self.socket_path is not None else (self.host, self.port)

    @property
    def replica_id(self) -> str:
        return self.spec.replica_id

    @property
    def log_path(self) -> Path:
        return self.spec.log_path


class ReplicaRuntime(abc.ABC):
    """Starts scoring replicas and reports on them; one implementation per isolation technology."""

    name: str = "abstract"

    @abc.abstractmethod
    def prepare(self, environment: Mapping[str, Any], log: Callable[[str], None]) -> str:
        """Make the service's environment runnable (build or reuse it) and return its reference.

        ``environment`` is the facade's ``Environment._serialize_to_dict()``. Raises
        ``emulator.environments.EnvironmentBuildError`` when it cannot be resolved or built.
        """

    @abc.abstractmethod
    def start(self, spec: ReplicaSpec) -> ReplicaHandle:
        """Launch the scoring server for ``spec`` and return at once (not waiting for readiness).

        Raises ``ReplicaStartFailed`` if nothing could be launched, ``RuntimeUnavailable`` if this
        runtime cannot run the spec's interpreter at all.
        """

    @abc.abstractmethod
    def stop(self, handle: ReplicaHandle, timeout: float = 10.0) -> None:
        """Terminate the replica and everything it spawned: graceful first, forced after ``timeout``."""

    def address(self, handle: ReplicaHandle) -> Address:
        """Where the daemon reaches the replica's scoring server: ``(host, port)`` or a unix socket path."""
        return handle.address

    @abc.abstractmethod
    def is_alive(self, handle: ReplicaHandle) -> bool:
        """Whether the replica's main process is still running."""

    @abc.abstractmethod
    def exit_code(self, handle: ReplicaHandle) -> int | None:
        """The exit status once the replica has ended, else ``None`` (negative: killed by signal)."""

    def logs(self, handle: ReplicaHandle, tail_lines: int | None = None) -> str:
        """The replica's combined stdout/stderr, optionally only the last ``tail_lines`` lines."""
        return read_log(handle.log_path, tail_lines)

    def cleanup(self, handle: ReplicaHandle) -> None:
        """Release what the runtime holds for the replica (stopping it first if still running).

        Logs and the app root belong to the caller; by default stopping releases everything else.
        """
        self.stop(handle)

    def sweep(self, keep_replica_ids: Iterable[str] = ()) -> list[str]:
        """Remove what a dead daemon left running that no live replica (``keep_replica_ids``) owns.

        Returns the ids or names of what was removed; nothing to do (``[]``) by default."""
        return []

    def adopt(self, spec: ReplicaSpec) -> ReplicaHandle | None:
        """Take over the replica ``spec`` names if a killed daemon of this home left it running (the very
        process it recorded), as if started here; it listens where ``spec`` says (``socket_path``, else
        ``port``), as recorded. None when there is none: :meth:`sweep` then removes what is left, and the
        replica is started afresh. The caller checks that it answers its readiness probe. Default: none."""
        return None

    def remote_gpu_count(self) -> int | None:
        """NVIDIA GPUs on the machine that runs the replicas when that is not this one; None here."""
        return None

    def location(self) -> str | None:
        """Where replicas run, when that needs saying (`fake-azure status`); None for this machine."""
        return None
