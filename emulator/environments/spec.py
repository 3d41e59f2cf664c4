"""Resolve an environment definition to a :class:`BuildSpec`: a Python version and pip requirements.

Input is ``Environment._to_build_spec()`` (``python_version``, ``pip``, ``conda``, ``channels``,
``base_image``, ``gpu``, ``environment_variables``) or ``Environment._serialize_to_dict()`` (the
SDK's camelCase definition, read by :mod:`~emulator.environments.definition`). Conda packages become pip requirements:
most conda names are pip names; a few are renamed (``pytorch`` -> ``torch``), conda-only
infrastructure (``pip``, ``setuptools``, CUDA libraries) is dropped, and conda's ``=1.2`` (a version
prefix) becomes pip's ``==1.2.*``. ``azureml-defaults`` is replaced by the scoring server
``azureml-inference-server-http``, which is always added: it is what replicas run.

The Python version is the requested one when an interpreter of it is found here (see
:mod:`~emulator.environments.interpreters`) and it can run the scoring server. Otherwise the
``python_policy`` decides: ``nearest`` (the default) uses the nearest available version with a
warning, ``exact`` fails.

Conda installs only built packages, so conda entries are installed binary-only (``binary_only``:
pip's ``--only-binary``): a conda pin with no wheel for the Python fails at once, naming the entry,
instead of compiling from source. ``tensorflow-gpu==X`` becomes ``tensorflow==X`` with a warning.

Errors are checked in a fixed order (the Python version first, then packages in file order) and
raised as :class:`SpecError` naming the offending entry.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
from typing import Any, Callable, Iterable, Mapping

from emulator.environments import definition
from emulator.environments.errors import SpecError
from emulator.environments.interpreters import available_versions, find_interpreter, major_minor
from emulator.settings import PYTHON_POLICIES

try:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pragma: no cover - pip always vendors packaging
    # [assignment]: pip's vendored copy has the same API under other classes.
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement  # type: ignore[assignment]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[assignment]

SCORING_SERVER = "azureml-inference-server-http"
# The oldest Python replicas are known to serve on: pip picks azureml-inference-server-http 0.8.4.2 on
# 3.7 and 1.3.4 on 3.8 (1.4 and later need 3.9), and both serve score.py through the replica
# launcher. On 3.6 the venv's own pip (18.x) cannot resolve the server's dependencies.
MIN_PYTHON = (3, 7)
# Bump to invalidate every cached environment when what a digest means changes.
_DIGEST_FORMAT = 1

# conda name -> pip name, where they differ.
CONDA_TO_PIP = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "matplotlib-base": "matplotlib",
    "opencv": "opencv-python",
    "py-opencv": "opencv-python",
    "pytables": "tables",
    "pyyaml": "pyyaml",
}
# conda packages with no pip meaning in a venv: the interpreter, packaging tools, native libraries.
CONDA_ONLY = frozenset({
    "python", "pip", "setuptools", "wheel",
    "cudatoolkit", "cuda-toolkit", "cuda-version", "cudnn", "nccl", "cuda-nvcc", "cuda-runtime",
    "mkl", "mkl-service", "intel-openmp", "blas", "libblas", "libcblas", "liblapack", "openblas",
    "libgcc-ng", "libstdcxx-ng", "_libgcc_mutex", "_openmp_mutex", "openssl", "ca-certificates",
    "nomkl", "conda", "anaconda",
})
# pip packages replaced by the scoring server (azureml-defaults pulls all of azureml-core).
REPLACED_BY_SCORING_SERVER = frozenset({"azureml-defaults"})


@dataclasses.dataclass(frozen=True)
class BuildSpec:
    """What a replica's interpreter must provide.

    ``digest`` identifies the venv's contents (Python major.minor and requirements); ``gpu`` and
    ``environment_variables`` travel with the spec for the runtime but do not change the venv.
    """

    python: str
    requirements: tuple[str, ...]
    gpu: bool = False
    environment_variables: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = dataclasses.field(default=(), compare=False)
    # What the build log must show as a warning (a substituted Python or package).
    warnings: tuple[str, ...] = dataclasses.field(default=(), compare=False)
    # Packages pip may install only from wheels (``--only-binary``): those the conda file names.
    binary_only: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        canonical = json.dumps({"format": _DIGEST_FORMAT, "python": self.python,
                                "requirements": list(self.requirements)},
                               sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    @property
    def env(self) -> dict[str, str]:
        return dict(self.environment_variables)

    @property
    def pip_options(self) -> tuple[str, ...]:
        """Options for ``pip install`` before the requirements (``--only-binary`` for conda entries)."""
        return ("--only-binary", ",".join(self.binary_only)) if self.binary_only else ()


_ON_THIS_MACHINE = ("on this machine (looked for python{version} on PATH, in ~/.pyenv/versions and among "
                    "uv-managed interpreters)")


def _python_ok(version: str) -> bool:
    return find_interpreter(version) is not None


def resolve_spec(build_spec: Mapping[str, Any], host_python_version: str | None = None, *,
                 python_available: Callable[[str], bool] | None = None, python_policy: str = "nearest",
                 python_versions: Callable[[], Iterable[str]] | None = None,
                 interpreters_where: str = _ON_THIS_MACHINE, host_label: str = "the daemon's") -> BuildSpec:
    """Resolve ``Environment._to_build_spec()`` (or ``_serialize_to_dict()``) to a BuildSpec.

    ``host_python_version`` (default: the running interpreter's) is used when the definition names no
    Python and in messages. ``python_available(major_minor)`` says whether an interpreter exists
    (default: :func:`~emulator.environments.interpreters.find_interpreter`). When the requested Python
    cannot be used, ``python_policy`` ``nearest`` picks the nearest of ``python_versions()`` (default:
    every version found here, or only the host's when ``python_available`` is given) and the host's,
    with a warning; ``exact`` raises :class:`SpecError`. ``interpreters_where`` and ``host_label`` word
    those messages (where interpreters were looked for, whose the host version is).
    """
    if python_policy not in PYTHON_POLICIES:
        raise ValueError(f"python_policy {python_policy!r}: expected one of {', '.join(PYTHON_POLICIES)}")
    if host_python_version is None:
        host_python_version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    host = major_minor(host_python_version)
    available = python_available or _python_ok
    if python_versions is None:
        if python_available is None:
            python_versions = available_versions
        else:
            def python_versions() -> Iterable[str]:
                return ()
    data = _as_build_spec_dict(build_spec)
    notes: list[str] = []
    warnings: list[str] = []

    python = _resolve_python(data.get("python_version"), host, available, python_policy, python_versions, warnings,
                             interpreters_where, host_label)

    requirements: list[str] = []
    binary_only: set[str] = set()
    for entry in data.get("conda") or []:
        requirement = _conda_to_pip(str(entry), notes, warnings)
        if requirement is not None:
            requirements.append(requirement)
            binary_only.add(_name_of(requirement))
    for entry in data.get("pip") or []:
        requirement = _pip_requirement(str(entry), notes, warnings)
        if requirement is not None:
            requirements.append(requirement)
    names = {_name_of(r) for r in requirements}
    if SCORING_SERVER not in names:
        requirements.append(SCORING_SERVER)

    env = data.get("environment_variables") or {}
    return BuildSpec(
        python=python,
        requirements=tuple(sorted(set(requirements))),
        gpu=bool(data.get("gpu")),
        environment_variables=tuple(sorted((str(k), str(v)) for k, v in dict(env).items())),
        notes=tuple(notes),
        warnings=tuple(warnings),
        binary_only=tuple(sorted(binary_only)),
    )


def _as_build_spec_dict(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return definition.build_spec(data) if definition.is_definition(data) else data


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _resolve_python(requested: Any, host: str, available: Callable[[str], bool], policy: str,
                    versions: Callable[[], Iterable[str]], warnings: list[str], where: str, host_label: str) -> str:
    if requested is None or str(requested).strip() == "":
        return host
    text = str(requested).strip()
    try:
        version = major_minor(text.lstrip("=<>~! "))
    except ValueError:
        raise SpecError(f"python={text}: not a Python version fake-azure understands; "
                        f"use a plain version such as python={host}") from None
    label = f"python={text}"
    minimum = ".".join(map(str, MIN_PYTHON))
    if _version_key(version) < MIN_PYTHON:
        why = (f"Python {version} cannot run the scoring server replicas run ({SCORING_SERVER} on Python "
               f">= {minimum})")
    elif not available(version):
        why = f"no Python {version} interpreter {where.format(version=version)}"
    else:
        return version
    usable = {v for v in (*versions(), host) if _version_key(v) >= MIN_PYTHON and available(v)}
    if policy == "exact" or not usable:
        fix = (f"change the conda file to python={host}, install Python {version}, or set "
               f"FAKE_AZURE_PYTHON_POLICY=nearest to use the nearest available Python"
               if policy == "exact" else f"change the conda file to python={host}")
        raise SpecError(f"{label}: {why} (FAKE_AZURE_PYTHON_POLICY={policy}). fake-azure can use {host} "
                        f"({host_label}); {fix}.")
    # Nearest minor version; between two as near, the older: pins written for an old Python more
    # often have wheels for the one before it than for the one after.
    chosen = min(usable, key=lambda v: (abs(_version_key(v)[1] - _version_key(version)[1]), _version_key(v)))
    warnings.append(f"{label}: {why}; using Python {chosen} instead, the nearest available "
                    f"(FAKE_AZURE_PYTHON_POLICY=nearest). Packages pinned for Python {version} may not install "
                    f"or behave the same on {chosen}; set FAKE_AZURE_PYTHON_POLICY=exact to fail instead.")
    return chosen


_CONDA_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)(?P<extras>\[[^\]]*\])?\s*(?P<rest>.*)$")


def _conda_to_pip(entry: str, notes: list[str], warnings: list[str]) -> str | None:
    text = entry.strip()
    if not text or text.startswith("#"):
        return None
    if "::" in text:  # channel::package
        text = text.split("::", 1)[1]
    match = _CONDA_RE.match(text)
    if not match:
        raise SpecError(f"{entry}: not a conda package specification fake-azure can translate to pip")
    conda_name = canonicalize_name(match.group("name"))
    rest = match.group("rest").strip()
    if conda_name in CONDA_ONLY:
        if conda_name not in ("python", "pip"):
            notes.append(f"conda package {entry!r} dropped: conda-only, not installed with pip")
        return None
    pip_name = CONDA_TO_PIP.get(conda_name, conda_name)
    if pip_name in REPLACED_BY_SCORING_SERVER:
        notes.append(f"{entry!r} replaced by {SCORING_SERVER}")
        return None
    specifier = _conda_version_to_pip(rest, entry)
    if conda_name == "tensorflow-gpu":
        pip_name = "tensorflow"
        warnings.append(_tensorflow_gpu_warning(entry, specifier))
    elif pip_name != conda_name:
        notes.append(f"conda package {entry!r} installed as pip package {pip_name!r}")
    return _normalise(f"{pip_name}{match.group('extras') or ''}{specifier}", entry)


def _conda_version_to_pip(rest: str, entry: str) -> str:
    if not rest:
        return ""
    if "|" in rest:
        raise SpecError(f"{entry}: conda 'or' version constraints ('|') cannot be translated to pip")
    if rest.startswith("==") or rest[0] in "<>!~":
        return _drop_build(rest)
    if rest.startswith("="):  # conda's single '=': a version prefix, optionally '=build'
        version = rest[1:].split("=", 1)[0].strip()
    else:  # "numpy 1.2 py36_0": version then build string
        version = rest.split()[0]
        if version[0] in "<>!~=":
            return version
    version = version.rstrip("*").rstrip(".")
    if not version:
        return ""
    return f"=={version}.*"


def _drop_build(rest: str) -> str:
    # "==1.2=py36_0" -> "==1.2"; "numpy >=1.2 py36" -> ">=1.2"
    rest = rest.split()[0]
    if rest.startswith("=="):
        return "==" + rest[2:].split("=", 1)[0]
    return rest


def _pip_requirement(entry: str, notes: list[str], warnings: list[str]) -> str | None:
    text = entry.strip()
    if not text or text.startswith("#"):
        return None
    if re.search(r"[\x00-\x1f\x7f]", text):  # a newline would start a new instruction in a Dockerfile
        raise SpecError(f"{entry!r}: a pip requirement cannot contain control characters (newline, NUL, ...)")
    if text.startswith("-"):
        notes.append(f"pip option {text!r} ignored: the host's pip configuration is used")
        return None
    name = _name_of(text)
    if name == "tensorflow-gpu":
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            raise SpecError(f"{entry}: not a pip requirement fake-azure can read") from None
        requirement.name = "tensorflow"
        warnings.append(_tensorflow_gpu_warning(entry, str(requirement.specifier)))
        return _normalise(str(requirement), entry)
    if name in REPLACED_BY_SCORING_SERVER:
        notes.append(f"pip package {text!r} replaced by {SCORING_SERVER}: azureml-defaults pulls all of "
                     f"azureml-core, replicas need only the scoring server")
        return None
    return _normalise(text, entry)


def _normalise(text: str, entry: str) -> str:
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return text  # a URL or path: pip decides, and its error is summarised
    requirement.name = canonicalize_name(requirement.name)
    return str(requirement)


def _name_of(text: str) -> str:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return canonicalize_name(re.split(r"[\[=<>~!;@ ]", text.strip(), maxsplit=1)[0])


def _tensorflow_gpu_warning(entry: str, specifier: str) -> str:
    # tensorflow-gpu has wheels up to 2.11 for Python <= 3.10 only (2.12 is a stub that refuses to
    # install); since 2.1 it holds the same code as tensorflow, which includes GPU support.
    major = (re.findall(r"\d+", specifier) or [None])[0]
    caveat = (" TensorFlow 1.x's tensorflow package is CPU-only and has wheels for Python <= 3.7 only: "
              "port the model to TensorFlow 2 (tf.compat.v1) if it does not install."
              if major == "1" else "")
    return (f"{entry.strip()!r} installed as 'tensorflow{specifier}': tensorflow-gpu is retired (no wheels "
            f"after 2.11, none for Python >= 3.11) and tensorflow 2.x includes its GPU support.{caveat}")
