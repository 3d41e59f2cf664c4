"""``Model.package``: a service's Docker image, or a Docker build context that builds it.

A package lives in ``<home>/packages/<id>/``: ``context/`` (the build context) and ``build.log``. The
context's Dockerfile is the environment image's (emulator/runtimes/images.py: ``FROM`` the base image,
the environment's packages installed into ``/opt/venv``) followed by the service layer::

    COPY azureml-app/ /var/azureml-app/     # score.py (or the source folder) and azureml-models/
    ENV AML_APP_ROOT=/var/azureml-app AZUREML_MODEL_DIR=... AZUREML_ENTRY_SCRIPT=... <environment variables>
    EXPOSE 5001
    CMD ["azmlinfsrv", "--entry_script", "/var/azureml-app/<entry>", "--port", "5001"]

as Azure's package images, which are run with ``docker run -p <port>:5001``. ``generate_dockerfile=True``
(``DockerBuildContext``) stops there; a ``DockerImage`` package is built on the docker runtime's engine
``FROM`` the environment's cached image (built first if need be), tagged ``<imageName or package>:<imageLabel
or the package id>``. The work runs on a thread; the operation ``package.create`` ends with it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, cast

from .. import error_catalog
from ..blobs import BlobStore
from ..deploy import no_code
from ..errors import BadRequest, Conflict, NotFound
from ..operations import Operations, OperationStatus, Outcome
from ..paths import resolve_inside
from ..runtimes.base import ReplicaRuntime
from ..store import Store
from .inputs import lay_out_request, no_code_model

if TYPE_CHECKING:
    from ..runtimes.docker import DockerRuntime

KIND = "package.create"
CONTAINER_APP_ROOT = "/var/azureml-app"
CONTAINER_PORT = 5001
DOCKER_IMAGE = "DockerImage"
BUILD_CONTEXT = "DockerBuildContext"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TAG_PART = re.compile(r"[^a-z0-9_.-]+")


def finish(conn: Any, op: Any) -> None:
    """The operation's finisher: a package's state is its operation's, nothing else to update."""




def service_layer(app_root: Any, environment_variables: dict[str, str]) -> list[str]:
    """The Dockerfile lines that put the laid-out app root into the image and start the scoring server."""
    env = {"AML_APP_ROOT": CONTAINER_APP_ROOT, "AZUREML_MODEL_DIR": app_root.model_dir,
           "AZUREML_ENTRY_SCRIPT": app_root.entry_script}
    if app_root.source_directory is not None:
        env["AZUREML_SOURCE_DIRECTORY"] = app_root.source_directory
    for key, value in environment_variables.items():
        if _ENV_NAME.match(key) and key not in env:
            env[key] = value
    entry = f"{CONTAINER_APP_ROOT}/{app_root.entry_script}"
    return [f"COPY azureml-app/ {CONTAINER_APP_ROOT}/",
            "ENV " + " ".join(f"{key}={json.dumps(str(value))}" for key, value in env.items()),
            f"WORKDIR {CONTAINER_APP_ROOT}",
            f"EXPOSE {CONTAINER_PORT}",
            "CMD " + json.dumps(["azmlinfsrv", "--entry_script", entry, "--port", str(CONTAINER_PORT)])]


