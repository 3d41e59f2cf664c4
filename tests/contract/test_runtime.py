"""Contract tests every ``ReplicaRuntime`` must pass, running real ``azmlinfsrv`` replicas.

Parametrised over runtimes: add a docker runtime to ``RUNTIMES`` and it gets the same checks.
"""
from __future__ import annotations

import contextlib
import ctypes.util
import http.client
import json
import os
import shutil
import socket
import stat
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests
import ssh_engine
from polling import poll

from emulator.runtimes import ProcessRuntime, ReplicaHandle, ReplicaRuntime, ReplicaSpec
from emulator.runtimes.logrotate import LogLimits, log_files
from scoring import sdk_shim
from scoring.address import connect
from scoring.layout import ModelFiles, lay_out
from scoring.probe import ProbeResult, wait_ready

_SESSION_RESOURCES = contextlib.ExitStack()  # closed by _shared_runtimes at the end of the session


def _docker_runtime(docker_env: dict[str, str] | None = None) -> ReplicaRuntime:
    """A DockerRuntime on DOCKER_HOST, from FAKE_AZURE_BASE_IMAGE (default: the local base image)."""
    from emulator.runtimes.docker import DockerRuntime

    base = os.environ.get("FAKE_AZURE_BASE_IMAGE") or "fake-azure-base:bookworm"
    cache = Path(tempfile.gettempdir()) / "fake-azure-contract-images"
    return DockerRuntime(f"contract-{uuid.uuid4().hex[:10]}", base, cache, docker_env=docker_env)


