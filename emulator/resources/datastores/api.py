"""REST routes of datastores (the datastore service's ``.../datastores`` and ``.../default``) and of the
blobs in them (upload, list, download). Routes only: the work is in ``service``."""
from __future__ import annotations

from flask import Blueprint, jsonify, send_file

from ...http import WORKSPACE_PREFIX, cloud, validated, workspace_body
from ...uploads import multipart_upload
from . import service
from .schema import BlobListQuery, BlobUpload

DATASTORES = WORKSPACE_PREFIX + "/datastores"
blueprint = Blueprint("datastores", __name__)


@blueprint.get(DATASTORES)
@validated()
def list_datastores(sub: str, rg: str, ws: str):
    return jsonify({"value": service.listing(workspace_body(sub, rg, ws))})


@blueprint.get(WORKSPACE_PREFIX + "/default")
@validated()
def get_default_datastore(sub: str, rg: str, ws: str):
    return jsonify(service.body(workspace_body(sub, rg, ws), service.DEFAULT_BLOB_DATASTORE))


@blueprint.get(DATASTORES + "/<name>")
@validated()
def get_datastore(sub: str, rg: str, ws: str, name: str):
    return jsonify(service.body(workspace_body(sub, rg, ws), name))


@blueprint.post(DATASTORES + "/<name>/blobs")
@validated(multipart=BlobUpload)
def upload_blobs(sub: str, rg: str, ws: str, name: str):
    where = service.container(workspace_body(sub, rg, ws), name)  # 404 before reading the upload
    with multipart_upload(cloud().blobs.root, "blobs", BlobUpload) as (meta, uploads):
        overwrite = BlobUpload.model_validate(meta).overwrite  # already checked at the door
        results = service.upload(cloud().store, cloud().blobs, where, uploads, overwrite)
    return jsonify({"value": [{"path": r.path, "uploaded": r.stored} for r in results]})


@blueprint.get(DATASTORES + "/<name>/blobs")
@validated(query=BlobListQuery)
def list_blobs(sub: str, rg: str, ws: str, name: str, query: BlobListQuery):
    where = service.container(workspace_body(sub, rg, ws), name)
    return jsonify({"value": service.list_blobs(cloud().store.read(), where, query.prefix or "")})


@blueprint.get(DATASTORES + "/<name>/blobs/<path:relpath>")
@validated()
def download_blob(sub: str, rg: str, ws: str, name: str, relpath: str):
    where = service.container(workspace_body(sub, rg, ws), name)
    entry = service.blob(cloud().store.read(), where, relpath)
    response = send_file(cloud().blobs.path_for(entry["sha256"]), mimetype="application/octet-stream",
                         conditional=False, etag=entry["sha256"], max_age=None)
    response.headers["x-ms-content-sha256"] = entry["sha256"]
    return response
