"""Running the control plane: in the foreground (``serve``) or as a detached background process (``up``).

A running daemon announces itself in ``FAKE_AZURE_HOME/daemon.json`` (url, pid, home, runtime,
version), written atomically once its socket and the restored services' gateways are bound (so `up`
never returns while a known scoring URI refuses connections); ``daemon.lock`` serialises concurrent starts."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from fake_azure import __version__
from fake_azure.settings import Settings

from .procstat import read_stat
from .settings import DaemonSettings
from .socket_folder import remove_temp_socket_folder


class DaemonError(RuntimeError):
    """The daemon could not be started or reached: the CLI's and the facade's failure, never an HTTP body."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone); the pytest plugin's reaper asks it too."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0): reap it if it is our child, and treat it as dead either way.
    try:
        if os.waitpid(pid, os.WNOHANG)[0] != 0:
            return False
    except ChildProcessError:
        pass
    stat = read_stat(pid)
    return stat is None or stat.state != "Z"  # no /proc (macOS): kill(0) is all we know


def prepare_home(settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o700)


def read_info(settings: Settings) -> dict[str, Any] | None:
    """The announcement of a live daemon for this home, or None."""
    try:
        info = json.loads(settings.daemon_info_path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    if not pid_alive(int(info.get("pid", -1))):
        return None
    return info


def serving_info(settings: Settings) -> dict[str, Any] | None:
    """The announcement of this home's daemon if it answers its health check, else None."""
    info = read_info(settings)
    return info if info and is_healthy(info["url"]) else None


def is_healthy(url: str, timeout: float = 1.0) -> bool:
    # http.client rather than requests: the CLI and the daemon start faster without importing requests.
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.hostname:  # not a daemon's URL: nothing answers there
        return False
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", "/_emulator/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def serve(settings: DaemonSettings) -> None:
    """Run the daemon in this process until SIGTERM/SIGINT."""
    from .app import create_app
    from .auth import TokenFileError, load_or_create_token
    from .blobs import BlobStore
    from .cloud import Cloud
    from .progress import ProgressPolicy
    from .runtimes.base import RuntimeUnavailable
    from .store import Store

    prepare_home(settings)
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"fake-azure: WARNING: binding the control plane to {settings.host}, not loopback; "
              "anyone who can reach it and holds the token can run code on this machine.", file=sys.stderr)
    try:  # the runtime is chosen (and a docker engine reached) once, here
        cloud = Cloud(
            settings=settings,
            store=Store(settings.db_path),
            blobs=BlobStore(settings.blob_dir),
            token=load_or_create_token(settings.token_path),
            progress=ProgressPolicy.parse(settings.progress),
        )
    except RuntimeUnavailable as exc:
        raise DaemonError(_docker_refused(exc)) from exc
    except TokenFileError as exc:
        raise DaemonError(str(exc)) from None
    server = _control_server(cloud, create_app(cloud), settings)
    port = server.effective_port
    url = f"http://{settings.host}:{port}"
    from .arm.listener import ArmListener

    arm = ArmListener(cloud)  # the SDK v2 front end: ARM routes and the storage account, over HTTPS
    arm_url = f"https://{settings.host}:{arm.start()}/"
    gpus = cloud.engine.gpus
    notes = [n for n in (cloud.runtime_note, cloud.engine.runtime.location(), gpus.host_note()) if n]
    info = {"url": url, "armUrl": arm_url, "pid": os.getpid(), "home": str(settings.home),
            "runtime": cloud.runtime_name,
            "gpus": gpus.count, "gpuPolicy": gpus.policy, "notes": notes,
            "version": __version__, "progress": settings.progress, "started_at": time.time()}

    def stop(signum: int, frame: Any) -> None:
        server.close()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # Services that were serving before a restart come back (replicas a killed daemon left running are
        # taken over, what else it left is swept). Their gateways listen again before the daemon announces
        # itself, so `up` never returns while a known scoring URI refuses connections.
        cloud.engine.start()  # its supervisor and autoscaler; constructing it started nothing
        cloud.engine.restore()
        _write_json_atomic(settings.daemon_info_path, info)
        print(f"fake-azure: serving {url} (home {settings.home})", file=sys.stderr, flush=True)
        server.run()
    finally:
        arm.stop()
        cloud.engine.shutdown()
        cloud.engine.sweep_orphans()
        remove_temp_socket_folder(settings.home)  # no replica is left to listen there
        current = read_info(settings)
        if current is None or current.get("pid") == os.getpid():
            settings.daemon_info_path.unlink(missing_ok=True)


