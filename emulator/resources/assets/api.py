"""REST route for uploading source assets (entry scripts, source directories)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ...http import WORKSPACE_PREFIX, cloud, validated, workspace_scope
from ...uploads import multipart_upload
from . import service
from .schema import AssetUpload

blueprint = Blueprint("assets", __name__)


@blueprint.post(WORKSPACE_PREFIX + "/assets")
@validated(multipart=AssetUpload)
def create_asset(sub: str, rg: str, ws: str):
    ws_id = workspace_scope(sub, rg, ws)
    with multipart_upload(cloud().blobs.root, "source files", AssetUpload) as (_, uploads):
        body = service.create(cloud().store, cloud().blobs, ws_id, uploads)
    return jsonify(body), 201