class Packager:
    """Starts package operations and answers for their results (context archive, log, image)."""

    def __init__(self, home: Path, store: Store, blobs: BlobStore, operations: Operations,
                 runtime: Callable[[], ReplicaRuntime], base_image: str, pip_strategy: str | None) -> None:
        self._root = home / "packages"
        self._store = store
        self._blobs = blobs
        self._operations = operations
        self._runtime = runtime  # the engine's, asked when a package starts
        self._base_image = base_image
        self._pip_strategy = pip_strategy

    def folder(self, package_id: str) -> Path:
        return resolve_inside(self._root, package_id, "package id", single=True)

    def start(self, ws_id: str, payload: dict[str, Any]) -> str:
        """Record the operation, lay the inputs out now (a bad model or asset is a 4xx at once), build later."""
        package_type = payload.get("packageType") or DOCKER_IMAGE
        request = dict(payload.get("imageRequest") or {})
        model = no_code_model(self._store.read(), ws_id, request)
        if model is not None:  # Model.package without an InferenceConfig: the framework's curated environment
            request["environment"] = no_code.environment(model)
        operation_type = "PackageDockerBuildContext" if package_type == BUILD_CONTEXT else "PackageDockerImage"
        # Inputs first: a refused request (unknown model or asset) records nothing.
        staged = self._root / f".new-{uuid.uuid4().hex}"
        staged.mkdir(parents=True)
        try:
            with tempfile.TemporaryDirectory(dir=staged) as source:
                app_root = lay_out_request(self._store.read(), self._blobs, ws_id, request,
                                           staged / "context" / "azureml-app", Path(source))
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        with self._store.transaction() as conn:
            op_id = self._operations.start(conn, ws_id, KIND, "", Outcome(
                pending=True, running_status=OperationStatus.RUNNING.value,
                extra=self._extra(operation_type, None, "")))
        os.replace(staged, self.folder(op_id))
        tag = None
        if package_type != BUILD_CONTEXT:
            name = _TAG_PART.sub("-", str(payload.get("imageName") or "package").lower()).strip("-.") or "package"
            label = _TAG_PART.sub("-", str(payload.get("imageLabel") or op_id[:8]).lower()).strip("-.") or op_id[:8]
            tag = f"{name}:{label}"
        thread = threading.Thread(target=self._run, name=f"package-{op_id[:8]}", daemon=True,
                                  args=(op_id, ws_id, request, app_root, operation_type, tag))
        thread.start()
        return op_id

    def _extra(self, operation_type: str, location: str | None, op_id: str) -> dict[str, Any]:
        return {"operationType": operation_type, "resourceLocation": location,
                "operationLog": f"packages/{op_id}/log" if op_id else None}

    def _run(self, op_id: str, ws_id: str, request: dict[str, Any], app_root: Any, operation_type: str,
             tag: str | None) -> None:
        folder = self.folder(op_id)
        started = time.monotonic()
        with open(folder / "build.log", "w", encoding="utf-8") as log_file:
            def out(line: str) -> None:
                log_file.write(line.rstrip("\n") + "\n")
                log_file.flush()

            try:
                location = self._build(folder, request, app_root, tag, out, started)
            except Exception as exc:  # the environment, the engine, the build: the package fails with it
                message = getattr(exc, "message", None) or str(exc)
                out(f"Package creation failed: {message}")
                failure = error_catalog.package_failed(message).payload()
                self._operations.resolve(op_id, Outcome(OperationStatus.FAILED, error=failure,
                                                        extra=self._extra(operation_type, None, op_id)))
                return
            out(f"Package created in {time.monotonic() - started:.1f}s: {location}")
        self._operations.resolve(op_id, Outcome(OperationStatus.SUCCEEDED,
                                                extra=self._extra(operation_type, location, op_id)))

    def _build(self, folder: Path, request: dict[str, Any], app_root: Any, tag: str | None,
               out: Callable[[str], None], started: float) -> str:
        from ..runtimes.images import ImageBuilder
        from ..runtimes.pip_config import PipSettings, host_pip_config

        runtime = self._runtime()
        environment = request.get("environment") or {}
        variables = {str(k): str(v) for k, v in (environment.get("environmentVariables") or {}).items()}
        context = folder / "context"
        if tag is not None:
            if getattr(runtime, "images", None) is None:
                raise RuntimeError("Model.package builds images with the docker runtime, and this daemon runs "
                                   f"replicas with the {runtime.name} runtime: set FAKE_AZURE_RUNTIME=docker (or auto "
                                   "with a Docker engine), or use generate_dockerfile=True")
            base = runtime.prepare(environment, out)  # the environment's image, cached or built now
            (context / "Dockerfile").write_text("\n".join([f"FROM {base}", *service_layer(app_root, variables)])
                                                + "\n", encoding="utf-8")
            return self._docker_build(runtime, context, tag, out)
        if getattr(runtime, "images", None) is not None:
            docker = cast("DockerRuntime", runtime)  # only the docker runtime has an image builder
            builder, spec = docker.images, docker.resolve_environment(environment)
        else:
            from ..environments import resolve_spec

            builder = ImageBuilder(None, self._base_image, folder, strategy=self._pip_strategy)
            # No engine to ask: the requested Python stands (the base image's python3 runs the build).
            spec = resolve_spec(environment, host_python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
                                python_available=lambda version: True)
        settings = PipSettings(host_pip_config(builder.host_python))
        strategy = settings.strategy(builder.requested_strategy)
        out(f"Writing a Docker build context from {builder.base_image} (Python {spec.python}, pip strategy "
            f"{strategy}); requirements: {' '.join(spec.requirements)}")
        shim = builder.write_context(spec, context, settings, strategy, out, folder / "build.log", started)
        dockerfile = builder.dockerfile(spec, strategy, shim).rstrip("\n").split("\n")
        (context / "Dockerfile").write_text("\n".join([*dockerfile, *service_layer(app_root, variables)]) + "\n",
                                            encoding="utf-8")
        return f"packages/{folder.name}/context"

    @staticmethod
    def _docker_build(runtime: Any, context: Path, tag: str, out: Callable[[str], None]) -> str:
        from ..runtimes.images import build_args, follow_build

        out(f"Building image {tag}")
        stream = runtime.client.api.build(path=str(context), tag=tag, labels={"fake-azure.package": "1"},
                                          network_mode="host", rm=True, forcerm=True, decode=True,
                                          buildargs=build_args() or None)
        error = follow_build(stream, out)
        if error is not None:
            raise RuntimeError(f"docker build of {tag} failed: {error}")
        return tag

    # --- results --------------------------------------------------------------------------------------

    def state(self, ws_id: str, package_id: str) -> dict[str, Any]:
        """The package's operation as polled (404 for another workspace's or an unknown id)."""
        body = self._operations.poll(ws_id, package_id)
        if body.get("name") != KIND:
            raise NotFound(f"Package {package_id} not found", code="PackageNotFound")
        return body

    def log(self, ws_id: str, package_id: str, offset: int) -> bytes:
        self.state(ws_id, package_id)
        try:
            with open(self.folder(package_id) / "build.log", "rb") as handle:
                handle.seek(max(0, offset))
                return handle.read()
        except FileNotFoundError:
            return b""

    def write_context_archive(self, ws_id: str, package_id: str, sink: IO[bytes]) -> None:
        """A tar of a finished build-context package's context (the Dockerfile at its top)."""
        state = self.state(ws_id, package_id)
        if state.get("operationType") != "PackageDockerBuildContext":
            raise BadRequest("A Docker image package has no build context to save; use pull() instead.")
        if state.get("state") != OperationStatus.SUCCEEDED.value:
            raise Conflict(f"Package {package_id} is {state.get('state')}, not Succeeded")
        context = self.folder(package_id) / "context"
        with tarfile.open(fileobj=sink, mode="w|") as tar:
            for entry in sorted(context.iterdir()):
                tar.add(str(entry), arcname=entry.name)

    def check_image(self, ws_id: str, package_id: str) -> str:
        """The image of a finished image package, checked to be on the engine (404 if it was removed)."""
        state = self.state(ws_id, package_id)
        if state.get("operationType") != "PackageDockerImage":
            raise BadRequest("A Dockerfile package cannot be pulled. Use save() instead.")
        if state.get("state") != OperationStatus.SUCCEEDED.value:
            raise Conflict(f"Package {package_id} is {state.get('state')}, not Succeeded")
        tag = state["resourceLocation"]
        runtime = self._runtime()
        try:
            cast("DockerRuntime", runtime).client.images.get(tag)  # image packages exist on docker only
        except Exception as exc:  # the docker SDK's ImageNotFound, or the engine gone
            raise NotFound(f"Image {tag} is no longer on the Docker engine ({exc})", code="ImageNotFound") from None
        return tag
