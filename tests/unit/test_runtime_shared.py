"""What the process and docker runtimes share (base.py), and their cached engine/interpreter look-ups."""
from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from emulator.runtimes import inventory, process
from emulator.runtimes.base import (
    ReplicaHandle,
    ReplicaRuntime,
    ReplicaSpec,
    ReplicaStartFailed,
    RuntimeUnavailable,
    read_log,
)


def _spec(tmp_path: Path, **overrides: Any) -> ReplicaSpec:
    values: dict[str, Any] = dict(replica_id="r1", service_name="svc", app_root=tmp_path, environment="env",
                                  entry_script="score.py", log_path=tmp_path / "r1.log")
    values.update(overrides)
    return ReplicaSpec(**values)


# --- base.py ---------------------------------------------------------------------------------------------

def test_read_log_whole_tail_and_missing(tmp_path: Path) -> None:
    log = tmp_path / "r.log"
    assert read_log(log) == ""
    log.write_text("one\ntwo\nthree\n")
    assert read_log(log) == "one\ntwo\nthree\n"
    assert read_log(log, 2) == "two\nthree\n"
    assert read_log(log, 0) == ""


class _Minimal(ReplicaRuntime):
    name = "minimal"

    def __init__(self) -> None:
        self.stopped: list[str] = []

    def prepare(self, environment, log):
        return "env"

    def start(self, spec: ReplicaSpec) -> ReplicaHandle:
        return ReplicaHandle(spec=spec, host="127.0.0.1", port=1234)

    def stop(self, handle: ReplicaHandle, timeout: float = 10.0) -> None:
        self.stopped.append(handle.replica_id)

    def is_alive(self, handle: ReplicaHandle) -> bool:
        return False

    def exit_code(self, handle: ReplicaHandle) -> int | None:
        return 0


def test_runtime_defaults(tmp_path: Path) -> None:
    runtime = _Minimal()
    handle = runtime.start(_spec(tmp_path))
    handle.log_path.write_text("a\nb\n")
    assert runtime.address(handle) == ("127.0.0.1", 1234)
    assert runtime.logs(handle, tail_lines=1) == "b\n"
    assert runtime.sweep(keep_replica_ids={"r1"}) == []
    runtime.cleanup(handle)
    assert runtime.stopped == ["r1"]


# --- process.py: the scoring server probe ------------------------------------------------------------------

@pytest.fixture()
def probe_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    process._require_server_module.cache_clear()
    calls: list[Any] = []
    yield calls
    process._require_server_module.cache_clear()


def _fake_run(calls: list[Any], outcome: Any):
    def run(argv, **kwargs):
        calls.append(argv)
        if isinstance(outcome, BaseException):
            raise outcome
        return subprocess.CompletedProcess(argv, outcome)
    return run


