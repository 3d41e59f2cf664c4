"""Container images for environments: one image per :class:`BuildSpec` digest, built once, reused.

``ImageBuilder(client, base_image, log_dir).prepare(spec, log)`` returns the tag
``fake-azure-env:<digest>``. An existing image with that tag (and our ``fake-azure.env-digest``
label, built from the same base image) is reused; otherwise one is built from a generated Dockerfile::

    FROM <base image>                       # FAKE_AZURE_BASE_IMAGE; may be a locally built image
    COPY pip.conf /etc/pip.conf             # the host's pip settings that matter in a build
    COPY fake-azure/ /etc/fake-azure/       # the host's CA bundle, constraint files (, wheels)
    RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir <requirements>
    COPY shim /opt/fake-azure/shim          # only when azureml-core is not a requirement
    ENV PYTHONPATH=/opt/fake-azure/shim     #   (idem)
    ENV PATH=/opt/venv/bin:$PATH

Pip strategies (``FAKE_AZURE_DOCKER_PIP``: ``auto`` (default), ``online``, ``wheelhouse``):

* ``online``: pip runs inside the build (``network_mode="host"``) against the host's HTTP(S)
  indexes (``index-url`` or PyPI's default, ``extra-index-url``, ``find-links`` URLs,
  ``trusted-host``, ``proxy``, ``cert`` copied in, constraint files copied in; ``HTTP(S)_PROXY``
  and ``NO_PROXY`` passed as build args, which Docker does not keep in the image).
* ``wheelhouse``: the host's own pip (with all of the host's configuration, ``file://`` indexes
  and local find-links directories included) downloads the wheels into the build context, and
  the build installs them with ``--no-index --find-links``. Needed where the only package
  sources are local: ``file://`` indexes and find-links directories on the host are not reachable
  from a container build (the engine may even be remote).
* ``auto``: ``online`` when the host has any HTTP(S) index (PyPI counts, unless ``no-index``),
  else ``wheelhouse``. When an ``online`` build fails and the host also has local sources, the
  failure summary says that they were not used and how to use them.

The host's pip settings come from :mod:`emulator.runtimes.pip_config`. Only this module,
``emulator.runtimes.docker`` and ``emulator.runtimes.containers`` talk to the docker SDK (through ``client``).
"""
from __future__ import annotations

import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from emulator.environments.builder import build_failure_summary, run_logged, scrubbed_environ
from emulator.environments.errors import BuildFailed, SpecError
from emulator.environments.interpreters import interpreter_version
from emulator.environments.spec import BuildSpec
from scoring.sdk_shim import SHIM_DIR

from .pip_config import CONF_DIR, PipSettings, build_args, host_pip_config

try:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pragma: no cover - pip always vendors packaging
    # [assignment]: pip's vendored copy has the same API under other classes.
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement  # type: ignore[assignment]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[assignment]

IMAGE_REPOSITORY = "fake-azure-env"
LABEL_DIGEST = "fake-azure.env-digest"
LABEL_BASE = "fake-azure.base-image"
LABEL_PYTHON = "fake-azure.python"
LABEL_SHIM = "fake-azure.shim"
LABEL_STRATEGY = "fake-azure.pip-strategy"
CONTAINER_SHIM_DIR = "/opt/fake-azure/shim"
CONTAINER_VENV = "/opt/venv"
STRATEGIES = ("auto", "online", "wheelhouse")
DEFAULT_BUILD_TIMEOUT_S = 1800.0

LogFn = Callable[[str], None]


def image_tag(digest: str) -> str:
    return f"{IMAGE_REPOSITORY}:{digest}"


def _names(requirements: Iterable[str]) -> set[str]:
    names: set[str] = set()
    for text in requirements:
        try:
            names.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            names.add(canonicalize_name(re.split(r"[\s\[<>=!~;@]", text.strip(), maxsplit=1)[0]))
    return names