def _docker_over_ssh_runtime() -> ReplicaRuntime:
    """The same engine reached as a remote one: DOCKER_HOST=ssh://..., replicas through ssh tunnels."""
    reason = ssh_engine.ssh_unavailable_reason()
    if reason is not None:
        if os.environ.get("FAKE_AZURE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"FAKE_AZURE_REQUIRE_DOCKER=1 but the docker-over-ssh runtime {reason}", pytrace=False)
        pytest.skip(f"docker over ssh: {reason}")
    folder = Path(tempfile.mkdtemp(prefix="fa-ssh-engine-"))
    _SESSION_RESOURCES.callback(shutil.rmtree, folder, ignore_errors=True)
    url = _SESSION_RESOURCES.enter_context(ssh_engine.ssh_docker_host(folder))
    runtime = _docker_runtime({"DOCKER_HOST": url})
    _SESSION_RESOURCES.callback(runtime.client.close)
    return runtime


RUNTIMES: dict[str, Callable[[], ReplicaRuntime]] = {
    "process": ProcessRuntime, "docker": _docker_runtime, "docker-over-ssh": _docker_over_ssh_runtime}
RUNTIME_MARKS = {"docker": [pytest.mark.requires_docker], "docker-over-ssh": [pytest.mark.requires_docker]}
# Runtimes built once per session (an engine connection and a prepared image): all but process.
_SHARED = {"docker", "docker-over-ssh"}
READY_TIMEOUT_S = 120.0
RUN_FAILED = "An unexpected error occurred in scoring script. Check the logs for more info."

requires_gpu = pytest.mark.skipif(shutil.which("nvidia-smi") is None, reason="nvidia-smi not found: no NVIDIA GPU")


@pytest.fixture(scope="session")
def _shared_runtimes() -> Iterator[dict[str, ReplicaRuntime]]:
    shared: dict[str, ReplicaRuntime] = {}
    with _SESSION_RESOURCES:
        yield shared
        for rt in shared.values():
            sweep = getattr(rt, "sweep", None)
            if sweep is not None:
                sweep()  # no container of this session may outlive it


@pytest.fixture(params=[pytest.param(name, marks=RUNTIME_MARKS.get(name, ())) for name in sorted(RUNTIMES)])
def runtime(request: pytest.FixtureRequest, _shared_runtimes: dict[str, ReplicaRuntime]) -> ReplicaRuntime:
    if request.param not in _SHARED:
        return RUNTIMES[request.param]()
    if request.param not in _shared_runtimes:
        _shared_runtimes[request.param] = RUNTIMES[request.param]()
    return _shared_runtimes[request.param]


_ENVIRONMENTS: dict[int, str] = {}


def environment_for(runtime: ReplicaRuntime) -> str:
    """The process runtime runs the test interpreter; others prepare the scoring server's environment once."""
    if isinstance(runtime, ProcessRuntime):
        return sys.executable
    if id(runtime) not in _ENVIRONMENTS:
        _ENVIRONMENTS[id(runtime)] = runtime.prepare({}, lambda line: None)
    return _ENVIRONMENTS[id(runtime)]


@contextlib.contextmanager
def replica(runtime: ReplicaRuntime, tmp_path: Path, score: str, gpu_ids: tuple[int, ...] = (),
            extra_env: dict[str, str] | None = None, wait: bool = True,
            socket_path: Path | None = None) -> Iterator[ReplicaHandle]:
    """Lay out ``score`` with a model ``m`` (version 1 and 2), start it, and always stop it."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "score.py").write_text(textwrap.dedent(score))
    v1 = tmp_path / "v1.txt"
    v1.write_text("old weights")
    v2 = tmp_path / "v2.txt"
    v2.write_text("new weights")
    app = lay_out(tmp_path / "app", [ModelFiles("m", 1, {"weights.txt": v1}), ModelFiles("m", 2, {"weights.txt": v2})],
                  "score.py", source_directory=src)
    env = app.env("svc", "ws")
    env["AZUREML_MODEL_DIR"] = "azureml-models/m/2"  # as for a deployment of m:2
    pythonpath = sdk_shim.pythonpath_for(sys.executable)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env.update(extra_env or {})
    spec = ReplicaSpec(replica_id="r1", service_name="svc", app_root=app.path, environment=environment_for(runtime),
                       entry_script=app.entry_script, log_path=tmp_path / "replica.log", env=env, gpu_ids=gpu_ids,
                       socket_path=socket_path)
    handle = runtime.start(spec)
    try:
        if wait:
            result = wait_ready(runtime.address(handle), time.monotonic() + READY_TIMEOUT_S,
                                lambda: runtime.is_alive(handle))
            assert result is ProbeResult.READY, runtime.logs(handle)
        yield handle
    finally:
        runtime.stop(handle, timeout=10)
        runtime.cleanup(handle)


def score_url(runtime: ReplicaRuntime, handle: ReplicaHandle) -> str:
    host, port = runtime.address(handle)
    return f"http://{host}:{port}/score"


ENV_ECHO = """
    import json, os
    def init():
        pass
    def run(raw_data):
        return {"cvd": os.environ.get("CUDA_VISIBLE_DEVICES"),
                "fake": sorted(k for k in os.environ if k.startswith("FAKE_AZURE_")),
                "listen": sorted(k for k in os.environ if k.startswith("LISTEN_"))}
"""


def test_healthy_replica_loads_model_and_scores(runtime: ReplicaRuntime, tmp_path: Path) -> None:
    score = """
        import json, os
        from azureml.core.model import Model
        def init():
            global by_sdk, by_env
            by_sdk = open(Model.get_model_path('m')).read()
            by_env = open(os.path.join(os.environ['AZUREML_MODEL_DIR'], 'weights.txt')).read()
        def run(raw_data):
            data = json.loads(raw_data)['data']
            return {"sum": sum(data), "by_sdk": by_sdk, "by_env": by_env}
    """
    with replica(runtime, tmp_path, score) as handle:
        resp = requests.post(score_url(runtime, handle), json={"data": [1, 2, 3]}, timeout=30)
        assert resp.status_code == 200, runtime.logs(handle)
        assert resp.json() == {"sum": 6, "by_sdk": "new weights", "by_env": "new weights"}
        assert runtime.is_alive(handle) and runtime.exit_code(handle) is None
        assert "Users's init has completed successfully" in runtime.logs(handle)


def test_run_raising_gives_500(runtime: ReplicaRuntime, tmp_path: Path) -> None:
    score = """
        def init():
            pass
        def run(raw_data):
            raise ValueError("bad input shape")
    """
    with replica(runtime, tmp_path, score) as handle:
        resp = requests.post(score_url(runtime, handle), data="{}", timeout=30)
        assert resp.status_code == 500
        assert resp.json() == {"message": RUN_FAILED}
        assert resp.headers.get("x-ms-run-function-failed") == "True"
        assert "bad input shape" in runtime.logs(handle)
        assert runtime.is_alive(handle)


def test_container_logs_are_the_engines_not_the_followed_copy(runtime: ReplicaRuntime, tmp_path: Path) -> None:
    """The followed file lags the engine and can lose lines; logs() and the file left by stop() may not."""
    if isinstance(runtime, ProcessRuntime):
        pytest.skip("the process runtime writes its output straight to the log file")
    score = """
        def init():
            print("init-marker", flush=True)
        def run(raw_data):
            print("run-marker", flush=True)
            return "ok"
    """
    log = tmp_path / "replica.log"
    earlier = "earlier attempt's line\n"
    log.write_text(earlier)
    with replica(runtime, tmp_path, score) as handle:
        with open(log, "r+") as followed:
            followed.truncate(len(earlier))  # the follower's copy loses what it had of this container
        assert requests.post(score_url(runtime, handle), data="x", timeout=30).status_code == 200
        # Tail first: the server may still log the request (access log) after answering it, and a
        # later whole read then holds those two lines, perhaps followed by newer ones.
        last_two = runtime.logs(handle, tail_lines=2)
        logs = runtime.logs(handle)
        assert logs.startswith(earlier)
        assert logs.count("init-marker") == 1 and logs.count("run-marker") == 1
        assert last_two.count("\n") == 2 and last_two in logs and earlier not in last_two
    kept = log.read_text()
    assert kept.startswith(earlier)
    assert kept.count("init-marker") == 1 and kept.count("run-marker") == 1


def test_a_loud_replica_keeps_only_the_capped_log(runtime: ReplicaRuntime, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """2 MB of output with a 2 x 100 kB cap: the newest lines stay, on disk and (containers) in the engine."""
    monkeypatch.setattr(runtime, "log_limits", LogLimits(max_bytes=100_000, max_files=2))
    score = """
        import sys
        def init():
            sys.stdout.write(("y" * 99 + "\\n") * 20_000)
            print("loud-end", flush=True)
        def run(raw_data):
            return "ok"
    """
    with replica(runtime, tmp_path, score) as handle:
        # A container's output reaches the engine's log a little later.
        assert poll(lambda: "loud-end" in runtime.logs(handle, tail_lines=20), timeout=30, interval=0.1)
        if not isinstance(runtime, ProcessRuntime):
            config = handle.native.container.attrs["HostConfig"]["LogConfig"]
            assert config == {"Type": "json-file", "Config": {"max-size": "100000", "max-file": "2"}}
    files = log_files(tmp_path / "replica.log")
    assert sum(f.stat().st_size for f in files) <= 200_000, [(f.name, f.stat().st_size) for f in files]
    assert "loud-end" in runtime.logs(handle, tail_lines=20)


def test_init_raising_exits_with_code_3(runtime: ReplicaRuntime, tmp_path: Path) -> None:
    score = """
        def init():
            raise RuntimeError("cannot load the model")
        def run(raw_data):
            return raw_data
    """
    with replica(runtime, tmp_path, score, wait=False) as handle:
        result = wait_ready(runtime.address(handle), time.monotonic() + READY_TIMEOUT_S,
                            lambda: runtime.is_alive(handle))
        assert result is ProbeResult.DIED
        assert runtime.exit_code(handle) == 3
        logs = runtime.logs(handle)
        assert "Traceback (most recent call last)" in logs
        assert "RuntimeError: cannot load the model" in logs
        assert runtime.logs(handle, tail_lines=1).count("\n") <= 1


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid:
                    members.append(int(entry.name))
    return members


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie no longer runs; it only waits to be reaped by its (new) parent.
    with contextlib.suppress(OSError):
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    return True


def test_stop_kills_the_whole_process_group(runtime: ReplicaRuntime, tmp_path: Path) -> None:
    if not isinstance(runtime, ProcessRuntime):
        pytest.skip("process groups are specific to the process runtime")
    score = """
        import os, subprocess, sys
        def init():
            # A grandchild that ignores the graceful shutdown: only a group kill removes it.
            global child
            child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                                      "signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.pause()"])
        def run(raw_data):
            return {"child": child.pid, "worker": os.getpid()}
    """
    with replica(runtime, tmp_path, score) as handle:
        pids = requests.post(score_url(runtime, handle), data="x", timeout=30).json()
        members = _group_members(handle.pid)
        assert {handle.pid, pids["worker"], pids["child"]} <= set(members)
        runtime.stop(handle, timeout=10)
        assert not runtime.is_alive(handle)
        assert [pid for pid in members if not _gone(pid)] == []
        with pytest.raises(OSError), socket.create_connection(runtime.address(handle), timeout=5):
            pass


ESCAPING_SCORE = """
    import os, signal, subprocess, sys
    PIDS = {pids!r}
    def init():
        # One child in a session of its own, and one daemon by double fork + setsid: neither is in the
        # replica's process group, so a group kill alone leaves both running.
        # Each escapee writes its pid to the file, then a byte to the pipe: init() blocks on the pipe
        # until both are written, so the test reads both pids as soon as the replica is ready.
        ready_r, ready_w = os.pipe()
        subprocess.Popen([sys.executable, "-c", "import os, signal, sys; open(sys.argv[1], 'a').write(str(os.getpid()) "
                          "+ ' '); os.write(int(sys.argv[2]), b'.'); signal.pause()", PIDS, str(ready_w)],
                         start_new_session=True, stdout=subprocess.DEVNULL, pass_fds=(ready_w,))
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                with open(PIDS, "a") as out:
                    out.write(str(os.getpid()) + " ")
                os.write(ready_w, b".")
                signal.pause()  # lives until something kills it
            os._exit(0)
        os.close(ready_w)
        seen = b""
        while len(seen) < 2:
            chunk = os.read(ready_r, 2)
            if not chunk:
                break
            seen += chunk
        os.close(ready_r)
    def run(raw_data):
        return "ok"
