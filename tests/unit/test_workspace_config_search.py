"""The pytest plugin finds the same config.json as Workspace.from_config(): .azureml/ all the way up first."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fake_azure._pytest_support import find_workspace_config


def _config(path: Path, name: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"subscription_id": "s", "resource_group": "rg", "workspace_name": name}))
    return path


def test_an_azureml_folder_above_wins_over_a_bare_config_here(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAKE_AZURE_WORKSPACE_CONFIG", raising=False)
    here = tmp_path / "project" / "tests"
    _config(here / "config.json", "bare-here")
    above = _config(tmp_path / "project" / ".azureml" / "config.json", "azureml-above")
    assert find_workspace_config(here) == above


def test_nothing_found_is_none_and_the_setting_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAKE_AZURE_WORKSPACE_CONFIG", raising=False)
    (tmp_path / "empty").mkdir()
    assert find_workspace_config(tmp_path / "empty") is None
    chosen = _config(tmp_path / "elsewhere" / "ws.json", "chosen")
    monkeypatch.setenv("FAKE_AZURE_WORKSPACE_CONFIG", str(chosen))
    assert find_workspace_config(tmp_path / "empty") == chosen
