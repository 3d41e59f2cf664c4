"""Find a Python interpreter of a given major.minor version on this machine.

Candidates, in order: the daemon's own interpreter, ``python{X.Y}`` on ``PATH``, pyenv's
``~/.pyenv/versions/X.Y.*`` (newest patch first) and uv-managed interpreters (what ``uv python find``
answers where ``uv`` is on PATH, and ``~/.local/share/uv/python/cpython-X.Y.*``). Each candidate is
run once to confirm its version (pyenv shims exist on PATH for versions that are not selected and
then fail). Nothing is downloaded: ``uv python install`` fetches its interpreters from outside the
package index, which this machine's pip configuration may not reach.
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


# uv's default folder for the interpreters it manages (UV_PYTHON_INSTALL_DIR moves it; `uv python
# find` knows where).
_UV_PYTHON_DIR = Path.home() / ".local" / "share" / "uv" / "python"
# Interpreters this search looks at, by minor version: 3.6 ... 3.19.
_MINORS = range(6, 20)


def _installed(folder: Path, pattern: str, version: str) -> list[str]:
    """``bin/python{version}`` of the entries of ``folder`` named by ``pattern`` (group 1: the patch
    number), newest patch first."""
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(pattern, entry.name)
        exe = entry / "bin" / f"python{version}"
        if match and exe.exists():
            found.append((int(match.group(1)), str(exe)))
    return [exe for _, exe in sorted(found, reverse=True)]


def _uv_find(version: str) -> list[str]:
    uv = shutil.which("uv")
    if not uv:
        return []
    try:  # `uv python find` only looks; it never downloads
        out = subprocess.run([uv, "python", "find", version], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return []
    path = out.stdout.strip()
    return [path] if out.returncode == 0 and path else []


def _candidates(version: str, host_python: str) -> list[str]:
    candidates = [host_python]
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    escaped = re.escape(version)
    candidates.extend(_installed(_pyenv_root() / "versions", escaped + r"\.(\d+)", version))
    candidates.extend(_installed(_UV_PYTHON_DIR, r"cpython-" + escaped + r"\.(\d+)-.*", version))
    candidates.extend(_uv_find(version))
    return candidates


def find_interpreter(version: str, host_python: str = sys.executable) -> str | None:
    """Path of an interpreter whose major.minor is ``version``'s, or None."""
    wanted = major_minor(version)
    for candidate in _candidates(wanted, host_python):
        if interpreter_version(candidate) == wanted:
            return candidate
    return None


def available_versions(host_python: str = sys.executable) -> list[str]:
    """Every major.minor (3.6 ... 3.19) an interpreter of which :func:`find_interpreter` finds, oldest first."""
    return [f"3.{minor}" for minor in _MINORS if find_interpreter(f"3.{minor}", host_python) is not None]