"""


def _escaped(pid_file: Path) -> list[int]:
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert len(pids) == 2 and all(not _gone(pid) for pid in pids)
    return pids


@pytest.mark.parametrize("how", ["stop", "stop at once (SIGKILL)", "the server dies"])
def test_processes_a_replica_started_in_other_sessions_go_with_it(runtime: ReplicaRuntime, tmp_path: Path,
                                                                  how: str) -> None:
    if not isinstance(runtime, ProcessRuntime):
        pytest.skip("a container's processes all go with the container")
    pid_file = tmp_path / "escaped.pids"
    with replica(runtime, tmp_path, ESCAPING_SCORE.format(pids=str(pid_file))) as handle:
        escaped = _escaped(pid_file)
        if how == "the server dies":  # a crash, not a stop: the replica's first process notices
            for pid in _group_members(handle.pid):
                if pid != handle.pid:
                    os.kill(pid, 9)
            assert poll(lambda: not runtime.is_alive(handle), 10)
        else:
            runtime.stop(handle, timeout=10 if how == "stop" else 0)
        # SIGKILL lands asynchronously
        assert poll(lambda: all(_gone(pid) for pid in escaped), 5), [pid for pid in escaped if not _gone(pid)]


def test_a_launcher_killed_from_outside_leaks_nothing_where_replicas_get_a_cgroup(runtime: ReplicaRuntime,
                                                                                  tmp_path: Path) -> None:
    """SIGKILL of the launcher (the subreaper) from outside: its server group is stopped by stop(), and
    the replica's cgroup takes the processes it started in other sessions with it."""
    if not isinstance(runtime, ProcessRuntime):
        pytest.skip("a container's processes all go with the container")
    from emulator.runtimes.cgroups import ReplicaCgroups

    cgroups = ReplicaCgroups.discover()
    if cgroups.root is None:
        pytest.skip(f"replicas get no cgroup here ({cgroups.unavailable}): the subreaper alone reaps them")
    pid_file = tmp_path / "escaped.pids"
    with replica(runtime, tmp_path, ESCAPING_SCORE.format(pids=str(pid_file))) as handle:
        escaped = _escaped(pid_file)
        joined = [line for line in runtime.logs(handle).splitlines() if "replica processes in cgroup" in line]
        assert joined, runtime.logs(handle)
        group = Path(joined[0].split("cgroup ", 1)[1].split(" (", 1)[0])
        assert group.parent == cgroups.root and str(handle.pid) in (group / "cgroup.procs").read_text().split()
        os.kill(handle.pid, 9)  # the launcher: nothing is left to reap the escaped processes
        assert poll(lambda: not runtime.is_alive(handle), 10)
        runtime.stop(handle, timeout=10)
        assert poll(lambda: all(_gone(pid) for pid in escaped), 5), [pid for pid in escaped if not _gone(pid)]
    assert not group.exists()  # removed with the replica