def _control_server(cloud: Any, app: Any, settings: DaemonSettings) -> Any:
    """The control plane's server: on FAKE_AZURE_PORT, else on the port it had before a restart when that is free
    (activated SDK v2 clients read the cloud's metadata there), else on any free port."""
    import dataclasses

    from .control_server import create_control_server

    remembered = None
    if not settings.port:
        row = cloud.store.read().execute("SELECT port FROM listeners WHERE name = 'control'").fetchone()
        remembered = row["port"] if row else None
    try:
        server = create_control_server(app, dataclasses.replace(settings, port=remembered) if remembered else settings)
    except OSError:
        if not remembered:
            raise
        server = create_control_server(app, settings)
    with cloud.store.transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO listeners (name, port) VALUES ('control', ?)", (server.effective_port,))
    return server


@contextmanager
def _start_lock(settings: Settings) -> Iterator[None]:
    prepare_home(settings)
    with open(settings.lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_runtime(settings: DaemonSettings) -> None:
    """Refuse before starting anything when FAKE_AZURE_RUNTIME=docker cannot work here."""
    if settings.runtime != "docker":
        return
    from .auth import TokenFileError
    from .runtimes.base import RuntimeUnavailable
    from .runtimes.select import docker_runtime

    try:
        docker_runtime(settings)
    except RuntimeUnavailable as exc:
        raise DaemonError(_docker_refused(exc)) from exc
    except TokenFileError as exc:
        raise DaemonError(str(exc)) from None


def _docker_refused(exc: Exception) -> str:
    return (f"FAKE_AZURE_RUNTIME=docker, but {exc}. Start a Docker engine (and point DOCKER_HOST at it), or use "
            "FAKE_AZURE_RUNTIME=process or auto.")


def ensure_running(settings: Settings) -> tuple[dict[str, Any], bool]:
    """The live daemon for this home, starting one in the background if needed. Returns (info, started)."""
    info = serving_info(settings)
    if info:
        return info, False
    with _start_lock(settings):
        info = serving_info(settings)  # another process may have started it while we waited
        if info:
            return info, False
        # What the daemon will run with: the knobs a facade's settings do not hold come from the environment.
        daemon_settings = DaemonSettings.for_daemon(settings)
        check_runtime(daemon_settings)  # refused here, with the reason, rather than in the daemon's log
        _check_token_file(settings)
        return _spawn(daemon_settings), True


def _check_token_file(settings: Settings) -> None:
    """A token file that cannot be read is refused here, with the reason (the daemon would exit on it)."""
    from .auth import TokenFileError, read_token

    try:
        read_token(settings.token_path)
    except TokenFileError as exc:
        raise DaemonError(str(exc)) from None


def _spawn(settings: DaemonSettings) -> dict[str, Any]:
    env = dict(os.environ)
    env["FAKE_AZURE_HOME"] = str(settings.home)
    env["FAKE_AZURE_PORT"] = str(settings.port)
    env["FAKE_AZURE_PROGRESS"] = settings.progress
    env["FAKE_AZURE_RUNTIME"] = settings.runtime
    settings.daemon_info_path.unlink(missing_ok=True)
    with open(settings.log_path, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "emulator", "serve"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            start_new_session=True,  # outlives the script that started it, as a cloud would
            close_fds=True,
        )
    deadline = time.monotonic() + settings.startup_timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise DaemonError(f"the fake-azure daemon exited during start (code {child.returncode}); "
                              f"see {settings.log_path}")
        info = read_info(settings)
        if info and info.get("pid") == child.pid and is_healthy(info["url"], timeout=0.5):
            return info
        time.sleep(0.01)
    child.kill()
    raise DaemonError(f"the fake-azure daemon did not become ready in {settings.startup_timeout}s; "
                      f"see {settings.log_path}")


def stop(settings: Settings, timeout: float = 10.0) -> bool:
    """Stop the daemon of this home. Returns whether one was running."""
    info = read_info(settings)
    if info is None:
        return False
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)
    settings.daemon_info_path.unlink(missing_ok=True)
    return True
