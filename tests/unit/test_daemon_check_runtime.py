"""daemon.check_runtime refuses FAKE_AZURE_RUNTIME=docker with a DaemonError naming the reason: an
unreadable control-plane token file met while probing Docker is reported as such, never as a NameError
(the handler's exception class was once not imported: the except clause itself raised)."""
from __future__ import annotations

from pathlib import Path

import pytest

from emulator import daemon
from emulator.auth import TokenFileError
from emulator.runtimes import select
from emulator.settings import DaemonSettings


def _docker_settings(tmp_path: Path) -> DaemonSettings:
    return DaemonSettings.from_env({"FAKE_AZURE_HOME": str(tmp_path / "home"), "FAKE_AZURE_RUNTIME": "docker",
                                    "FAKE_AZURE_ENV_CACHE": str(tmp_path / "envs")})


def test_a_token_file_error_while_probing_docker_is_a_daemon_error(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    message = f"cannot read the control-plane token file {tmp_path}/token: Is a directory."

    def unreadable_token(settings: DaemonSettings) -> None:
        raise TokenFileError(message)

    monkeypatch.setattr(select, "docker_runtime", unreadable_token)
    with pytest.raises(daemon.DaemonError) as info:
        daemon.check_runtime(_docker_settings(tmp_path))
    assert str(info.value) == message


def test_another_error_while_probing_docker_propagates_as_itself(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(settings: DaemonSettings) -> None:
        raise PermissionError("instance-id: permission denied")

    monkeypatch.setattr(select, "docker_runtime", broken)
    with pytest.raises(PermissionError):  # not a NameError from the except clauses
        daemon.check_runtime(_docker_settings(tmp_path))
