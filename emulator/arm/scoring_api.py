"""The scoring front of SDK v2 online endpoints (``{endpoint}/score`` and ``/swagger.json`` on the HTTPS
listener): a Flask app of its own, reached by path, since its callers show an endpoint's key or token, not
the control plane's token, and its bodies are the model's, not a schema's. The decisions are
emulator/arm/scoring.py's."""
from __future__ import annotations

import re

import requests
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ..cloud import Cloud
from ..error_catalog import http_refusal
from ..errors import EmulatorError
from ..http import cloud, validated
from ..resources.workspaces import service as workspaces
from . import scoring
from .api import PREFIX
from .endpoint_schema import EndpointName

SCORE_PATH = re.compile(r"/onlineEndpoints/[^/]+/(score|swagger\.json)$")


def is_scoring_path(path: str) -> bool:
    return bool(SCORE_PATH.search(path))


def create_scoring_app(cloud_: Cloud) -> Flask:
    app = Flask("fake_azure_scoring")
    app.config["CLOUD"] = cloud_

    @app.route(PREFIX + "/onlineEndpoints/<name>/swagger.json", methods=["GET"])
    @validated(path={"name": EndpointName})
    def swagger(sub: str, rg: str, ws: str, name: str):
        """The chosen deployment's swagger document (its score.py's input/output schema), as ``openapi_uri``."""
        return _serve(sub, rg, ws, name, "swagger.json")

    @app.route(PREFIX + "/onlineEndpoints/<name>/score", methods=["POST", "GET"])
    @validated(path={"name": EndpointName})
    def score(sub: str, rg: str, ws: str, name: str):
        return _serve(sub, rg, ws, name, "score")

    def _serve(sub: str, rg: str, ws: str, name: str, upstream: str) -> Response:
        # No workspace made on first use here: an endpoint of an unknown workspace is just not found.
        ws_id = workspaces.workspace_id(sub, rg, ws)
        c = cloud()
        target, mirrored = scoring.route(c.store.read(), ws_id, name, request.headers.get("Authorization"),
                                         request.headers.get(scoring.DEPLOYMENT_HEADER), entra_token=c.token)
        if upstream != "score":
            target = scoring.Target(target.deployment, target.scoring_uri.rsplit("/", 1)[0] + "/" + upstream,
                                    target.key, target.timeout_s)
            mirrored = None
        headers = dict(request.headers)
        body = request.get_data()
        if mirrored is not None:
            scoring.mirror(mirrored, request.method, request.query_string.decode(), headers, body)
        try:
            status, content, returned = scoring.forward(target, request.method, request.query_string.decode(),
                                                        headers, body)
        except requests.RequestException:
            status, content, returned = 502, b"Bad gateway: the deployment could not be reached", {
                scoring.DEPLOYMENT_HEADER: target.deployment}
        return Response(content, status=status, headers=returned)

    @app.errorhandler(EmulatorError)
    def render_emulator_error(exc: EmulatorError):
        return jsonify(exc.to_body()), exc.status_code

    @app.errorhandler(HTTPException)
    def render_http_error(exc: HTTPException):
        return jsonify(http_refusal(exc.code or 500, exc.description or "", "HttpError").envelope()), exc.code

    return app
