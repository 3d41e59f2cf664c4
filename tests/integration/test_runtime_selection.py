"""FAKE_AZURE_RUNTIME=auto: docker when an engine answers, else process, and the note says which and why."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from emulator.runtimes.process import ProcessRuntime
from emulator.runtimes.select import select_runtime
from emulator.settings import DaemonSettings


def _settings(tmp_path: Path, **env: str) -> DaemonSettings:
    return DaemonSettings.from_env({"FAKE_AZURE_HOME": str(tmp_path / "home"),
                                    "FAKE_AZURE_ENV_CACHE": str(tmp_path / "envs"), **env})


def test_auto_without_an_engine_chooses_process_and_says_why(tmp_path: Path) -> None:
    settings = _settings(tmp_path, FAKE_AZURE_RUNTIME="auto", DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    runtime, note = select_runtime(settings)
    assert isinstance(runtime, ProcessRuntime)
    assert note.startswith("FAKE_AZURE_RUNTIME=auto chose the process runtime: ")


@pytest.mark.requires_docker
def test_auto_with_an_engine_chooses_docker_and_says_where(tmp_path: Path) -> None:
    docker_host = os.environ.get("DOCKER_HOST", "")
    runtime, note = select_runtime(_settings(tmp_path, FAKE_AZURE_RUNTIME="auto", DOCKER_HOST=docker_host))
    assert runtime.name == "docker"
    where = docker_host or "the default socket"
    assert note == f"FAKE_AZURE_RUNTIME=auto chose the docker runtime: an engine answers at {where}"


def test_docker_without_an_engine_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    from emulator.runtimes.base import RuntimeUnavailable

    with pytest.raises(RuntimeUnavailable):
        select_runtime(_settings(tmp_path, FAKE_AZURE_RUNTIME="docker", DOCKER_HOST=f"unix://{tmp_path}/none.sock"))


def test_the_python_policy_reaches_the_process_runtimes_environments(tmp_path: Path) -> None:
    from emulator.environments import SpecError

    lines: list[str] = []
    exact, _ = select_runtime(_settings(tmp_path, FAKE_AZURE_RUNTIME="process", FAKE_AZURE_PYTHON_POLICY="exact"))
    with pytest.raises(SpecError, match=r"^python=3\.99: no Python 3\.99 interpreter .*FAKE_AZURE_PYTHON_POLICY=exact"):
        exact.prepare({"python_version": "3.99"}, lines.append)
    # The default (nearest) builds on another Python: what it picks is tested on resolve_spec, cheaply.
    nearest, _ = select_runtime(_settings(tmp_path, FAKE_AZURE_RUNTIME="process"))
    assert nearest.python_policy == "nearest"
