"""Request helpers shared by every resource's api module (the only place that knows Flask's request)."""
from __future__ import annotations

from typing import Any

from flask import current_app, request

from .cloud import Cloud
from .errors import BadRequest, PayloadTooLarge

# JSON bodies are small; only the multipart upload routes (models, assets) take Flask's large limit
# (Settings.max_body_bytes). A big JSON body would only cost the daemon memory and time to parse.
MAX_JSON_BYTES = 16 * 1024 * 1024

WORKSPACE_PREFIX = ("/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices"
                    "/workspaces/<ws>")


def cloud() -> Cloud:
    return current_app.config["CLOUD"]


def json_value(default: Any = None) -> Any:
    """The request's parsed JSON (``default`` when the body is empty); 400 if malformed, 413 if too large."""
    if (request.content_length or 0) > MAX_JSON_BYTES:  # refused before reading it
        raise _too_large(request.content_length or 0)
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:  # a chunked body has no Content-Length
        raise _too_large(len(raw))
    if not raw:
        return default
    import json

    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise BadRequest(f"The request body is not valid JSON: {exc}") from exc


def body_json(required: bool = True) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it (413 when it is too large)."""
    parsed = json_value()
    if parsed is None and not request.get_data(cache=True):
        if required:
            raise BadRequest("The request body is empty; a JSON object was expected.")
        return {}
    if not isinstance(parsed, dict):
        raise BadRequest("The request body must be a JSON object.")
    return parsed


def _too_large(size: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The JSON request body of {size} bytes exceeds the limit of {MAX_JSON_BYTES} bytes.")


def workspace_body(sub: str, rg: str, ws: str) -> dict[str, Any]:
    """The request's workspace (its ARM body); 404 when it does not exist."""
    from .resources.workspaces import service as workspaces

    return workspaces.get(cloud().store.read(), workspaces.workspace_id(sub, rg, ws))


def workspace_scope(sub: str, rg: str, ws: str) -> str:
    """The workspace id for a request, after checking that the workspace exists (404 otherwise)."""
    return workspace_body(sub, rg, ws)["id"]


def validated(*, body: type | None = None, patch=None, query: type | None = None, multipart: type | None = None,
              path: dict[str, Any] | None = None,
              body_optional: bool = False):
    """Check a route's path segments, query and body against its declared schemas before it runs.

    Every route wears this (tests/integration/test_request_validation.py checks it), and the OpenAPI
    document (emulator/openapi.py) is read off the same declarations. The view gets the checked JSON
    body as ``payload`` (a dict, or the list of a JSON-patch route) and the query model as ``query``."""
    import functools

    from .validation import RouteSpec, check_model, check_path, check_query

    spec = RouteSpec(body=body, patch=patch, query=query, multipart=multipart, body_optional=body_optional,
                     path=path or {})

    def wrap(view):
        @functools.wraps(view)
        def checked(**path: Any):
            check_path(path, spec)
            extra: dict[str, Any] = {}
            if spec.query is not None:
                extra["query"] = check_query(spec.query, request.args)
            if spec.body is not None:
                payload = body_json(required=not spec.body_optional)
                check_model(spec.body, payload)
                extra["payload"] = payload
            if spec.patch is not None:
                document = json_value()
                spec.patch(document)
                extra["payload"] = document
            return view(**path, **extra)

        checked.route_spec = spec
        return checked

    return wrap
