"""``ProcessRuntime``: each replica is a child process running the real scoring server ``azmlinfsrv``.

Loopback only: azmlinfsrv always passes ``-b 0.0.0.0:<port>`` to gunicorn on its command line,
which beats any config file or ``GUNICORN_CMD_ARGS``. Instead the runtime binds the listening
socket on 127.0.0.1 itself and hands it over with gunicorn's supported systemd socket activation
(``LISTEN_FDS``/``LISTEN_PID``, fd 3), in which case gunicorn binds nothing. This also makes port 0
race-free: the port is known before the child starts. A replica given a ``socket_path`` gets an
AF_UNIX socket the same way (gunicorn takes any bound socket it is handed) and no TCP port at all, so
no other local user can reach it past the gateway's keys.

A child writing straight to a file cannot be rotated, so the replica's stdout/stderr go through a
pipe to a log pump (:mod:`.logrotate` run as a script, in its own session) that caps the log. The pump
ends when the last writer closes the pipe, so it outlives neither the replica nor, when the daemon
dies, a replica that keeps running: output is never written into a closed pipe.
"""
from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from scoring.sdk_shim import pythonpath_for

from ..procstat import all_pids, read_stat
from .base import (
    DROPPED_ENV_PREFIXES,
    DROPPED_ENV_VARS,
    ReplicaHandle,
    ReplicaRuntime,
    ReplicaSpec,
    ReplicaStartFailed,
    RuntimeUnavailable,
)
from .cgroups import ReplicaCgroups
from .logrotate import LogLimits
from .pidfiles import PidFiles

LOOPBACK = "127.0.0.1"
_SERVER_MODULE = "azureml_inference_server_http.amlserver"
_PROBE_TIMEOUT_S = 60
_GROUP_EXIT_WAIT_S = 5.0
_PUMP_EXIT_WAIT_S = 2.0
_PUMP_SCRIPT = Path(__file__).with_name("logrotate.py")
# The replica's first process (launcher.py, run as a script): hands the socket to azmlinfsrv as fd 3 with
# LISTEN_PID set to the server's pid, and reaps every process the replica leaves behind (a subreaper).
_LAUNCHER_SCRIPT = Path(__file__).with_name("launcher.py")
# How long the launcher may take to kill and reap the replica's leftovers once its server is gone.
_LAUNCHER_EXIT_WAIT_S = 5.0


def server_command(python: Path) -> list[str]:
    """The azmlinfsrv command for ``python``: its console script if next to it, else the module."""
    script = Path(python).parent / "azmlinfsrv"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    _require_server_module(str(python))
    return [str(python), "-m", _SERVER_MODULE]


@functools.lru_cache(maxsize=None)
def _require_server_module(python: str) -> None:
    """Raise unless ``python`` can import the scoring server. Only a success is cached (a failure
    raises), so an interpreter is probed once per daemon, and again after a failed probe."""
    try:
        probe = subprocess.run([python, "-c", f"import importlib.util as u, sys; "
                                f"sys.exit(0 if u.find_spec('{_SERVER_MODULE}') else 1)"],
                               capture_output=True, timeout=_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise ReplicaStartFailed(f"{python} did not answer whether azureml-inference-server-http is "
                                 f"installed within {_PROBE_TIMEOUT_S} s") from exc
    except (subprocess.SubprocessError, OSError) as exc:
        raise RuntimeUnavailable(f"cannot run {python}: {exc}") from exc
    if probe.returncode != 0:
        raise RuntimeUnavailable(f"azureml-inference-server-http is not installed for {python}")


def replica_environ(spec: ReplicaSpec) -> dict[str, str]:
    """A clean copy of our environment, minus control-plane variables, plus the spec's."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(DROPPED_ENV_PREFIXES) and k not in DROPPED_ENV_VARS}
    env.setdefault("PYTHONUNBUFFERED", "1")  # so logs() sees prints as they happen
    env.update(spec.env)
    # "" (not unset) hides every GPU, so a CPU replica never grabs one by accident.
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in spec.gpu_ids)
    if spec.gpu_ids:
        # Host GPU indices are nvidia-smi's (PCI bus order); CUDA's default order is fastest first,
        # which on a mixed host names other devices by the same numbers.
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    # score.py imports azureml.core.model even where the environment has no azureml-core: such
    # replicas get the minimal get_model_path shim, as Azure's images carry azureml-defaults.
    shim_path = pythonpath_for(spec.environment, env.get("PYTHONPATH"))
    if shim_path:
        env["PYTHONPATH"] = shim_path
    return {k: v for k, v in env.items() if not k.startswith(DROPPED_ENV_PREFIXES)}


def _running_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (zombies excluded); [] where /proc is not available."""
    members = []
    for pid in all_pids():
        stat = read_stat(pid)
        if stat is not None and stat.pgid == pgid and stat.running:
            members.append(pid)
    return members


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not); False where /proc cannot tell."""
    stat = read_stat(pid)
    return stat is not None and stat.running


def _gone(pid: int) -> bool:
    return not _running(pid)


def _kill_tree(launcher_pid: int, launcher_gone: Callable[[], bool]) -> None:
    """SIGKILL a replica: every process of its group but the launcher, which then kills and reaps what the
    replica started elsewhere (other sessions included) and exits; the launcher too if it does not."""
    for pid in _running_members(launcher_pid):
        if pid != launcher_pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    deadline = time.monotonic() + _LAUNCHER_EXIT_WAIT_S
    while not launcher_gone() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not launcher_gone():
        try:
            os.killpg(launcher_pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _bind_loopback(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        raise ReplicaStartFailed(f"cannot bind {LOOPBACK}:{port}: {exc}") from exc
    # Bound but not listening: until gunicorn calls listen(), probes get a clean refusal.
    sock.set_inheritable(True)
    return sock


def _bind_unix(path: Path) -> socket.socket:
    """A bound (not listening) unix socket at ``path``, in a folder only we may enter."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        try:
            path.unlink()  # a dead replica's
        except FileNotFoundError:
            pass
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise ReplicaStartFailed(f"cannot bind unix socket {path}: {exc}") from exc
    sock.set_inheritable(True)
    return sock


