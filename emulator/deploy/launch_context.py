"""What every replica of a deployment starts from: its environment (prepared by the runtime, built if need
be), its model files, its source folder and entry script, its environment variables and its log folder.

Built once per deployment, outside any lock (an environment build may take minutes), and kept for
restarts and scaling out."""
from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.layout import ModelFiles

from ..blobs import BlobStore
from ..environments import EnvironmentBuildError
from ..errors import NotFound
from ..faults import Faults
from ..paths import UnsafePath, relative_path, resolve_inside, segment
from ..resources.assets import service as assets
from ..resources.models import service as models
from ..resources.services import service as services
from ..runtimes.base import ReplicaRuntime
from ..store import Store
from . import no_code
from .failures import GPU_REQUIRED_ERROR, DeployFailed, environment_build_error
from .folders import ServiceFolders
from .gpus import HostGpus
from .records import replicas_of


@dataclass
class LaunchContext:
    """What every replica of a deployed service starts from (kept for scaling out later)."""
    environment: str  # what the runtime's prepare() returned: an interpreter, an image
    models: list[ModelFiles]
    source_dir: Path | None
    entry: str
    env_vars: dict[str, str]
    log_dir: Path


class LaunchContextBuilder:
    def __init__(self, store: Store, blobs: BlobStore, runtime: ReplicaRuntime, gpus: HostGpus, faults: Faults,
                 folders: ServiceFolders, runtime_line: str) -> None:
        self._store = store
        self._blobs = blobs
        self._runtime = runtime
        self._gpus = gpus
        self._faults = faults
        self._folders = folders
        self._runtime_line = runtime_line  # the first line of every deployment log

    def build(self, ws_id: str, body: dict[str, Any], keep: set[str]) -> LaunchContext:
        """The launch context of the service ``body``; the logs of replicas other than ``keep`` (replicas
        taken over, which still write theirs) start afresh. Raises ``DeployFailed``."""
        request = body["environmentImageRequest"] or {}
        log_dir = self._folders.service_dir(ws_id, body["name"])
        log_dir.mkdir(parents=True, exist_ok=True)
        for old in log_dir.glob("*.log*"):  # rotated replica logs (.log.1...) too
            if old.name.split(".", 1)[0] not in keep:
                old.unlink()
        # A no-code deployment runs our curated environment and entry script for its one model (no_code.py).
        no_code_model = no_code.model_of(body)
        if no_code_model is not None:
            request = {**request, "environment": no_code.environment(no_code_model)}
        environment = self._prepare(ws_id, request, log_dir / "environment.log")
        replicas = replicas_of(body)
        warning = self._gpus.shortfall_warning(sum(len(r.gpu_ids) for r in replicas))
        if warning and self._gpus.policy == "require":
            raise DeployFailed(GPU_REQUIRED_ERROR)
        conn = self._store.read()
        given = (body.get("fakeAzure") or {}).get("launch")
        if given is not None:  # a front end that resolved its files itself (SDK v2 deployments)
            models = self._given_models(given)
            source_dir, entry = self._given_source(given)
        elif no_code_model is not None:
            models = self._model_files(conn, ws_id, body)
            source_dir, entry = None, str(no_code.write_entry_script(log_dir / "no-code", no_code_model))
        else:
            models = self._model_files(conn, ws_id, body)
            source_dir, entry = self.materialize_source(conn, ws_id, request)
        if warning:
            for replica in replicas:
                with open(log_dir / f"{replica.id}.log", "a") as replica_log:
                    replica_log.write(warning + "\n")
        return LaunchContext(environment, models, source_dir, entry, self._env_vars(request), log_dir)

    @staticmethod
    def _env_vars(request: dict[str, Any]) -> dict[str, str]:
        return {k: str(v) for k, v in ((request.get("environment") or {}).get("environmentVariables") or {}).items()}

    def _prepare(self, ws_id: str, request: dict[str, Any], build_log: Path) -> str:
        with open(build_log, "a") as build_file:  # once: a build sends every pip output line here
            def log(line: str) -> None:
                build_file.write(line.rstrip("\n") + "\n")
                build_file.flush()  # get_logs() shows the build as it goes

            log(self._runtime_line)
            try:
                if self._faults.take("fail_next_build", ws_id):
                    log("fake-azure: environment build failed (fault injected through /_emulator/faults)")
                    raise EnvironmentBuildError("Image build failed: fault injected by fake-azure (fail_next_build).")
                return self._runtime.prepare(request.get("environment") or {}, log)
            except EnvironmentBuildError as exc:
                # The SDK's error sends users to this log (and get_logs() shows it): it must hold why,
                # also when nothing was built (an environment refused before pip ran).
                log(exc.message)
                raise DeployFailed(environment_build_error(exc.message), sub_operation="BuildEnvironment") from exc

    def _model_files(self, conn: Any, ws_id: str, body: dict[str, Any]) -> list[ModelFiles]:
        result = []
        for model in body.get("models", []):
            # Registered by either SDK: v1's manifest or the blobs of a v2 version (the workspace's one registry).
            manifest = models.version_files(conn, ws_id, model["name"], model["version"])
            try:  # checked at upload; again here, as every stored path is before it becomes a file
                files = {relative_path(relpath, "model file path", canonical=True): self._blobs.path_for(digest)
                         for relpath, (digest, _) in manifest.items()}
                segment(model["name"], "model name")
            except UnsafePath as exc:
                raise DeployFailed(exc.to_body()["error"]) from exc
            result.append(ModelFiles(model["name"], model["version"], files))
        return result

    def _given_models(self, given: dict[str, Any]) -> list[ModelFiles]:
        """``launch.models``: [{name, version (a number), files: {relative path: sha256}}]."""
        try:
            return [ModelFiles(segment(m["name"], "model name"), int(m["version"]),
                               {relative_path(rel, "model file path", canonical=True): self._blobs.path_for(digest)
                                for rel, digest in m["files"].items()}) for m in given.get("models") or []]
        except UnsafePath as exc:
            raise DeployFailed(exc.to_body()["error"]) from exc

    def _given_source(self, given: dict[str, Any]) -> tuple[Path | None, str]:
        """``launch.source``: {key (names its folder), files: {relative path: sha256}, entry}; (folder, entry)."""
        source = given.get("source")
        if not source:
            return None, ""
        try:
            root = resolve_inside(self._folders.assets, f"v2-{source['key']}", "code id", single=True)
            if not root.exists():  # immutable: one copy serves every later deployment
                staging = root.parent / f".{root.name}.{os.getpid()}.{threading.get_ident()}"
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir(parents=True)
                for relpath, digest in source["files"].items():
                    destination = resolve_inside(staging, relpath, "code file path")
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(self._blobs.path_for(digest), destination)
                try:
                    os.replace(staging, root)
                except OSError:  # another deployment of the same code won the race
                    shutil.rmtree(staging, ignore_errors=True)
            entry = resolve_inside(root, source["entry"], "scoring script")
        except UnsafePath as exc:
            raise DeployFailed(exc.to_body()["error"]) from exc
        return root, entry.relative_to(root).as_posix()

    def materialize_source(self, conn: Any, ws_id: str, request: dict[str, Any]) -> tuple[Path | None, str]:
        """The uploaded source, as a folder lay_out can copy: (source dir or None, entry script).

        Every name the request gives is resolved inside its folder with emulator/paths.py (the API
        refused bad ones already: this is the second line, for records written before that check)."""
        try:
            services.check_image_request(request)
            asset_id = (request.get("assets") or [{}])[0].get("id")
            folder_name = request.get("sourceDirectory")
            assets_dir = self._folders.assets
            root = resolve_inside(assets_dir, asset_id, "asset id", single=True)
            files = assets.files(conn, ws_id, asset_id)  # 404 unless the workspace owns the asset
        except (UnsafePath, NotFound) as exc:
            raise DeployFailed(exc.to_body()["error"]) from exc
        if not root.exists():  # assets are immutable: one copy serves every later deployment
            staging = assets_dir / f".{asset_id}.{os.getpid()}.{threading.get_ident()}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            base = resolve_inside(staging, folder_name, "sourceDirectory", single=True) if folder_name else staging
            for relpath, digest in files.items():
                destination = resolve_inside(base, relpath, "source file path")
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self._blobs.path_for(digest), destination)
            try:
                os.replace(staging, root)
            except OSError:  # another deployment of the same asset won the race
                shutil.rmtree(staging, ignore_errors=True)
        try:
            target = resolve_inside(root, folder_name, "sourceDirectory", single=True) if folder_name else root
            entry = resolve_inside(target, request.get("driverProgram"), "driverProgram")
        except UnsafePath as exc:
            raise DeployFailed(exc.to_body()["error"]) from exc
        if folder_name:
            return target, entry.relative_to(target).as_posix()
        return None, str(entry)


