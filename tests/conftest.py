"""Shared fixtures: one daemon per test session in a temporary FAKE_AZURE_HOME, a fresh workspace per test."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest

from emulator import daemon
from fake_azure.settings import Settings


@pytest.fixture(scope="session")
def emulator_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("fake-azure-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("FAKE_AZURE_HOME", str(home))
    patch.delenv("FAKE_AZURE_TARGET", raising=False)
    patch.delenv("FAKE_AZURE_PROGRESS", raising=False)
    settings = Settings.from_env()
    daemon.ensure_running(settings)
    yield home
    daemon.stop(settings)
    patch.undo()


@pytest.fixture
def settings(emulator_home: Path) -> Settings:
    return Settings.from_env()


@pytest.fixture
def activated(emulator_home: Path) -> Iterator[None]:
    """``azureml.core`` resolves to the facade for the duration of the test."""
    import fake_azure

    fake_azure.activate()
    yield
    fake_azure.deactivate()


@pytest.fixture
def ws(emulator_home: Path):
    """A fresh facade workspace with a unique name."""
    from fake_azure.core import Workspace

    return Workspace("00000000-0000-0000-0000-000000000001", "rg-tests", f"ws-{uuid.uuid4().hex[:10]}")


# --- requires_docker / requires_gpu markers ---------------------------------------------------
# requires_docker: skipped (visibly, with the reason) when no Docker engine answers at DOCKER_HOST;
# FAILED instead when FAKE_AZURE_REQUIRE_DOCKER=1 (CI sets it after scripts/docker-engine.sh start).
# requires_gpu: skipped when `nvidia-smi -L` lists no GPU.
# Probes run at most once per process (per xdist worker).

_probe_cache: dict = {}


def _docker_unavailable_reason() -> "str | None":
    """None when a Docker engine answers a ping, else why not."""
    if "docker" not in _probe_cache:
        import os

        where = os.environ.get("DOCKER_HOST") or "the default socket (DOCKER_HOST unset)"
        try:
            import docker  # lazily: the docker SDK is not a hard test dependency
        except ImportError:
            reason = "the docker Python SDK is not installed (pip install docker)"
        else:
            try:
                client = docker.from_env(timeout=10)
                try:
                    client.ping()
                finally:
                    client.close()
                reason = None
            except Exception as exc:  # noqa: BLE001 - any failure means "no engine"
                reason = f"no Docker engine answers at {where}: {type(exc).__name__}: {exc}"
        _probe_cache["docker"] = reason
    return _probe_cache["docker"]


def _docker_required() -> bool:
    import os

    return os.environ.get("FAKE_AZURE_REQUIRE_DOCKER", "") == "1"


def _gpu_unavailable_reason() -> "str | None":
    if "gpu" not in _probe_cache:
        import shutil
        import subprocess

        reason = None
        if shutil.which("nvidia-smi") is None:
            reason = "no NVIDIA GPU: nvidia-smi not found"
        else:
            try:
                out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
                if out.returncode != 0 or "GPU" not in out.stdout:
                    reason = f"no NVIDIA GPU: `nvidia-smi -L` lists none (rc={out.returncode})"
            except (OSError, subprocess.SubprocessError) as exc:
                reason = f"no NVIDIA GPU: `nvidia-smi -L` failed: {exc}"
        _probe_cache["gpu"] = reason
    return _probe_cache["gpu"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("requires_docker") is not None:
        reason = _docker_unavailable_reason()
        if reason is not None:
            if _docker_required():
                pytest.fail(
                    f"FAKE_AZURE_REQUIRE_DOCKER=1 but {reason}. Start one with "
                    "`scripts/docker-engine.sh start` and export the DOCKER_HOST it prints "
                    "(see docs/docker.md).",
                    pytrace=False,
                )
            pytest.skip(f"requires_docker: {reason}")
    if item.get_closest_marker("requires_gpu") is not None:
        reason = _gpu_unavailable_reason()
        if reason is not None:
            pytest.skip(f"requires_gpu: {reason}")
