"""The app root of an environment image request (models, source folder, entry script) laid out in a folder:
what a package's image copies in and what a profiled replica serves. Every stored path is resolved inside its
folder again (emulator/paths.py), as the deploy engine does."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

from scoring.layout import AppRoot, LayoutError, ModelFiles, lay_out

from ..blobs import BlobStore
from ..deploy import no_code
from ..errors import BadRequest, NotFound
from ..paths import relative_path, resolve_inside, segment
from ..resources.assets import service as assets
from ..resources.models import service as registered
from ..resources.services.service import check_image_request


def model_files(conn: sqlite3.Connection, blobs: BlobStore, ws_id: str, model_ids: list[str]) -> list[ModelFiles]:
    """The registered models ``name:version`` names, as files in the blob store (404 for an unknown one)."""
    result = []
    for model_id in model_ids:
        name, _, version = str(model_id).rpartition(":")
        if not name or not version.isdigit():
            raise BadRequest(f"Model id {model_id!r} is not of the form name:version", code="BadArgument")
        segment(name, "model name", "BadArgument")
        try:  # registered by either SDK (the workspace's one model registry)
            registered.get(conn, ws_id, f"{name}:{int(version)}")
        except NotFound:
            raise NotFound(f"Model {model_id} not found in the workspace", code="ModelNotFound") from None
        manifest = registered.version_files(conn, ws_id, name, int(version))
        files = {relative_path(relpath, "model file path", canonical=True): blobs.path_for(digest)
                 for relpath, (digest, _) in manifest.items()}
        result.append(ModelFiles(name, int(version), files))
    return result


def no_code_model(conn: sqlite3.Connection, ws_id: str, request: dict[str, Any]) -> dict[str, Any] | None:
    """The one model of a no-code request (``modelIds`` alone), checked as a deployment's is; None for a request
    with an entry script."""
    if not no_code.is_no_code(request):
        return None
    models = [registered.get(conn, ws_id, model_id) for model_id in request.get("modelIds") or []]
    no_code.check(request, models)
    return models[0]


def lay_out_request(conn: sqlite3.Connection, blobs: BlobStore, ws_id: str, request: dict[str, Any],
                    app_root: Path, staging: Path) -> AppRoot:
    """Lay the request's models and source out under ``app_root``; ``staging`` holds the source on the way
    (a no-code request: our entry script for its framework)."""
    check_image_request(request)
    model = no_code_model(conn, ws_id, request)
    if model is not None:
        entry_script = no_code.write_entry_script(staging, model)
        try:
            return lay_out(app_root, model_files(conn, blobs, ws_id, [model["id"]]), str(entry_script))
        except LayoutError as exc:
            raise BadRequest(str(exc), code="BadArgument") from None
    asset_id = (request.get("assets") or [{}])[0].get("id")
    folder_name = request.get("sourceDirectory")
    files = assets.files(conn, ws_id, asset_id)
    base = resolve_inside(staging, folder_name, "sourceDirectory", single=True) if folder_name else staging
    base.mkdir(parents=True, exist_ok=True)
    for relpath, digest in files.items():
        destination = resolve_inside(base, relpath, "source file path")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(blobs.path_for(digest), destination)
    entry = resolve_inside(base, request.get("driverProgram"), "driverProgram")
    models = model_files(conn, blobs, ws_id, list(request.get("modelIds") or []))
    try:
        if folder_name:
            return lay_out(app_root, models, entry.relative_to(base).as_posix(), source_directory=base)
        return lay_out(app_root, models, str(entry))
    except LayoutError as exc:
        raise BadRequest(str(exc), code="BadArgument") from None