def test_server_module_probe_runs_once_per_interpreter(tmp_path: Path, probe_calls: list[Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    python = tmp_path / "python"  # no azmlinfsrv beside it
    monkeypatch.setattr(process.subprocess, "run", _fake_run(probe_calls, 0))
    expected = [str(python), "-m", "azureml_inference_server_http.amlserver"]
    assert process.server_command(python) == expected
    assert process.server_command(python) == expected
    assert len(probe_calls) == 1


def test_server_module_missing_is_not_cached(tmp_path: Path, probe_calls: list[Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process.subprocess, "run", _fake_run(probe_calls, 1))
    for _ in range(2):
        with pytest.raises(RuntimeUnavailable, match="not installed"):
            process.server_command(tmp_path / "python")
    assert len(probe_calls) == 2


@pytest.mark.parametrize("error, expected", [
    (subprocess.TimeoutExpired(["python"], 60), ReplicaStartFailed),
    (subprocess.SubprocessError("broken"), RuntimeUnavailable),
    (PermissionError("denied"), RuntimeUnavailable),
])
def test_server_module_probe_errors_are_runtime_errors(tmp_path: Path, probe_calls: list[Any],
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       error: BaseException, expected: type) -> None:
    monkeypatch.setattr(process.subprocess, "run", _fake_run(probe_calls, error))
    with pytest.raises(expected):
        process.server_command(tmp_path / "python")


# --- docker.py: cached image labels, GPUs asked once, logs() and a dead tunnel ------------------------------

docker_sdk = pytest.importorskip("docker")


class _FakeImages:
    def __init__(self, labels: dict[str, str] | None) -> None:
        self.labels = labels
        self.gets = 0

    def get(self, tag: str) -> Any:
        self.gets += 1
        if self.labels is None:
            raise docker_sdk.errors.ImageNotFound(f"No such image: {tag}")
        return SimpleNamespace(labels=self.labels)


class _FakeClient:
    def __init__(self, labels: dict[str, str] | None = None) -> None:
        self.images = _FakeImages(labels)
        self.infos = 0

    def ping(self) -> bool:
        return True

    def info(self) -> dict[str, Any]:
        self.infos += 1
        return {"Runtimes": {"runc": {}}}


def _docker_runtime(tmp_path: Path, client: _FakeClient, gpu_policy: str = "cpu-fallback") -> Any:
    from emulator.runtimes.docker import DockerRuntime

    return DockerRuntime("inst", "base", tmp_path / "images", client=client, gpu_policy=gpu_policy)


def test_image_shim_label_is_asked_once_per_tag(tmp_path: Path) -> None:
    client = _FakeClient({"fake-azure.shim": "1"})
    runtime = _docker_runtime(tmp_path, client)
    assert runtime._image_has_shim("fake-azure-env:abc") is True
    assert runtime._image_has_shim("fake-azure-env:abc") is True
    assert client.images.gets == 1


def test_missing_image_is_runtime_unavailable(tmp_path: Path) -> None:
    runtime = _docker_runtime(tmp_path, _FakeClient(None))
    with pytest.raises(RuntimeUnavailable, match="prepare the environment first"):
        runtime.start(_spec(tmp_path, environment="fake-azure-env:gone"))


def test_container_environ_uses_the_gpus_given(tmp_path: Path) -> None:
    client = _FakeClient()
    runtime = _docker_runtime(tmp_path, client)
    spec = _spec(tmp_path, gpu_ids=(2, 3))
    assert runtime.container_environ(spec, False, (2, 3))["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert client.infos == 0  # the GPU policy was not applied a second time
    env = runtime.container_environ(spec, False)  # without them: cpu-fallback (no nvidia runtime)
    assert env["CUDA_VISIBLE_DEVICES"] == "" and env["NVIDIA_VISIBLE_DEVICES"] == "void"
    assert runtime.cuda_visible_devices((2, 3)) == ""


class _FakeContainer:
    def __init__(self, status: str, output: bytes | None = None) -> None:
        self.status = status
        self.attrs = {"State": {"ExitCode": 3}}
        self.output = output  # None: the engine does not answer

    def reload(self) -> None:
        pass

    def logs(self, **kwargs: Any) -> bytes:
        import requests.exceptions

        if self.output is None:
            raise requests.exceptions.ConnectionError("engine gone")
        return self.output


def test_logs_are_earlier_attempts_then_the_engines_copy(tmp_path: Path) -> None:
    from emulator.runtimes.docker import _Container

    runtime = _docker_runtime(tmp_path, _FakeClient())
    spec = _spec(tmp_path)
    spec.log_path.write_text("attempt 1\nfollowed, partly\n")
    # The ssh tunnel died: the replica is not alive, yet its container runs and its logs are there.
    state = _Container(_FakeContainer("running", b"init\nrun\n"), tunnel=SimpleNamespace(alive=lambda: False),
                       log_start=len("attempt 1\n"))
    handle = ReplicaHandle(spec=spec, host="127.0.0.1", port=1, native=state)
    assert runtime.is_alive(handle) is False
    assert runtime.logs(handle) == "attempt 1\ninit\nrun\n"
    assert runtime.logs(handle, tail_lines=2) == "init\nrun\n"
    assert runtime.logs(handle, tail_lines=0) == ""


def test_logs_fall_back_to_the_file_when_the_engine_is_mute(tmp_path: Path) -> None:
    from emulator.runtimes.docker import _Container

    runtime = _docker_runtime(tmp_path, _FakeClient())
    spec = _spec(tmp_path)
    spec.log_path.write_text("attempt 1\nfollowed\n")
    state = _Container(_FakeContainer("running", None), log_start=len("attempt 1\n"))
    handle = ReplicaHandle(spec=spec, host="127.0.0.1", port=1, native=state)
    assert runtime.logs(handle) == "attempt 1\nfollowed\n"


def test_earlier_attempts_are_found_after_the_follower_rotated_and_settled_under_the_cap(tmp_path: Path) -> None:
    from emulator.runtimes.docker import _Container
    from emulator.runtimes.logrotate import LogLimits, RotatingLog, log_files

    limits = LogLimits(max_bytes=30, max_files=3)
    runtime = _docker_runtime(tmp_path, _FakeClient())
    runtime.log_limits = limits
    spec = _spec(tmp_path)
    spec.log_path.write_text("attempt 1\n")
    output = b"".join(b"out %02d\n" % i for i in range(7))  # 49 bytes: the follower rotates once
    state = _Container(_FakeContainer("running", output), log_start=len("attempt 1\n"),
                       writer=RotatingLog(spec.log_path, limits))
    state.writer.write(output)
    assert state.writer.rotations >= 1
    handle = ReplicaHandle(spec=spec, host="127.0.0.1", port=1, native=state)
    assert runtime.logs(handle) == "attempt 1\n" + output.decode()
    assert runtime.logs(handle, tail_lines=1) == "out 06\n"
    runtime._settle_log(state, spec.log_path)  # what stop() leaves: the same text, capped on disk
    assert all(f.stat().st_size <= 30 for f in log_files(spec.log_path))
    assert read_log(spec.log_path) == "attempt 1\n" + output.decode()


# --- inventory.py -------------------------------------------------------------------------------------------

def _venv(cache: Path, digest: str, complete: bool = True) -> Path:
    folder = cache / digest
    (folder / "bin").mkdir(parents=True)
    (folder / "lib" / "python3.11").mkdir(parents=True)
    (folder / "bin" / "python").write_bytes(b"x" * 2_000_000)
    if complete:
        (folder / ".complete").write_text(f"{digest}\n")
    (cache / f"{digest}.log").write_text("built\n")
    return folder


class _FakeDockerRuntime:
    def __init__(self) -> None:
        self.kept: list[str] | None = None

    def prune_images(self, keep: Any = ()) -> list[str]:
        self.kept = list(keep)
        return ["fake-azure-env:old"]


def test_inventory_lists_and_prunes_built_venvs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator.runtimes import select

    cache = tmp_path / "envs"
    used = _venv(cache, "aaaa")
    _venv(cache, "bbbb")
    _venv(cache, "cccc", complete=False)  # an interrupted build: not listed, not pruned
    settings = SimpleNamespace(env_cache=cache)

    def no_docker(settings: Any) -> Any:
        raise RuntimeUnavailable("no engine")

    monkeypatch.setattr(select, "docker_runtime", no_docker)
    listed = inventory.list_environments(settings)  # type: ignore[arg-type]  # only env_cache is read
    assert [e["digest"] for e in listed] == ["aaaa", "bbbb"]
    assert listed[0] == {"kind": "venv", "digest": "aaaa", "reference": str(used / "bin" / "python"),
                         "python": "3.11", "size_mb": 2.0, "path": str(used)}
    references = [str(used / "bin" / "python"), "fake-azure-env:dddd"]
    assert inventory.is_in_use(listed[0], references) and not inventory.is_in_use(listed[1], references)

    fake = _FakeDockerRuntime()
    monkeypatch.setattr(select, "docker_runtime", lambda settings: fake)
    removed = inventory.prune(settings, references)  # type: ignore[arg-type]  # only env_cache is read
    assert removed == ["venv bbbb", "image fake-azure-env:old"]
    assert used.is_dir() and (cache / "aaaa.log").exists()
    assert not (cache / "bbbb").exists() and not (cache / "bbbb.log").exists()
    assert (cache / "cccc").is_dir()
    # The images in use (by tag) and the in-use venv's environment are kept.
    assert fake.kept is not None and {"fake-azure-env:dddd", "aaaa"} <= set(fake.kept)


def test_docker_environments_resolve_python_against_the_base_image(tmp_path: Path) -> None:
    from emulator.environments import SpecError

    runtime = _docker_runtime(tmp_path, _FakeClient())
    runtime.images._base_python = "3.11"  # what the base image's python3 answered
    built: list[Any] = []
    runtime.images.prepare = lambda spec, log: built.append(spec) or "fake-azure-env:x"
    # azureml-core's default Environment asks for 3.8: the base image's 3.11 runs it, with a warning.
    assert runtime.prepare({"python_version": "3.8.13", "conda": ["numpy=1.26"]}, lambda line: None)
    (spec,) = built
    assert spec.python == "3.11" and spec.binary_only == ("numpy",)
    (warning,) = spec.warnings
    assert warning.startswith("python=3.8.13: no Python 3.8 interpreter in the base image 'base' "
                              "(FAKE_AZURE_BASE_IMAGE), which has Python 3.11; using Python 3.11 instead")
    runtime.python_policy = "exact"
    with pytest.raises(SpecError) as info:
        runtime.prepare({"python_version": "3.8.13"}, lambda line: None)
    assert "FAKE_AZURE_PYTHON_POLICY=exact" in str(info.value) and "(the base image's)" in str(info.value)


def test_docker_image_builds_install_conda_entries_from_wheels_only(tmp_path: Path) -> None:
    from emulator.environments import resolve_spec
    from emulator.runtimes.images import ImageBuilder

    spec = resolve_spec({"python_version": "3.11", "conda": ["numpy=1.19.5"], "pip": ["pyjokes"]}, "3.11",
                        python_available=lambda version: True)
    dockerfile = ImageBuilder(_FakeClient(), "base", tmp_path).dockerfile(spec, "online", False)
    (run,) = [line for line in dockerfile.splitlines() if line.startswith("RUN ")]
    assert "pip install --no-cache-dir '--only-binary' 'numpy' " in run and "'pyjokes'" in run
