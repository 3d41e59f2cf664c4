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