def needs_shim(requirements: Iterable[str]) -> bool:
    """Whether an image for ``requirements`` gets the minimal ``azureml.core`` shim."""
    return "azureml-core" not in _names(requirements)


# --- the builder ---------------------------------------------------------------------------------------

class ImageBuilder:
    """Build (once) and list/prune the environment images of one engine."""

    def __init__(self, client: Any, base_image: str, log_dir: Path | None = None, *,
                 strategy: str | None = None, timeout_s: float = DEFAULT_BUILD_TIMEOUT_S,
                 host_python: str = sys.executable) -> None:
        self.client = client
        self.base_image = base_image
        self.log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.gettempdir()) / "fake-azure-images"
        requested = (strategy or "auto").strip().lower()
        if requested not in STRATEGIES:
            raise SpecError(f"FAKE_AZURE_DOCKER_PIP={requested!r}: expected one of {', '.join(STRATEGIES)}")
        self.requested_strategy = requested
        self.timeout_s = timeout_s
        self.host_python = host_python
        self._base_python: str | None = None
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # --- the base image --------------------------------------------------------------------------------

    def base_python(self) -> str:
        """The base image's ``python3`` major.minor (asked once, in a throwaway container)."""
        if self._base_python is None:
            import docker.errors  # only the docker runtime modules import the SDK

            try:
                self.client.images.get(self.base_image)
            except docker.errors.ImageNotFound:
                raise SpecError(f"base image {self.base_image!r} not found on the Docker engine; build or pull "
                                f"it, or set FAKE_AZURE_BASE_IMAGE to an image with python3, python3-venv "
                                f"and pip") from None
            try:
                out = self.client.containers.run(
                    self.base_image, ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                    remove=True, network_mode="none", labels={"fake-azure.probe": "1"})
            except docker.errors.ContainerError as exc:
                raise SpecError(f"base image {self.base_image!r} has no working python3 ({exc}); set "
                                f"FAKE_AZURE_BASE_IMAGE to an image with python3, python3-venv and pip") from None
            self._base_python = out.decode().strip().splitlines()[-1]
        return self._base_python

    def check_python(self, spec: BuildSpec) -> None:
        base = self.base_python()
        if base != spec.python:
            raise SpecError(f"python={spec.python}: the base image {self.base_image!r} has Python {base}, not "
                            f"{spec.python}; use python={base} in the environment, or set FAKE_AZURE_BASE_IMAGE "
                            f"to an image whose python3 is {spec.python}")

    def _base_id(self) -> str:
        return self.client.images.get(self.base_image).id

    # --- preparing -------------------------------------------------------------------------------------

    def log_path(self, digest: str) -> Path:
        return self.log_dir / f"{digest}.image.log"

    def find(self, digest: str) -> Any | None:
        """Our image for ``digest`` built from the current base image, or None."""
        import docker.errors

        try:
            image = self.client.images.get(image_tag(digest))
        except docker.errors.ImageNotFound:
            return None
        labels = image.labels or {}
        if labels.get(LABEL_DIGEST) != digest or labels.get(LABEL_BASE) != self._base_id():
            return None
        return image

    def prepare(self, spec: BuildSpec, log: LogFn | None = None) -> str:
        """The tag of an image for ``spec``, building it if needed.

        Raises :class:`SpecError` if the base image's Python is not ``spec.python`` and
        :class:`BuildFailed` (pip's error lines, ``log_path``) if the build fails.
        """
        emit = log or (lambda line: None)
        digest = spec.digest
        tag = image_tag(digest)
        self.check_python(spec)
        for warning in spec.warnings:  # a cached image is a substitute all the same
            emit(f"WARNING: {warning}")
        with self._lock(digest):
            image = self.find(digest)
            if image is not None:
                emit(f"Environment {digest}: using the cached image {tag} ({image.short_id})")
                return tag
            self._build(spec, emit)
        return tag

    def _lock(self, digest: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(digest, threading.Lock())

    def _build(self, spec: BuildSpec, emit: LogFn) -> None:
        digest = spec.digest
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_path(digest)
        settings = PipSettings(host_pip_config(self.host_python))
        strategy = settings.strategy(self.requested_strategy)
        started = time.monotonic()
        lines: list[str] = []
        with open(log_path, "w", encoding="utf-8") as log_file, \
                tempfile.TemporaryDirectory(prefix="fake-azure-image-") as tmp:
            def out(line: str) -> None:
                lines.append(line)
                log_file.write(line + "\n")
                log_file.flush()
                emit(line)

            out(f"Building image {image_tag(digest)} from {self.base_image} (Python {spec.python}, "
                f"pip strategy {strategy})")
            out("Requirements: " + " ".join(spec.requirements))
            for note in spec.notes:
                out(f"Note: {note}")
            if strategy == "online" and settings.local_sources:
                out("Note: the host's local package sources are not reachable from a container build and are "
                    "not used: " + " ".join(settings.local_sources))
            context = Path(tmp)
            shim = self.write_context(spec, context, settings, strategy, out, log_path, started)
            (context / "Dockerfile").write_text(self.dockerfile(spec, strategy, shim), encoding="utf-8")
            try:
                self._docker_build(context, spec, strategy, shim, out)
            except BuildFailed:
                raise
            except _BuildError as exc:
                out(f"Build failed after {time.monotonic() - started:.1f}s")
                summary = build_failure_summary(spec, lines[2:] + [f"ERROR: {exc}"] if str(exc) else lines[2:], 1)
                if strategy == "online" and settings.local_sources:
                    summary += ("\nNote: the host's local package sources (" + " ".join(settings.local_sources)
                                + ") are not reachable from a container build; set FAKE_AZURE_DOCKER_PIP=wheelhouse "
                                "to download the packages on the host and copy them into the build")
                raise BuildFailed(summary, log_path) from None
            out(f"Image {image_tag(digest)} built in {time.monotonic() - started:.1f}s")

    def write_context(self, spec: BuildSpec, context: Path, settings: PipSettings, strategy: str, out: LogFn,
                      log_path: Path, started: float) -> bool:
        """Write what :meth:`dockerfile`'s lines copy into ``context`` (pip.conf and the files it names, the
        shim, the wheels of the wheelhouse strategy); whether the image gets the shim. Model packages
        (emulator/packaging/) build on it too."""
        settings.write_context(context, strategy)
        shim = needs_shim(spec.requirements)
        if shim:
            shutil.copytree(SHIM_DIR, context / "shim", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        if strategy == "wheelhouse":
            self._download(spec, context / "fake-azure" / "wheels", out, log_path, started)
        return shim

    def _download(self, spec: BuildSpec, dest: Path, out: LogFn, log_path: Path, started: float) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        command = [self.host_python, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
                   "--progress-bar", "off", "--dest", str(dest)]
        if interpreter_version(self.host_python) != spec.python:
            command += ["--python-version", spec.python, "--only-binary=:all:"]
        command += [*spec.pip_options, *spec.requirements]
        out("$ " + " ".join(command))
        returncode, lines = run_logged(command, scrubbed_environ(), out, cwd=None, timeout_s=self.timeout_s)
        if returncode != 0:
            out(f"Build failed (pip download exit status {returncode}) after {time.monotonic() - started:.1f}s")
            raise BuildFailed(build_failure_summary(spec, lines, returncode), log_path)

    def dockerfile(self, spec: BuildSpec, strategy: str, shim: bool) -> str:
        """The environment image's Dockerfile (its context: :meth:`write_context`)."""
        requirements = " ".join(_quote(r) for r in (*spec.pip_options, *spec.requirements))
        pip = f"{CONTAINER_VENV}/bin/pip install --no-cache-dir"
        if strategy == "wheelhouse":
            pip += f" --no-index --find-links {CONF_DIR}/wheels"
        lines = [
            f"FROM {self.base_image}",
            "COPY pip.conf /etc/pip.conf",
            f"COPY fake-azure/ {CONF_DIR}/",
            f"RUN python3 -m venv {CONTAINER_VENV} && {pip} {requirements}"
            + (f" && rm -rf {CONF_DIR}/wheels" if strategy == "wheelhouse" else ""),
        ]
        if shim:
            lines += [f"COPY shim {CONTAINER_SHIM_DIR}", f"ENV PYTHONPATH={CONTAINER_SHIM_DIR}"]
        lines += [f"ENV PATH={CONTAINER_VENV}/bin:$PATH PYTHONUNBUFFERED=1", "WORKDIR /var/azureml-app"]
        return "\n".join(lines) + "\n"

    def _docker_build(self, context: Path, spec: BuildSpec, strategy: str, shim: bool, out: LogFn) -> None:
        labels = {LABEL_DIGEST: spec.digest, LABEL_BASE: self._base_id(), LABEL_PYTHON: spec.python,
                  LABEL_SHIM: "1" if shim else "0", LABEL_STRATEGY: strategy}
        stream = self.client.api.build(path=str(context), tag=image_tag(spec.digest), labels=labels,
                                       network_mode="host", rm=True, forcerm=True, decode=True,
                                       buildargs=build_args() or None, timeout=int(self.timeout_s))
        error = follow_build(stream, out)
        if error is not None:
            raise _BuildError(_short_docker_error(error))

    # --- listing and pruning ----------------------------------------------------------------------------

    def list_images(self) -> list[dict[str, Any]]:
        """Our environment images: tag, digest, id, size (bytes), created, Python, base image id."""
        images = []
        for image in self.client.images.list(filters={"label": LABEL_DIGEST}):
            labels = image.labels or {}
            images.append({
                "tag": next((t for t in image.tags if t.startswith(IMAGE_REPOSITORY + ":")), None),
                "digest": labels.get(LABEL_DIGEST), "id": image.id, "size": image.attrs.get("Size"),
                "created": image.attrs.get("Created"), "python": labels.get(LABEL_PYTHON),
                "base": labels.get(LABEL_BASE),
            })
        return images

    def prune(self, keep_digests: Iterable[str] = ()) -> list[str]:
        """Remove our images except ``keep_digests``; returns the removed tags (or ids).

        An image still used by a container is left alone (the engine refuses to remove it).
        """
        import docker.errors

        keep = set(keep_digests)
        removed = []
        for entry in self.list_images():
            if entry["digest"] in keep:
                continue
            try:
                self.client.images.remove(entry["id"], force=False, noprune=False)
            except docker.errors.APIError:
                # In use by a container, or tagged elsewhere too: untag ours only, where possible.
                if entry["tag"]:
                    try:
                        self.client.images.remove(entry["tag"])
                    except docker.errors.APIError:
                        continue
                else:
                    continue
            removed.append(entry["tag"] or entry["id"])
        return removed


def follow_build(stream: Iterable[dict[str, Any]], out: LogFn) -> str | None:
    """Send a docker build's decoded output stream to ``out`` line by line; the engine's error, if any."""
    partial = ""
    error = None
    for chunk in stream:
        if "stream" in chunk:
            partial += chunk["stream"]
            *complete, partial = partial.split("\n")
            for line in complete:
                out(line.rstrip("\r"))
        elif "status" in chunk:
            out(str(chunk["status"]) + (f" {chunk['progress']}" if chunk.get("progress") else ""))
        if "error" in chunk or "errorDetail" in chunk:
            error = (chunk.get("errorDetail") or {}).get("message") or chunk.get("error") or "build failed"
    if partial.strip():
        out(partial.rstrip())
    if error is not None:
        out(error)
    return error


class _BuildError(Exception):
    pass


def _short_docker_error(message: str) -> str:
    # "The command '/bin/sh -c python3 -m venv ...' returned a non-zero code: 1" -> keep the code only
    match = re.search(r"returned a non-zero code: (\d+)", message)
    if match:
        return ""  # pip's own ERROR lines say why; the exit code is in the log
    return message


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