def test_the_replica_log_says_how_its_processes_are_reaped(runtime: ReplicaRuntime, tmp_path: Path) -> None:
    if not isinstance(runtime, ProcessRuntime):
        pytest.skip("a container's processes all go with the container")
    with replica(runtime, tmp_path, "def init(): pass\ndef run(d): return d\n") as handle:
        first = runtime.logs(handle).splitlines()[0]
    assert first.startswith(("fake-azure: replica processes in cgroup ", "fake-azure: no cgroup for this replica",
                             "fake-azure: could not join cgroup")), first


def _post_unix(path: str, body: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("localhost", timeout=30)
    conn.sock = connect(path, 30)
    try:
        conn.request("POST", "/score", body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_a_replica_given_a_socket_path_listens_there_and_on_no_tcp_port(runtime: ReplicaRuntime,
                                                                      tmp_path: Path) -> None:
    if not isinstance(runtime, ProcessRuntime):
        pytest.skip("a container's port is published by its engine (docs/parity.md)")
    score = """
        import json
        def init():
            print("unix-init-marker", flush=True)
        def run(raw_data):
            return {"got": raw_data}
    """
    path = tmp_path / "private" / "r1.sock"
    with replica(runtime, tmp_path, score, socket_path=path) as handle:
        assert runtime.address(handle) == str(path) and handle.port == 0
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        status, body = _post_unix(str(path), "hello")
        assert status == 200 and json.loads(body) == {"got": "hello"}
        listening = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                listening |= {row.split()[9] for row in list(f)[1:] if row.split()[3] == "0A"}
        held = set()
        for pid in _group_members(handle.pid):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    held.add(os.readlink(fd).removeprefix("socket:[").rstrip("]"))
        assert not held & listening
        runtime.stop(handle, timeout=10)
        assert not path.exists()
        assert "unix-init-marker" in runtime.logs(handle)
        with pytest.raises(ConnectionRefusedError):
            connect(str(path), 5)


def test_a_container_publishes_only_its_scoring_port_on_the_engines_loopback(runtime: ReplicaRuntime,
                                                                            tmp_path: Path) -> None:
    """A regression guard: the gateway needs the scoring port alone, and only from this machine."""
    if isinstance(runtime, ProcessRuntime):
        pytest.skip("process replicas publish nothing (a unix socket, or a LocalWebservice's own port)")
    with replica(runtime, tmp_path, ENV_ECHO) as handle:
        config = handle.native.container.attrs["HostConfig"]
        assert not config.get("PublishAllPorts")
        assert list(config["PortBindings"]) == ["5001/tcp"]
        assert [b["HostIp"] for b in config["PortBindings"]["5001/tcp"]] == [runtime.engine.publish_address]


def test_replica_never_sees_control_plane_variables(runtime: ReplicaRuntime, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_AZURE_TOKEN", "secret")
    monkeypatch.setenv("FAKE_AZURE_HOME", str(tmp_path / "home"))
    with replica(runtime, tmp_path, ENV_ECHO, extra_env={"FAKE_AZURE_SNEAKY": "1"}) as handle:
        body = requests.post(score_url(runtime, handle), data="x", timeout=30).json()
        assert body["fake"] == []
        assert body["listen"] == []  # socket-activation variables are consumed by gunicorn


@pytest.mark.parametrize("gpu_ids, expected", [((), ""), ((1,), "1"), ((0, 2), "0,2")])
def test_cuda_visible_devices(runtime: ReplicaRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              gpu_ids: tuple[int, ...], expected: str) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")  # the daemon's own view must not leak
    if hasattr(runtime, "cuda_visible_devices"):
        # A container sees only its GPUs, numbered from 0 (none at all without an nvidia runtime).
        expected = runtime.cuda_visible_devices(gpu_ids)
    with replica(runtime, tmp_path, ENV_ECHO, gpu_ids=gpu_ids) as handle:
        body = requests.post(score_url(runtime, handle), data="x", timeout=30).json()
        assert body["cvd"] == expected


def _listening_addresses(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in list(f)[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, hexport = local.split(":")
                if state == "0A" and int(hexport, 16) == port:
                    found.add(addr)
    return found


def test_server_listens_on_loopback_only(runtime: ReplicaRuntime, tmp_path: Path) -> None:
    with replica(runtime, tmp_path, ENV_ECHO) as handle:
        host, port = runtime.address(handle)
        assert host == "127.0.0.1"
        if isinstance(runtime, ProcessRuntime):
            # 0100007F is 127.0.0.1 in /proc/net/tcp's little-endian hex; no 0.0.0.0 or :: listener.
            assert _listening_addresses(port) == {"0100007F"}
        if runtime.name == "docker":
            bindings = handle.native.container.attrs["NetworkSettings"]["Ports"]["5001/tcp"]
            assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}
        assert requests.get(f"http://{host}:{port}/", timeout=30).text == "Healthy"


def test_rawhttp_run_receives_raw_bytes(runtime: ReplicaRuntime, tmp_path: Path) -> None:
    score = """
        from azureml.contrib.services.aml_request import rawhttp
        from azureml.contrib.services.aml_response import AMLResponse
        def init():
            pass
        @rawhttp
        def run(request):
            if request.method != "POST":
                return AMLResponse("POST only", 405)
            body = request.get_data()
            return AMLResponse(body[::-1], 200, {"x-length": str(len(body))})
    """
    payload = bytes([0, 255, 254, 1]) + b"not utf-8 \xc3\x28"
    with replica(runtime, tmp_path, score) as handle:
        resp = requests.post(score_url(runtime, handle), data=payload,
                             headers={"Content-Type": "application/octet-stream"}, timeout=30)
        assert resp.status_code == 200, runtime.logs(handle)
        assert resp.content == payload[::-1]
        assert resp.headers["x-length"] == str(len(payload))
        assert requests.get(score_url(runtime, handle), timeout=30).status_code == 405


CUDA_COUNT = """
    import ctypes
    def init():
        pass
    def run(raw_data):
        cuda = ctypes.CDLL("libcuda.so.1")
        if cuda.cuInit(0) != 0:
            return {"count": 0}
        count = ctypes.c_int()
        assert cuda.cuDeviceGetCount(ctypes.byref(count)) == 0
        return {"count": count.value}
"""


@pytest.mark.requires_gpu
@requires_gpu
def test_cpu_replica_sees_no_gpu_and_gpu_replica_sees_its_gpu(runtime: ReplicaRuntime, tmp_path: Path) -> None:
    if ctypes.util.find_library("cuda") is None:
        pytest.skip("libcuda not found")
    if getattr(runtime, "has_nvidia_runtime", lambda: True)() is False:
        pytest.skip("the Docker engine has no nvidia runtime: GPU replicas fall back to CPU")
    (tmp_path / "cpu").mkdir()
    (tmp_path / "gpu").mkdir()
    with replica(runtime, tmp_path / "cpu", CUDA_COUNT) as handle:
        assert requests.post(score_url(runtime, handle), data="x", timeout=60).json() == {"count": 0}
    with replica(runtime, tmp_path / "gpu", CUDA_COUNT, gpu_ids=(0,)) as handle:
        assert requests.post(score_url(runtime, handle), data="x", timeout=60).json() == {"count": 1}


@pytest.mark.requires_docker
def test_docker_replicas_are_published_and_reached_on_the_publish_address(tmp_path: Path) -> None:
    """FAKE_AZURE_DOCKER_PUBLISH_ADDRESS (for a remote tcp engine): bound there, reached there."""
    from emulator.runtimes.engine_host import EngineHost

    runtime = _docker_runtime()
    runtime.engine = EngineHost.from_docker_host(os.environ.get("DOCKER_HOST"), "127.0.0.2")
    try:
        with replica(runtime, tmp_path, ENV_ECHO) as handle:
            assert runtime.address(handle) == ("127.0.0.2", handle.port)
            bindings = handle.native.container.attrs["NetworkSettings"]["Ports"]["5001/tcp"]
            assert {b["HostIp"] for b in bindings} == {"127.0.0.2"}
            assert requests.post(score_url(runtime, handle), data="x", timeout=30).json()["cvd"] == ""
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", handle.port), timeout=2):
                pytest.fail("the replica answers on 127.0.0.1 too")
    finally:
        runtime.sweep()


def test_a_replica_whose_pid_cannot_be_recorded_fails_to_start_and_leaves_nothing(tmp_path: Path) -> None:
    from emulator.runtimes.base import ReplicaStartFailed

    blocker = tmp_path / "replica-pids"
    blocker.write_text("a file where the pid folder should be")
    runtime = ProcessRuntime(pid_dir=blocker)
    (tmp_path / "r").mkdir()
    with pytest.raises(ReplicaStartFailed, match="cannot record replica r1's process"):
        with replica(runtime, tmp_path / "r", ENV_ECHO):
            pass
    app_root = str(tmp_path / "r").encode()
    running = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if app_root in cmdline.read_bytes():
                running.append(cmdline.parent.name)
    assert running == []


def test_a_process_replica_a_killed_daemon_left_running_is_taken_over(tmp_path: Path) -> None:
    """The next daemon's runtime adopts the very process its pid file names (pid and start time), and
    then observes and stops it as if it had started it; anything else is not adopted."""
    import dataclasses

    from emulator.runtimes.pidfiles import process_start_time

    pid_dir = tmp_path / "replica-pids"
    first = ProcessRuntime(pid_dir=pid_dir)
    (tmp_path / "r").mkdir()
    with replica(first, tmp_path / "r", ENV_ECHO) as handle:
        second = ProcessRuntime(pid_dir=pid_dir)  # the next daemon's: it did not start the replica
        # What the service record keeps of the replica: its id, log and where it listens.
        recorded = ReplicaSpec(replica_id="r1", service_name="svc", app_root=handle.spec.app_root, environment="",
                               entry_script="", log_path=handle.log_path, port=handle.port)
        adopted = second.adopt(recorded)
        assert adopted is not None and adopted.pid == handle.pid
        assert second.address(adopted) == first.address(handle) and second.is_alive(adopted)
        assert second.exit_code(adopted) is None
        assert requests.post(score_url(second, adopted), data="x", timeout=30).status_code == 200
        assert second.adopt(dataclasses.replace(recorded, replica_id="r2")) is None  # no pid file

        second.stop(adopted, timeout=10)
        assert not second.is_alive(adopted) and second.exit_code(adopted) is not None
        assert first.exit_code(handle) is not None  # the process group is gone
        assert not (pid_dir / "r1.pid").exists()

    # A pid file whose process is another one now (a reused pid: same pid, another start time) is no replica.
    (pid_dir / "r3.pid").write_text(f"{os.getpid()} {int(process_start_time(os.getpid())) + 1}\n")
    assert ProcessRuntime(pid_dir=pid_dir).adopt(dataclasses.replace(recorded, replica_id="r3")) is None


def test_a_replica_s_gunicorn_opens_no_control_socket_in_the_user_s_home(runtime: ReplicaRuntime,
                                                                        tmp_path: Path) -> None:
    """gunicorn >= 25.1 binds $XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl by default: one path
    every replica of every home would share (and unlink from each other), outside the home."""
    if not isinstance(runtime, ProcessRuntime):
        pytest.skip("a container has its own home")
    home = tmp_path / "user-home"
    home.mkdir()
    score = """
        def init():
            pass
        def run(raw_data):
            return "ok"
    """
    with replica(runtime, tmp_path, score, extra_env={"HOME": str(home), "XDG_RUNTIME_DIR": ""}) as handle:
        assert requests.post(score_url(runtime, handle), data="x", timeout=30).status_code == 200
        assert not (home / ".gunicorn").exists(), list((home / ".gunicorn").iterdir())
