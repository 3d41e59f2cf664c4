"""The SDK v2 front end's Flask app: ARM routes (emulator/arm/api.py) and cloud discovery
(emulator/arm/discovery_api.py), with the control-plane token check and Azure's error envelope."""
from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from ..auth import token_matches
from ..cloud import Cloud
from ..error_catalog import http_refusal
from ..errors import EmulatorError, Unauthorized


def create_arm_app(cloud: Cloud) -> Flask:
    from . import api, computes_api, deployments_api, discovery_api, endpoints_api, managed_clusters_api

    app = Flask("fake_azure_arm")
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it; the base type does not
    app.config["CLOUD"] = cloud
    app.register_blueprint(discovery_api.blueprint)
    api.register(app)
    app.register_blueprint(endpoints_api.blueprint)
    app.register_blueprint(deployments_api.blueprint)
    app.register_blueprint(computes_api.blueprint)
    app.register_blueprint(managed_clusters_api.blueprint)

    @app.before_request
    def require_token():
        if request.path in discovery_api.PUBLIC_PATHS:
            return None
        if not token_matches(cloud.token, request.headers.get("Authorization")):
            raise Unauthorized("Missing or invalid bearer token: get one from the local cloud's managed-identity "
                               "endpoint (IDENTITY_ENDPOINT, set by fake_azure.activate()).",
                               code="AuthenticationFailed")
        return None

    @app.errorhandler(EmulatorError)
    def render_emulator_error(exc: EmulatorError):
        return jsonify(exc.to_body()), exc.status_code

    @app.errorhandler(HTTPException)
    def render_http_error(exc: HTTPException):
        return jsonify(http_refusal(exc.code or 500, exc.description or "", "HttpError").envelope()), exc.code

    return app
