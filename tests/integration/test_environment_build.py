"""Building environments for real: venvs from the host's pip configuration (offline local index).

The build test installs azureml-inference-server-http and pyjokes into a fresh venv (about 20-30 s).
"""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from emulator.environments import BuildFailed, EnvironmentBuilder, interpreter_satisfies, resolve_spec

HOST = f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_reuse_host_fast_path_returns_the_daemon_interpreter(tmp_path):
    spec = resolve_spec({"python_version": HOST}, HOST)
    lines: list[str] = []
    prepared = EnvironmentBuilder(tmp_path / "envs", reuse_host=True).prepare(spec, lines.append)
    assert prepared.python == sys.executable
    assert prepared.reused and prepared.venv is None and prepared.digest == spec.digest
    assert any("daemon's interpreter" in line for line in lines)
    assert not (tmp_path / "envs").exists()  # nothing built, nothing cached


def _pip_config(python: str) -> list[str]:
    out = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True)
    return sorted(out.stdout.splitlines())


def test_build_once_then_reuse_the_cache(tmp_path):
    cache = tmp_path / "envs"
    spec = resolve_spec({"python_version": HOST, "pip": ["pyjokes"]}, HOST)
    # reuse_host=True too: the daemon's venv has no pyjokes, so the fast path must not be taken.
    assert not interpreter_satisfies(sys.executable, spec)
    builder = EnvironmentBuilder(cache, reuse_host=True)
    results = []
    logs: list[list[str]] = [[], []]

    def prepare(i: int) -> None:
        results.append(builder.prepare(spec, logs[i].append))

    threads = [threading.Thread(target=prepare, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert sorted(r.reused for r in results) == [False, True]  # built once, under the lock
    built = next(r for r in results if not r.reused)
    venv = cache / spec.digest
    assert built.venv == venv and built.python == str(venv / "bin" / "python")
    assert (venv / "bin" / "azmlinfsrv").exists()
    marker = venv / ".complete"
    mtime = marker.stat().st_mtime_ns
    log_text = built.log_path.read_text()
    assert "Successfully installed" in log_text and "pyjokes" in log_text
    assert any("Successfully installed" in line for line in logs[0] + logs[1])

    again = EnvironmentBuilder(cache, reuse_host=False).prepare(spec)
    assert again.reused and again.python == built.python
    assert marker.stat().st_mtime_ns == mtime

    # The venv's pip sees the host's pip configuration (local index, find-links, constraints).
    assert _pip_config(built.python) == _pip_config(sys.executable)
    check = subprocess.run([built.python, "-c", "import pyjokes, azureml_inference_server_http"], capture_output=True)
    assert check.returncode == 0, check.stderr


def test_pip_failure_is_summarised_with_the_full_log(tmp_path):
    cache = tmp_path / "envs"
    spec = resolve_spec({"python_version": HOST, "pip": ["nosuchpkg-fake-azure==9.9"]}, HOST)
    with pytest.raises(BuildFailed) as info:
        EnvironmentBuilder(cache, reuse_host=True).prepare(spec)
    failure = info.value
    assert "nosuchpkg-fake-azure==9.9" in failure.summary
    assert all(line.startswith("ERROR:") for line in failure.summary.splitlines()), failure.summary
    assert failure.log_path == cache / f"{spec.digest}.log" and failure.log_path.exists()
    assert "No matching distribution found for nosuchpkg-fake-azure==9.9" in Path(failure.log_path).read_text()
    assert str(failure.log_path) in str(failure)
    assert not (cache / spec.digest).exists()  # no half-built venv left behind


def test_a_conda_pin_without_a_wheel_fails_in_seconds_naming_the_entry(tmp_path):
    # numpy 1.19.5 has wheels up to Python 3.9 only: pip would compile it for ten minutes and fail.
    # Conda installs built packages only; so does the build, for conda entries.
    cache = tmp_path / "envs"
    spec = resolve_spec({"python_version": HOST, "conda": ["numpy=1.19.5"], "pip": ["pyjokes"]}, HOST)
    builder = EnvironmentBuilder(cache, reuse_host=False, timeout_s=240)  # a generous bound, never reached
    with pytest.raises(BuildFailed) as info:
        builder.prepare(spec)
    summary = info.value.summary
    assert "No matching distribution found for numpy==1.19.5" in summary, summary
    assert "installed from wheels only" in summary
    log = info.value.log_path.read_text()
    assert "--only-binary numpy " in log and "pyjokes" in log
    assert "Building wheel" not in log and "took longer than" not in log
