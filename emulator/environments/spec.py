"""Resolve an environment definition to a :class:`BuildSpec`: a Python version and pip requirements.

Input is ``Environment._to_build_spec()`` (``python_version``, ``pip``, ``conda``, ``channels``,
``base_image``, ``gpu``, ``environment_variables``) or ``Environment._serialize_to_dict()`` (the
SDK's camelCase definition, converted through the facade). Conda packages become pip requirements:
most conda names are pip names; a few are renamed (``pytorch`` -> ``torch``), conda-only
infrastructure (``pip``, ``setuptools``, CUDA libraries) is dropped, and conda's ``=1.2`` (a version
prefix) becomes pip's ``==1.2.*``. ``azureml-defaults`` is replaced by the scoring server
``azureml-inference-server-http``, which is always added: it is what replicas run.

Errors are checked in a fixed order (the Python version first, then packages in file order) and
raised as :class:`SpecError` naming the offending entry.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
from typing import Any, Callable, Mapping

from emulator.environments.errors import SpecError
from emulator.environments.interpreters import find_interpreter, major_minor

try:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pragma: no cover - pip always vendors packaging
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement  # type: ignore
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore

SCORING_SERVER = "azureml-inference-server-http"
# Requires-Python of azureml-inference-server-http 1.5 (the server replicas run).
MIN_PYTHON = (3, 9)
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

    @property
    def digest(self) -> str:
        canonical = json.dumps({"format": _DIGEST_FORMAT, "python": self.python,
                                "requirements": list(self.requirements)},
                               sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    @property
    def env(self) -> dict[str, str]:
        return dict(self.environment_variables)


def _python_ok(version: str) -> bool:
    return find_interpreter(version) is not None


def resolve_spec(build_spec: Mapping[str, Any], host_python_version: str | None = None, *,
                 python_available: Callable[[str], bool] | None = None) -> BuildSpec:
    """Resolve ``Environment._to_build_spec()`` (or ``_serialize_to_dict()``) to a BuildSpec.

    ``host_python_version`` (default: the running interpreter's) is used when the definition names no
    Python and in messages. ``python_available(major_minor)`` says whether an interpreter exists
    (default: :func:`~emulator.environments.interpreters.find_interpreter`).
    """
    if host_python_version is None:
        host_python_version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    host = major_minor(host_python_version)
    available = python_available or _python_ok
    data = _as_build_spec_dict(build_spec)
    notes: list[str] = []

    python = _resolve_python(data.get("python_version"), host, available)

    requirements: list[str] = []
    for entry in data.get("conda") or []:
        requirement = _conda_to_pip(str(entry), notes)
        if requirement is not None:
            requirements.append(requirement)
    for entry in data.get("pip") or []:
        requirement = _pip_requirement(str(entry), notes)
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
    )


def _as_build_spec_dict(data: Mapping[str, Any]) -> Mapping[str, Any]:
    if "python_version" in data or "pip" in data or "conda" in data:
        return data
    if "python" in data and isinstance(data.get("python"), Mapping):
        from fake_azure.core.environment import Environment
        return Environment._deserialize_from_dict(dict(data))._to_build_spec()
    return data


def _resolve_python(requested: Any, host: str, available: Callable[[str], bool]) -> str:
    if requested is None or str(requested).strip() == "":
        return host
    text = str(requested).strip()
    try:
        version = major_minor(text.lstrip("=<>~! "))
    except ValueError:
        raise SpecError(f"python={text}: not a Python version fake-azure understands; "
                        f"use a plain version such as python={host}") from None
    label = f"python={text}"
    if tuple(int(p) for p in version.split(".")) < MIN_PYTHON:
        minimum = ".".join(map(str, MIN_PYTHON))
        raise SpecError(
            f"{label}: Python {version} cannot run the scoring server ({SCORING_SERVER} needs "
            f"Python >= {minimum}), and packages for it are not on this machine's package index. "
            f"fake-azure can use {host} (the daemon's); change the conda file to python={host}.")
    if not available(version):
        raise SpecError(
            f"{label}: no Python {version} interpreter on this machine (looked for python{version} on "
            f"PATH and in ~/.pyenv/versions). fake-azure can use {host} (the daemon's); change the "
            f"conda file to python={host}, or install Python {version}.")
    return version


_CONDA_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)(?P<extras>\[[^\]]*\])?\s*(?P<rest>.*)$")


def _conda_to_pip(entry: str, notes: list[str]) -> str | None:
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
    if conda_name == "tensorflow-gpu":
        raise SpecError(_tensorflow_gpu_message(entry, rest))
    if conda_name in CONDA_ONLY:
        if conda_name not in ("python", "pip"):
            notes.append(f"conda package {entry!r} dropped: conda-only, not installed with pip")
        return None
    pip_name = CONDA_TO_PIP.get(conda_name, conda_name)
    if pip_name in REPLACED_BY_SCORING_SERVER:
        notes.append(f"{entry!r} replaced by {SCORING_SERVER}")
        return None
    if pip_name != conda_name:
        notes.append(f"conda package {entry!r} installed as pip package {pip_name!r}")
    specifier = _conda_version_to_pip(rest, entry)
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


def _pip_requirement(entry: str, notes: list[str]) -> str | None:
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
        raise SpecError(_tensorflow_gpu_message(entry, text[len("tensorflow-gpu"):]))
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


def _tensorflow_gpu_message(entry: str, version_text: str) -> str:
    versions = re.findall(r"\d+", version_text)
    major = versions[0] if versions else None
    if major == "1":
        why = "tensorflow-gpu 1.x exists only for Python <= 3.7 and is not on this machine's package index"
    else:
        why = "tensorflow-gpu is a retired package (its last releases only raise an error) and is not on " \
              "this machine's package index"
    return (f"{entry.strip()}: cannot be resolved offline: {why}. Use `tensorflow` 2.x instead, which "
            f"includes GPU support; TensorFlow 1 code runs under `tf.compat.v1`.")
