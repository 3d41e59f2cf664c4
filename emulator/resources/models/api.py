"""REST routes of the model registry: parse the request, call the service, serialise the result.

Register is ``POST .../models`` as ``multipart/form-data``: a ``metadata`` field (the model DTO as
JSON: name, kvTags, properties, description, framework, ...) and one file part per model file whose
filename is the file's relative path inside the model, percent-encoded (UTF-8).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, send_file

from ...http import WORKSPACE_PREFIX, cloud, validated, workspace_scope
from ...uploads import multipart_upload
from ..services import service as services
from . import service
from .schema import PATCH, ModelListQuery, ModelRegistration

MODELS = WORKSPACE_PREFIX + "/models"
blueprint = Blueprint("models", __name__)


@blueprint.post(MODELS)
@validated(multipart=ModelRegistration)
def register_model(sub: str, rg: str, ws: str):
    ws_id = workspace_scope(sub, rg, ws)
    with multipart_upload(cloud().blobs.root, "a model", ModelRegistration) as (meta, uploads):
        body = service.register(cloud().store, cloud().blobs, ws_id, meta, uploads)
    return jsonify(body), 200


@blueprint.get(MODELS)
@validated(query=ModelListQuery)
def list_models(sub: str, rg: str, ws: str, query: ModelListQuery):
    q = service.Query(name=query.name, framework=query.framework, tags=query.tags, properties=query.properties,
                      run_id=query.runId, dataset_id=query.datasetId, latest=query.latestVersionOnly,
                      count=query.count)
    return jsonify({"value": service.query(cloud().store.read(), workspace_scope(sub, rg, ws), q)})


@blueprint.get(MODELS + "/<model_id>")
@validated()
def get_model(sub: str, rg: str, ws: str, model_id: str):
    return jsonify(service.get(cloud().store.read(), workspace_scope(sub, rg, ws), model_id))


@blueprint.get(MODELS + "/<name>/latest")
@validated()
def get_latest_model(sub: str, rg: str, ws: str, name: str):
    return jsonify(service.latest(cloud().store.read(), workspace_scope(sub, rg, ws), name))


@blueprint.patch(MODELS + "/<model_id>")
@validated(patch=PATCH)
def patch_model(sub: str, rg: str, ws: str, model_id: str, payload: list):
    ws_id = workspace_scope(sub, rg, ws)
    operations = payload  # which paths may change is service.patch's rule
    with cloud().store.transaction() as conn:
        body = service.patch(conn, ws_id, model_id, operations)
    return jsonify(body)


@blueprint.delete(MODELS + "/<model_id>")
@validated()
def delete_model(sub: str, rg: str, ws: str, model_id: str):
    ws_id = workspace_scope(sub, rg, ws)
    with cloud().store.transaction() as conn:
        service.delete(conn, ws_id, model_id, used_by=services.deployed_with(conn, ws_id, model_id))
    return "", 204


@blueprint.get(MODELS + "/<model_id>/files")
@validated()
def list_model_files(sub: str, rg: str, ws: str, model_id: str):
    return jsonify({"value": service.files(cloud().store.read(), workspace_scope(sub, rg, ws), model_id)})


@blueprint.get(MODELS + "/<model_id>/files/<path:relpath>")
@validated()
def download_model_file(sub: str, rg: str, ws: str, model_id: str, relpath: str):
    digest, size = service.file_digest(cloud().store.read(), workspace_scope(sub, rg, ws), model_id,
                                       service.normalize_relpath(relpath))
    response = send_file(cloud().blobs.path_for(digest), mimetype="application/octet-stream", conditional=False,
                         etag=digest, max_age=None)
    response.headers["x-ms-content-sha256"] = digest
    return response