def _start_pump(log_path: Path, limits: LogLimits) -> tuple[subprocess.Popen, int]:
    """The log pump for ``log_path`` and the write end of its pipe (the caller hands it on, then closes it)."""
    read_end, write_end = os.pipe()
    try:
        pump = subprocess.Popen(
            [sys.executable, "-I", str(_PUMP_SCRIPT), str(log_path), str(limits.max_bytes), str(limits.max_files)],
            stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        os.close(write_end)
        raise ReplicaStartFailed(f"cannot start the log pump for {log_path}: {exc}") from exc
    finally:
        os.close(read_end)
    return pump, write_end


class ProcessRuntime(ReplicaRuntime):
    """Replicas as child processes, each in its own session/process group.

    Environments are virtual environments (or the daemon's own interpreter, when it satisfies
    the spec and ``reuse_host`` is on) built by :class:`~emulator.environments.EnvironmentBuilder`.
    """

    name = "process"

    def __init__(self, env_cache: Path | None = None, reuse_host: bool = True, pid_dir: Path | None = None,
                 log_limits: LogLimits = LogLimits(), python_policy: str = "nearest") -> None:
        from ..environments import EnvironmentBuilder

        self.log_limits = log_limits
        # FAKE_AZURE_PYTHON_POLICY: an environment's Python that no interpreter here has.
        self.python_policy = python_policy
        # Each replica's log pump and cgroup (None: none), by the replica's pid; reaped by stop().
        self._pumps: dict[int, subprocess.Popen] = {}
        self._groups: dict[int, Path | None] = {}
        self._pumps_lock = threading.Lock()
        self._cgroups = ReplicaCgroups.discover()

        self._builder = EnvironmentBuilder(env_cache, reuse_host) if env_cache is not None else None
        # Replicas run in their own sessions and outlive a daemon killed with SIGKILL; the next
        # daemon's sweep() stops what they left.
        self._pids = PidFiles(pid_dir)

    def prepare(self, environment: Mapping[str, Any], log: Callable[[str], None]) -> str:
        from ..environments import resolve_spec

        if self._builder is None:
            raise RuntimeUnavailable("this ProcessRuntime was created without an environment cache")
        spec = resolve_spec(environment or {}, python_policy=self.python_policy)
        return self._builder.prepare(spec, log).python

    def start(self, spec: ReplicaSpec) -> ReplicaHandle:
        python = Path(spec.environment)
        if not python.exists():
            raise RuntimeUnavailable(f"interpreter {python} does not exist")
        command = server_command(python)
        app_root = Path(spec.app_root).absolute()
        socket_path = Path(spec.socket_path).absolute() if spec.socket_path is not None else None
        sock = _bind_unix(socket_path) if socket_path is not None else _bind_loopback(spec.port)
        port = sock.getsockname()[1] if socket_path is None else 0
        fd = sock.fileno()
        # -I: the launcher must not be affected by the replica's PYTHONPATH or cwd. On a unix socket
        # azmlinfsrv's own --port (gunicorn's -b) is moot: gunicorn binds nothing when handed a socket.
        cgroup = self._cgroups.create()
        argv = [str(python), "-I", str(_LAUNCHER_SCRIPT), str(fd), str(cgroup) if cgroup is not None else "-",
                *command, "--entry_script", str(app_root / spec.entry_script),
                *(("--port", str(port)) if socket_path is None else ())]
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            pump, log_pipe = _start_pump(spec.log_path, self.log_limits)
        except ReplicaStartFailed:
            sock.close()
            self._cgroups.remove(cgroup)
            raise
        try:
            proc = subprocess.Popen(
                argv, cwd=app_root, env=replica_environ(spec), stdin=subprocess.DEVNULL,
                stdout=log_pipe, stderr=subprocess.STDOUT, pass_fds=(fd,),
                # Own session: stop() signals the whole group (gunicorn master and workers).
                start_new_session=True)
        except OSError as exc:
            failure: OSError | None = exc
        else:
            failure = None
        finally:
            os.close(log_pipe)  # only the replica writes to the pump: its exit ends the pump
            sock.close()  # the child holds it now; our copy would keep the port alive after it dies
        if failure is not None:
            self._cgroups.remove(cgroup)
            pump.wait()  # no writer is left: it ends at once
            if socket_path is not None:
                socket_path.unlink(missing_ok=True)
            raise ReplicaStartFailed(f"cannot start replica {spec.replica_id}: {failure}") from failure
        with self._pumps_lock:
            self._pumps[proc.pid] = pump
            self._groups[proc.pid] = cgroup
        try:
            self._pids.record(spec.replica_id, proc.pid)
        except OSError as exc:  # untracked, it would outlive a crashed daemon: stop it now
            self._signal_group(proc.pid, signal.SIGKILL)
            self._cgroups.kill(self._groups.pop(proc.pid, None))
            proc.wait()
            self._reap_pump(proc.pid)
            if socket_path is not None:
                socket_path.unlink(missing_ok=True)
            raise ReplicaStartFailed(f"cannot record replica {spec.replica_id}'s process: {exc}") from exc
        return ReplicaHandle(spec=spec, host=LOOPBACK if socket_path is None else "", port=port, pid=proc.pid,
                             native=proc, socket_path=str(socket_path) if socket_path is not None else None)

    def sweep(self, keep_replica_ids: Iterable[str] = ()) -> list[str]:
        """Kill replica process groups a dead daemon left running (not in ``keep_replica_ids``)."""
        swept: list[str] = []
        for replica_id, pid in self._pids.orphans(set(keep_replica_ids)):
            # Only a session leader is one of ours: the replica's whole group goes.
            try:
                leader = os.getpgid(pid) == pid
            except OSError:
                leader = False
            if leader:
                group = self._cgroups.of_process(pid)
                _kill_tree(pid, functools.partial(_gone, pid))
                self._cgroups.kill(group)
                swept.append(replica_id)
        return swept

    def adopt(self, spec: ReplicaSpec) -> ReplicaHandle | None:
        """A killed daemon's replica still running (its pid file's pid and start time match), taken over.

        Its log pump runs on (it ends with the replica's output); only the exit status is lost."""
        process = self._pids.find(spec.replica_id)
        if process is None:
            return None
        try:
            if os.getpgid(process.pid) != process.pid:  # only a session leader is one of ours
                return None
        except OSError:
            return None
        socket_path = str(Path(spec.socket_path).absolute()) if spec.socket_path is not None else None
        with self._pumps_lock:
            self._groups[process.pid] = self._cgroups.of_process(process.pid)
        return ReplicaHandle(spec=spec, host=LOOPBACK if socket_path is None else "",
                             port=spec.port if socket_path is None else 0, pid=process.pid, native=process,
                             socket_path=socket_path)

    def stop(self, handle: ReplicaHandle, timeout: float = 10.0) -> None:
        proc: subprocess.Popen = handle.native
        pgid = proc.pid  # the launcher leads the replica's process group (handle.pid is the same pid)
        if proc.poll() is None:
            self._signal_group(pgid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_tree(pgid, lambda: proc.poll() is not None)
                proc.wait()
        # Sweep stragglers (a worker that outlived its master): while any group member exists
        # the pgid cannot be reused, so this cannot hit an unrelated process. Without one (a second
        # stop of the same handle) the pgid may already name another group: leave it alone.
        if pgid is not None and _running_members(pgid):
            self._signal_group(pgid, signal.SIGKILL)
        if pgid is not None:
            # SIGKILL lands asynchronously; a replica counts as stopped once none of its processes
            # runs, so a restart never meets the old one's GPU memory or files still held.
            deadline = time.monotonic() + _GROUP_EXIT_WAIT_S
            while _running_members(pgid) and time.monotonic() < deadline:
                time.sleep(0.01)
        if handle.pid is not None:
            # Whatever the group kill missed (a child in another session while the launcher was
            # SIGKILLed from outside): the replica's cgroup, where there is one.
            with self._pumps_lock:
                group = self._groups.pop(handle.pid, None)
            self._cgroups.kill(group)
            self._reap_pump(handle.pid)
        if handle.socket_path is not None:
            try:  # gunicorn leaves a socket it was handed in place
                os.unlink(handle.socket_path)
            except FileNotFoundError:
                pass
        self._pids.forget(handle.replica_id)

    def _reap_pump(self, pid: int) -> None:
        """Wait for replica ``pid``'s log pump to write the last output: the log is whole once stop() returns."""
        with self._pumps_lock:
            pump = self._pumps.pop(pid, None)
        if pump is None:
            return
        try:
            pump.wait(timeout=_PUMP_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:  # something outside the group still holds the pipe
            pump.kill()
            pump.wait()

    @staticmethod
    def _signal_group(pgid: int | None, sig: signal.Signals) -> None:
        if pgid is None:
            return
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def is_alive(self, handle: ReplicaHandle) -> bool:
        return handle.native.poll() is None

    def exit_code(self, handle: ReplicaHandle) -> int | None:
        return handle.native.poll()

    # address(), logs() (the log files) and cleanup() (stop: a process leaves nothing else behind)
    # are ReplicaRuntime's.
