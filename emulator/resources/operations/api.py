"""Polling long-running operations (the URLs handed out in Azure-AsyncOperation / Operation-Location)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ...errors import BadRequest
from ...http import WORKSPACE_PREFIX, cloud, workspace_scope

blueprint = Blueprint("operations", __name__)


@blueprint.get(WORKSPACE_PREFIX + "/operations/<op_id>")
def get_operation(sub: str, rg: str, ws: str, op_id: str):
    c = cloud()
    ws_id = workspace_scope(sub, rg, ws)
    try:
        wait_seconds = float(request.args.get("waitSeconds", "0"))
    except ValueError:
        raise BadRequest("waitSeconds must be a number of seconds.") from None
    return jsonify(c.operations.poll(ws_id, op_id, wait_seconds))
