"""The parts of a replica container that need no runtime: the engine-error mapping, the app-root
archive, the container's environment, and its state with the log follower that reads its output.

With :mod:`emulator.runtimes.docker` (the runtime) and :mod:`emulator.runtimes.images`, the only
modules importing the docker SDK.
"""
from __future__ import annotations

import contextlib
import os
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from scoring.sdk_shim import SHIM_DIR

from .base import DROPPED_ENV_PREFIXES, DROPPED_ENV_VARS, ReplicaSpec, ReplicaStartFailed, RuntimeUnavailable
from .engine_host import SshTunnel
from .images import CONTAINER_SHIM_DIR
from .logrotate import RotatingLog, log_files

try:
    import docker
    import docker.errors
    import requests.exceptions
except ImportError:  # pragma: no cover - the docker extra is not installed
    docker = None

CONTAINER_APP_ROOT = "/var/azureml-app"
_RELATIVE_VARS = ("AZUREML_MODEL_DIR", "AZUREML_ENTRY_SCRIPT")


@contextlib.contextmanager
def engine_errors(what: str, failure: type[Exception] = ReplicaStartFailed) -> Iterator[None]:
    """Turn the docker SDK's errors into the runtime's: engine unreachable -> RuntimeUnavailable."""
    try:
        yield
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise RuntimeUnavailable(f"{what}: the Docker engine does not answer ({exc})") from exc
    except docker.errors.APIError as exc:
        message = exc.explanation or str(exc)
        raise failure(f"{what}: {message}") from exc
    except docker.errors.DockerException as exc:
        raise RuntimeUnavailable(f"{what}: {exc}") from exc


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def file_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of ``path`` (b"" if it is gone)."""
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except FileNotFoundError:
        return b""


def earlier_output(state: ContainerState, log_path: Path) -> bytes:
    """What the replica's log held before this container started (earlier attempts, the engine's notes).

    The file that was current then is now ``.log.<r>`` after the follower's ``r`` rotations (gone once
    rotated past the cap): its head up to ``log_start``, after the files older than it."""
    rotations = state.writer.rotations if state.writer is not None else 0
    start_file = log_path if rotations == 0 else log_path.with_name(f"{log_path.name}.{rotations}")
    older = []
    for entry in log_files(log_path):
        suffix = entry.name[len(log_path.name) + 1:]
        if suffix.isdigit() and int(suffix) > rotations:
            with contextlib.suppress(FileNotFoundError):
                older.append(entry.read_bytes())
    return b"".join(older) + file_head(start_file, state.log_start)


def missing_image(tag: str) -> str:
    return f"image {tag} is not on the Docker engine (prepare the environment first)"


def renumbered(gpus: tuple[int, ...]) -> str:
    """``CUDA_VISIBLE_DEVICES`` for a container given host GPUs ``gpus``: they are numbered from 0 inside."""
    return ",".join(str(i) for i in range(len(gpus)))


@dataclass
class ContainerState:
    """What a handle's ``native`` holds: the container and the thread following its logs."""

    container: Any
    follower: threading.Thread | None = None
    tunnel: SshTunnel | None = None
    exit_code: int | None = None
    removed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The log file's size when the container started: what lies before is earlier attempts' output.
    log_start: int = 0
    # Writes the followed output, with rotation: its rotations tell where the earlier part went.
    writer: RotatingLog | None = None
    # Set once stop() has written the engine's copy of the output: the follower writes no more.
    log_settled: bool = False
    log_lock: threading.Lock = field(default_factory=threading.Lock)


def tar_app_root(app_root: Path) -> tempfile.SpooledTemporaryFile:
    """A tar of ``app_root``'s contents under ``var/azureml-app`` (files dereferenced)."""
    buffer = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    root = CONTAINER_APP_ROOT.lstrip("/")

    def owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(fileobj=buffer, mode="w", dereference=True) as tar:
        for parent in ("var", root):
            info = tarfile.TarInfo(parent)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for entry in sorted(app_root.iterdir()):
            tar.add(str(entry), arcname=f"{root}/{entry.name}", filter=owned_by_root)
    buffer.seek(0)
    return buffer


def container_environ(spec: ReplicaSpec, image_has_shim: bool, gpus: tuple[int, ...]) -> dict[str, str]:
    """The environment of ``spec``'s container, given the host GPUs ``gpus`` it gets."""
    app_root = str(Path(spec.app_root).absolute())
    env: dict[str, str] = {"PYTHONUNBUFFERED": "1"}
    for key, value in spec.env.items():
        if key.startswith(DROPPED_ENV_PREFIXES) or key in DROPPED_ENV_VARS:
            continue
        value = str(value)
        if key in _RELATIVE_VARS and os.path.isabs(value):
            with contextlib.suppress(ValueError):
                value = os.path.relpath(value, app_root) if value.startswith(app_root) else value
        elif value == app_root or value.startswith(app_root + "/"):
            value = CONTAINER_APP_ROOT + value[len(app_root):]
        env[key] = value
    env["AML_APP_ROOT"] = CONTAINER_APP_ROOT
    # Host directories mean nothing in the container: the shim lives in the image instead.
    entries = [p for p in env.pop("PYTHONPATH", "").split(os.pathsep)
               if p and p != str(SHIM_DIR) and not (p.startswith("/") and not p.startswith(CONTAINER_APP_ROOT))]
    if entries:
        env["PYTHONPATH"] = os.pathsep.join(entries + ([CONTAINER_SHIM_DIR] if image_has_shim else []))
    env["CUDA_VISIBLE_DEVICES"] = renumbered(gpus)
    if not env["CUDA_VISIBLE_DEVICES"]:
        env["NVIDIA_VISIBLE_DEVICES"] = "void"  # even where nvidia is the engine's default runtime
    return env


def follow_logs(state: ContainerState) -> None:
    """Copy the container's output into its log file until the stream ends (a thread's target)."""
    # Errors end the thread quietly: stop() writes the whole output from the engine's copy.
    writer = state.writer
    if writer is None:  # nothing to copy into
        return
    try:
        with contextlib.suppress(Exception):
            for chunk in state.container.logs(stream=True, follow=True, stdout=True, stderr=True):
                with state.log_lock:
                    if state.log_settled:
                        return
                    writer.write(chunk)
    finally:
        with state.log_lock:
            writer.close()


def engine_output(state: ContainerState, tail_lines: int | None = None) -> bytes | None:
    """The container's stdout/stderr from the engine (its last ``tail_lines`` lines, or all the
    engine keeps); None if it is gone or the engine mute."""
    try:
        return state.container.logs(stdout=True, stderr=True, tail="all" if tail_lines is None else tail_lines)
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return None
