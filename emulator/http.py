"""Request helpers shared by every resource's api module (the only place that knows Flask's request)."""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from .cloud import Cloud
from .errors import BadRequest

WORKSPACE_PREFIX = ("/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices"
                    "/workspaces/<ws>")


def cloud() -> Cloud:
    return current_app.config["CLOUD"]


def body_json(required: bool = True) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    raw = request.get_data(cache=True)
    if not raw:
        if required:
            raise BadRequest("The request body is empty; a JSON object was expected.")
        return {}
    import json

    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise BadRequest("The request body must be a JSON object.")
    return parsed


def workspace_scope(sub: str, rg: str, ws: str) -> str:
    """The workspace id for a request, after checking that the workspace exists (404 otherwise)."""
    from .resources.workspaces import service as workspaces

    ws_id = workspaces.workspace_id(sub, rg, ws)
    body = workspaces.get(cloud().store.read(), ws_id)
    return body["id"]
