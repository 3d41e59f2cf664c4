"""The daemon's reading of an environment definition as it arrives on the wire: the SDK's serialized
``Environment`` (``python.condaDependencies``, ``docker``, ``environmentVariables``), as registered or
sent inside a deployment, reduced to what a build needs. The facade's ``Environment._to_build_spec()``
gives the same summary client-side; the daemon parses its own wire format and imports no facade code."""
from __future__ import annotations

import re
from typing import Any, Mapping

# Azure ML's default base images (azureml-core 1.61), used when the definition names none.
DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"
_VERSION = re.compile(r"(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$")


def is_definition(data: Mapping[str, Any]) -> bool:
    """Whether ``data`` is a serialized Environment (a ``python`` section), not already a build summary."""
    summary_keys = ("python_version", "pip", "conda")
    return not any(key in data for key in summary_keys) and isinstance(data.get("python"), Mapping)


def build_spec(definition: Mapping[str, Any]) -> dict[str, Any]:
    """``python_version``, ``pip``, ``conda``, ``channels``, ``base_image``, ``gpu`` and
    ``environment_variables`` of a serialized Environment, read as azureml-core reads them: the
    ``python`` conda package is the version only; pip options, blank lines and comments are dropped;
    ``gpu`` when ``docker.gpuSupport`` is set or the base image is a CUDA/GPU image."""
    python = definition.get("python")
    conda_file = python.get("condaDependencies") if isinstance(python, Mapping) else None
    entries = list((conda_file or {}).get("dependencies") or [])
    python_version = next((_version(e) for e in entries if isinstance(e, str) and _is_python(e)), None)
    pip: list[str] = []
    for entry in entries:
        if isinstance(entry, Mapping) and "pip" in entry:  # the last pip section wins, as in the SDK
            pip = [str(p).strip() for p in entry["pip"] if not str(p).startswith("-")]
    docker = definition.get("docker")
    base_image = docker.get("baseImage") if isinstance(docker, Mapping) else None
    gpu = isinstance(docker, Mapping) and (bool(docker.get("gpuSupport", False)) or _is_gpu_image(base_image))
    return {
        "python_version": python_version,
        "pip": [p for p in pip if p and not p.startswith("#")],
        "conda": [e for e in entries if isinstance(e, str) and not _is_python(e)],
        "channels": [str(c) for c in (conda_file or {}).get("channels") or []],
        "base_image": base_image or (DEFAULT_GPU_IMAGE if gpu else DEFAULT_CPU_IMAGE),
        "gpu": gpu,
        "environment_variables": dict(definition.get("environmentVariables") or {}),
    }


def _is_python(entry: str) -> bool:
    """The ``python`` conda package itself ("python=3.9"), not "python-dateutil"."""
    return entry.startswith("python") and _package_name(entry) == "python"


def _package_name(entry: str) -> str:
    # Wheel file names (possibly URLs) follow PEP 427: the name is before the first "-".
    if entry.endswith(".whl"):
        return entry.rsplit("/", 1)[-1].split("-")[0]
    return re.split(r"[\[=|<|>|~|!]", entry)[0]


def _version(entry: str) -> str | None:
    found = _VERSION.search(entry)
    return found.group() if found else None


def _is_gpu_image(image: str | None) -> bool:
    # Azure ML GPU base images carry "cuda" in the repository name (openmpi4.1.0-cuda11.8-...).
    if not image:
        return False
    repository = str(image).rsplit("/", 1)[-1].lower()
    return "cuda" in repository or "gpu" in repository
