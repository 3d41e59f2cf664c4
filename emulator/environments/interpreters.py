"""Find a Python interpreter of a given major.minor version on this machine.

Candidates, in order: the daemon's own interpreter, ``python{X.Y}`` on ``PATH`` and pyenv's
``~/.pyenv/versions/X.Y.*`` (newest patch first). Each candidate is run once to confirm its version
(pyenv shims exist on PATH for versions that are not selected and then fail).
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


def major_minor(version: str) -> str:
    """``"3.11.7"`` -> ``"3.11"``; raises ValueError for anything that is not a version."""
    match = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.[0-9A-Za-z.*+-]*)?\s*", str(version))
    if not match:
        raise ValueError(f"not a Python version: {version!r}")
    return f"{int(match.group(1))}.{int(match.group(2))}"


@functools.lru_cache(maxsize=None)
def interpreter_version(python_exe: str) -> str | None:
    """The major.minor of ``python_exe``, or None when it does not run."""
    try:
        out = subprocess.run([python_exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _candidates(version: str, host_python: str) -> list[str]:
    candidates = [host_python]
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    versions_dir = _pyenv_root() / "versions"
    if versions_dir.is_dir():
        found = []
        for entry in versions_dir.iterdir():
            match = re.fullmatch(re.escape(version) + r"\.(\d+)", entry.name)
            exe = entry / "bin" / f"python{version}"
            if match and exe.exists():
                found.append((int(match.group(1)), str(exe)))
        candidates.extend(exe for _, exe in sorted(found, reverse=True))
    return candidates


def find_interpreter(version: str, host_python: str = sys.executable) -> str | None:
    """Path of an interpreter whose major.minor is ``version``'s, or None."""
    wanted = major_minor(version)
    for candidate in _candidates(wanted, host_python):
        if interpreter_version(candidate) == wanted:
            return candidate
    return None
