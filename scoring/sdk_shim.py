"""Decide whether a replica gets the minimal ``azureml.core`` shim on its PYTHONPATH.

The shim (``scoring/shim``) makes ``from azureml.core.model import Model`` work in a replica whose
environment has no azureml-core; when the real SDK is installed it must win, so the shim is added
only after asking that interpreter.
"""
from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

SHIM_DIR = Path(__file__).resolve().parent / "shim"

_PROBE = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('azureml.core') else 1)"


@functools.lru_cache(maxsize=64)
def _has_azureml_core(python: str) -> bool:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([python, "-c", _PROBE], env=env, capture_output=True, timeout=60)
    return result.returncode == 0


def has_azureml_core(python: str | os.PathLike[str]) -> bool:
    """Whether ``python`` can import the real azureml-core (asked in a subprocess of it)."""
    # PYTHONPATH is dropped so an inherited shim cannot answer for the real SDK; the answer is cached
    # per interpreter (one probe per environment, not per replica).
    return _has_azureml_core(os.fspath(python))


def pythonpath_for(python: str | os.PathLike[str], existing: str | None = None) -> str | None:
    """The PYTHONPATH a replica of ``python`` should get: ``existing`` plus the shim when needed."""
    if has_azureml_core(python):
        return existing
    return os.pathsep.join(p for p in (str(SHIM_DIR), existing) if p)
