"""Shared fixtures: the fake-azure pytest plugin's session daemon, a fresh workspace per test.

The daemon (one per session, per xdist worker, in a temporary FAKE_AZURE_HOME) and the
requires_docker / requires_gpu markers come from the plugin (fake_azure/pytest_plugin.py, registered
through the pytest11 entry point); these fixtures are the suite's older names on top of it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from emulator.settings import DaemonSettings


@pytest.fixture(scope="session")
def emulator_home(azureml_emulator) -> Path:
    return azureml_emulator.home


@pytest.fixture
def settings(emulator_home: Path) -> DaemonSettings:
    """The settings the session's daemon runs with."""
    return DaemonSettings.from_env()


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


@pytest.fixture(autouse=True)
def unsticky_deployment_header() -> Iterator[None]:
    """azure-ai-ml's invoke writes deployment_name into a class-level header dict, so every later invoke in the
    process names that deployment too (a client bug Azure users meet as well): each test starts without it.
    Nothing is imported for tests that never loaded the client."""
    yield
    endpoint = sys.modules.get("azure.ai.ml.constants._endpoint")
    if endpoint is not None:
        endpoint.EndpointInvokeFields.DEFAULT_HEADER.pop(endpoint.EndpointInvokeFields.MODEL_DEPLOYMENT, None)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment for subprocesses whose local cloud lives in this test's own FAKE_AZURE_HOME (stopped
    afterwards): nothing of the session's daemon or of its activation (which set ARM_CLOUD_METADATA_URL,
    AZUREML_CURRENT_CLOUD, IDENTITY_*) leaks in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FAKE_AZURE_", "ARM_CLOUD", "IDENTITY_", "AZUREML_CURRENT_CLOUD"))}
    env.update(FAKE_AZURE_HOME=str(tmp_path / "home"), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    try:
        yield env
    finally:
        subprocess.run([sys.executable, "-m", "emulator", "down"], env=env, capture_output=True, timeout=120)
