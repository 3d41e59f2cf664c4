"""REST routes of the model registry: parse the request, call the service, serialise the result.

Register is ``POST .../models`` as ``multipart/form-data``: a ``metadata`` field (the model DTO as
JSON: name, kvTags, properties, description, framework, ...) and one file part per model file whose
filename is the file's relative path inside the model, percent-encoded (UTF-8).
"""
from __future__ import annotations

import io
import json
import tempfile
from urllib.parse import unquote

from flask import Blueprint, jsonify, request, send_file
from werkzeug.formparser import FormDataParser

from ...errors import BadRequest
from ...http import WORKSPACE_PREFIX, cloud, workspace_scope
from . import service

# Request bodies up to this size are parsed in memory rather than spooled to disk.
SMALL_BODY_BYTES = 1024 * 1024

MODELS = WORKSPACE_PREFIX + "/models"
MAX_METADATA_BYTES = 16 * 1024 * 1024
blueprint = Blueprint("models", __name__)


@blueprint.post(MODELS)
def register_model(sub: str, rg: str, ws: str):
    ws_id = workspace_scope(sub, rg, ws)
    meta, uploads = _parse_upload()
    try:
        body = service.register(cloud().store, cloud().blobs, ws_id, meta, uploads)
    finally:
        for upload in uploads:
            upload.stream.close()
    return jsonify(body), 200


@blueprint.get(MODELS)
def list_models(sub: str, rg: str, ws: str):
    args = request.args
    try:
        count = int(args["count"]) if args.get("count") else None
    except ValueError as exc:
        raise BadRequest("count must be an integer.") from exc
    q = service.Query(name=args.get("name"), framework=args.get("framework"), tags=args.get("tags"),
                      properties=args.get("properties"), run_id=args.get("runId"),
                      dataset_id=args.get("datasetId"), latest=args.get("latestVersionOnly", "").lower() == "true",
                      count=count)
    return jsonify({"value": service.query(cloud().store.read(), workspace_scope(sub, rg, ws), q)})


@blueprint.get(MODELS + "/<model_id>")
def get_model(sub: str, rg: str, ws: str, model_id: str):
    return jsonify(service.get(cloud().store.read(), workspace_scope(sub, rg, ws), model_id))


@blueprint.get(MODELS + "/<name>/latest")
def get_latest_model(sub: str, rg: str, ws: str, name: str):
    return jsonify(service.latest(cloud().store.read(), workspace_scope(sub, rg, ws), name))


@blueprint.patch(MODELS + "/<model_id>")
def patch_model(sub: str, rg: str, ws: str, model_id: str):
    ws_id = workspace_scope(sub, rg, ws)
    operations = _json_list()
    with cloud().store.transaction() as conn:
        body = service.patch(conn, ws_id, model_id, operations)
    return jsonify(body)


@blueprint.delete(MODELS + "/<model_id>")
def delete_model(sub: str, rg: str, ws: str, model_id: str):
    ws_id = workspace_scope(sub, rg, ws)
    with cloud().store.transaction() as conn:
        service.delete(conn, ws_id, model_id)
    return "", 204


@blueprint.get(MODELS + "/<model_id>/files")
def list_model_files(sub: str, rg: str, ws: str, model_id: str):
    return jsonify({"value": service.files(cloud().store.read(), workspace_scope(sub, rg, ws), model_id)})


@blueprint.get(MODELS + "/<model_id>/files/<path:relpath>")
def download_model_file(sub: str, rg: str, ws: str, model_id: str, relpath: str):
    digest, size = service.file_digest(cloud().store.read(), workspace_scope(sub, rg, ws), model_id,
                                       service.normalize_relpath(relpath))
    response = send_file(cloud().blobs.path_for(digest), mimetype="application/octet-stream", conditional=False,
                         etag=digest, max_age=None)
    response.headers["x-ms-content-sha256"] = digest
    return response


def _parse_upload() -> tuple[dict, list[service.Upload]]:
    if request.mimetype != "multipart/form-data":
        raise BadRequest("Register a model with a multipart/form-data body: a 'metadata' JSON field and one "
                         "file part per model file.")
    blob_root = cloud().blobs.root

    def spool(total_content_length, content_type, filename, content_length=None):
        # Small bodies stay in memory; large ones spool beside the blobs (same file system, sized
        # for models), not in a small /tmp.
        if total_content_length is not None and total_content_length <= SMALL_BODY_BYTES:
            return io.BytesIO()
        return tempfile.TemporaryFile(dir=blob_root, prefix=".part-")

    parser = FormDataParser(stream_factory=spool, max_form_memory_size=MAX_METADATA_BYTES, silent=False,
                            max_form_parts=None)
    try:
        _, form, files = parser.parse(request.stream, request.mimetype, request.content_length,
                                      request.mimetype_params)
    except ValueError as exc:
        raise BadRequest(f"Malformed multipart body: {exc}") from exc
    uploads = []
    for storage in files.getlist("file"):
        storage.stream.seek(0)
        uploads.append(service.Upload(unquote(storage.filename or ""), storage.stream))
    try:
        meta = json.loads(form.get("metadata") or "")
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        for upload in uploads:
            upload.stream.close()
        raise BadRequest(f"The 'metadata' field is missing or not a JSON object: {exc}") from exc
    return meta, uploads


def _json_list() -> list:
    raw = request.get_data(cache=True)
    try:
        parsed = json.loads(raw or b"null")
    except ValueError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, list):
        raise BadRequest("The request body must be a JSON-patch list.")
    return parsed
