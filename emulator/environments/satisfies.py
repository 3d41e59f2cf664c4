"""Does an existing interpreter already satisfy a :class:`BuildSpec`?

The check runs inside that interpreter (its own ``importlib.metadata`` and ``packaging``, falling
back to pip's vendored copy), so it sees exactly what a replica started with it would import.
"""
from __future__ import annotations

import json
import subprocess

from emulator.environments.spec import BuildSpec

_CHECK = r"""
import json, sys
import importlib.metadata as md
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
spec = json.loads(sys.argv[1])
missing = []
if "%d.%d" % sys.version_info[:2] != spec["python"]:
    missing.append("python==" + spec["python"])
for text in spec["requirements"]:
    try:
        req = Requirement(text)
    except Exception:
        missing.append(text)
        continue
    if req.marker is not None and not req.marker.evaluate():
        continue
    if req.url:
        missing.append(text)
        continue
    try:
        version = md.version(req.name)
    except md.PackageNotFoundError:
        missing.append(text)
        continue
    if req.specifier and not req.specifier.contains(version, prereleases=True):
        missing.append(text + " (installed: " + version + ")")
print(json.dumps(missing))
"""


def unsatisfied_requirements(python_exe: str, spec: BuildSpec) -> list[str] | None:
    """Requirements of ``spec`` that ``python_exe`` lacks ([] when satisfied); None if the check failed."""
    payload = json.dumps({"python": spec.python, "requirements": list(spec.requirements)})
    try:
        out = subprocess.run([python_exe, "-I", "-c", _CHECK, payload],
                             capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    try:
        return list(json.loads(out.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        return None


def interpreter_satisfies(python_exe: str, spec: BuildSpec) -> bool:
    """True when ``python_exe`` has ``spec``'s major.minor and every requirement at a matching version."""
    return unsatisfied_requirements(python_exe, spec) == []
