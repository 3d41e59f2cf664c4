"""Errors of environment resolution and building.

Internal: the deploy engine reports one as the operation error ``EnvironmentBuildFailed``
(emulator/error_catalog.py), as Azure reports a failed image build; none is an HTTP error.
"""
from __future__ import annotations

from pathlib import Path


class EnvironmentBuildError(Exception):
    """Root of every environment failure; ``message`` is what the deployment's error shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SpecError(EnvironmentBuildError):
    """The environment definition cannot be resolved offline (unknown Python, unavailable package)."""


class BuildFailed(EnvironmentBuildError):
    """``pip install`` failed; ``summary`` holds pip's essential error lines, ``log_path`` the full log."""

    def __init__(self, summary: str, log_path: Path) -> None:
        self.summary = summary
        self.log_path = Path(log_path)
        super().__init__(f"Environment build failed:\n{summary}\nFull build log: {self.log_path}")
