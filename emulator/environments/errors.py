"""Errors of environment resolution and building.

``EnvironmentBuildError`` is an :class:`~emulator.errors.EmulatorError` (code ``UserError``) so a
deployment that fails on its environment can report the message as Azure reports a failed image build.
"""
from __future__ import annotations

from pathlib import Path

from emulator.errors import EmulatorError


class EnvironmentBuildError(EmulatorError):
    """Root of every environment failure."""

    code = "UserError"
    status_code = 400


class SpecError(EnvironmentBuildError):
    """The environment definition cannot be resolved offline (unknown Python, unavailable package)."""


class BuildFailed(EnvironmentBuildError):
    """``pip install`` failed; ``summary`` holds pip's essential error lines, ``log_path`` the full log."""

    def __init__(self, summary: str, log_path: Path) -> None:
        self.summary = summary
        self.log_path = Path(log_path)
        super().__init__(f"Environment build failed:\n{summary}\nFull build log: {self.log_path}")
