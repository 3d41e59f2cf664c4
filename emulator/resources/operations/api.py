"""Polling long-running operations (the URLs handed out in Azure-AsyncOperation / Operation-Location)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ...http import WORKSPACE_PREFIX, cloud, validated, workspace_scope
from .schema import PollQuery

blueprint = Blueprint("operations", __name__)


@blueprint.get(WORKSPACE_PREFIX + "/operations/<op_id>")
@validated(query=PollQuery)
def get_operation(sub: str, rg: str, ws: str, op_id: str, query: PollQuery):
    c = cloud()
    ws_id = workspace_scope(sub, rg, ws)
    return jsonify(c.operations.poll(ws_id, op_id, query.waitSeconds))
