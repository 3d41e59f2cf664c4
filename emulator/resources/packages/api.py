"""REST routes of model packages and profiles: start one (an operation), read its log, its build context,
its image, its result. The work is emulator/packaging's."""
from __future__ import annotations

import tempfile

from flask import Blueprint, Response, jsonify, send_file

from ...http import WORKSPACE_PREFIX, cloud, validated, workspace_scope
from .schema import LogQuery, PackageCreate, ProfileCreate, ProfileQuery

blueprint = Blueprint("packages", __name__)


def _accepted(sub: str, rg: str, ws: str, op_id: str) -> Response:
    """202 with the operation's id and the Operation-Location the SDK polls."""
    response = jsonify({"id": op_id, "operationId": op_id})
    response.status_code = 202
    response.headers["Operation-Location"] = (
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
        f"/operations/{op_id}")
    return response


@blueprint.post(WORKSPACE_PREFIX + "/packages")
@validated(body=PackageCreate)
def create_package(sub: str, rg: str, ws: str, payload: dict):
    return _accepted(sub, rg, ws, cloud().packages.start(workspace_scope(sub, rg, ws), payload))


@blueprint.get(WORKSPACE_PREFIX + "/packages/<op_id>")
@validated()
def get_package(sub: str, rg: str, ws: str, op_id: str):
    return jsonify(cloud().packages.state(workspace_scope(sub, rg, ws), op_id))


@blueprint.get(WORKSPACE_PREFIX + "/packages/<op_id>/log")
@validated(query=LogQuery)
def get_package_log(sub: str, rg: str, ws: str, op_id: str, query: LogQuery):
    data = cloud().packages.log(workspace_scope(sub, rg, ws), op_id, query.offset)
    return Response(data, mimetype="text/plain")


@blueprint.get(WORKSPACE_PREFIX + "/packages/<op_id>/context")
@validated()
def get_package_context(sub: str, rg: str, ws: str, op_id: str):
    spool = tempfile.TemporaryFile()
    cloud().packages.write_context_archive(workspace_scope(sub, rg, ws), op_id, spool)
    spool.seek(0)
    return send_file(spool, mimetype="application/x-tar", download_name=f"{op_id}.tar", conditional=False)


@blueprint.post(WORKSPACE_PREFIX + "/packages/<op_id>/pull")
@validated()
def pull_package(sub: str, rg: str, ws: str, op_id: str):
    return jsonify({"image": cloud().packages.check_image(workspace_scope(sub, rg, ws), op_id)})


@blueprint.post(WORKSPACE_PREFIX + "/profiles")
@validated(body=ProfileCreate)
def create_profile(sub: str, rg: str, ws: str, payload: dict):
    return _accepted(sub, rg, ws, cloud().profiles.start(workspace_scope(sub, rg, ws), payload))


@blueprint.get(WORKSPACE_PREFIX + "/profiles/<op_id>")
@validated()
def get_profile(sub: str, rg: str, ws: str, op_id: str):
    return jsonify(cloud().profiles.state(workspace_scope(sub, rg, ws), op_id))


@blueprint.get(WORKSPACE_PREFIX + "/profiles")
@validated(query=ProfileQuery)
def find_profile(sub: str, rg: str, ws: str, query: ProfileQuery):
    """The SDK's lookup by name: ``{"value": [<the latest profile of that name>]}``."""
    c = cloud()
    return jsonify({"value": [c.profiles.find(c.store.read(), workspace_scope(sub, rg, ws), query.name)]})
