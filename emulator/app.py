"""The Flask control plane: blueprints, the token check, and the one place errors become JSON."""
from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from fake_azure import __version__

from . import openapi
from .auth import restore_token, token_matches
from .cloud import Cloud
from .error_catalog import http_refusal
from .errors import EmulatorError, Unauthorized
from .http import validated


def create_app(cloud: Cloud) -> Flask:
    app = Flask("fake_azure_emulator")
    # Bodies keep the order they are built in: the SDK prints error JSON as it arrives, and Azure's
    # comes as code, statusCode, message, details (Flask sorts keys by default).
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider has it; the base type does not
    app.config["CLOUD"] = cloud
    # Upload bodies (model files) can be large; the web server enforces the same limit before the app.
    app.config["MAX_CONTENT_LENGTH"] = cloud.settings.max_body_bytes

    from .arm.discovery_api import CONTROL_PATHS
    from .arm.discovery_api import control_blueprint as discovery
    from .resources.admin.api import blueprint as admin
    from .resources.assets.api import blueprint as assets
    from .resources.computes.api import blueprint as computes
    from .resources.datasets.api import blueprint as datasets
    from .resources.datastores.api import blueprint as datastores
    from .resources.environments.api import blueprint as environments
    from .resources.models.api import blueprint as models
    from .resources.operations.api import blueprint as operations
    from .resources.packages.api import blueprint as packages
    from .resources.services.api import blueprint as services
    from .resources.workspaces.api import blueprint as workspaces

    for blueprint in (workspaces, models, environments, computes, operations, assets, services, packages, datastores,
                      datasets, admin, discovery):
        app.register_blueprint(blueprint)

    @app.before_request
    def require_token():
        if request.path == "/_emulator/health" or request.path in CONTROL_PATHS:  # public: the cloud's metadata
            return None
        if not token_matches(cloud.token, request.headers.get("Authorization")):
            # A client that read an emptied token file is locked out until the file holds ours again.
            restore_token(cloud.settings.token_path, cloud.token)
            raise Unauthorized("Missing or invalid control-plane token. Read it from the 0600 file "
                               "FAKE_AZURE_HOME/token.")
        return None

    @app.errorhandler(EmulatorError)
    def render_emulator_error(exc: EmulatorError):
        return jsonify(exc.to_body()), exc.status_code

    @app.errorhandler(HTTPException)
    def render_http_error(exc: HTTPException):
        return jsonify(http_refusal(exc.code or 500, exc.description or "", "HttpError").envelope()), exc.code

    @app.get("/_emulator/health")
    @validated()
    def health():
        return jsonify({"status": "ok", "version": __version__})

    @app.get("/_emulator/openapi.json")
    @validated()
    def openapi_document():
        if "OPENAPI" not in app.config:  # built once: the routes do not change while the app runs
            app.config["OPENAPI"] = openapi.build(app)
        return jsonify(app.config["OPENAPI"])

    return app
