"""Shared fixtures: the fake-azure pytest plugin's session daemon, a fresh workspace per test.

The daemon (one per session, per xdist worker, in a temporary FAKE_AZURE_HOME) and the
requires_docker / requires_gpu markers come from the plugin (fake_azure/pytest_plugin.py, registered
through the pytest11 entry point); these fixtures are the suite's older names on top of it.
"""
from __future__ import annotations

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
