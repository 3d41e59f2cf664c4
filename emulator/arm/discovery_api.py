"""Cloud discovery for the SDK v2 client: the ARM cloud-metadata document ``ARM_CLOUD_METADATA_URL`` names,
and a managed-identity token endpoint (``IDENTITY_ENDPOINT``) so ``DefaultAzureCredential()`` works as is.

Neither carries the control-plane token (the client has none yet): the metadata is public, and a token is
handed to whoever shows the home's secret in ``X-IDENTITY-HEADER`` (``IDENTITY_HEADER``, set by activate())."""
from __future__ import annotations

import hmac
import time
from typing import Any

from flask import Blueprint, jsonify, request

from ..errors import NotFound, Unauthorized
from ..http import cloud, validated
from .schema import MetadataQuery, TokenQuery
from .storage import STORAGE_SUFFIX

CLOUD_NAME = "FakeAzureLocal"
TOKEN_LIFETIME_S = 24 * 3600
# Routes that answer without the control-plane token (emulator/app.py's check skips them).
PUBLIC_PATHS = ("/metadata/endpoints", "/msi/token")
blueprint = Blueprint("arm_discovery", __name__)


def metadata_document(root: str, port: str) -> list[dict[str, Any]]:
    """The cloud whose ARM, portal and login endpoints are ``root`` (the HTTPS listener, with its ``/strict/``
    prefix for a strict client) and whose storage suffix names the listener's ``port``."""
    return [{
        "name": CLOUD_NAME, "portal": root, "resourceManager": root, "gallery": root, "graph": root,
        "authentication": {"loginEndpoint": root, "audiences": [root], "tenant": "common",
                           "identityProvider": "AAD"},
        "suffixes": {"storage": f"{STORAGE_SUFFIX}:{port}", "acrLoginServer": "azurecr.localhost",
                     "keyVaultDns": "vault.localhost"},
    }]


@blueprint.get("/metadata/endpoints")
@validated(query=MetadataQuery)
def cloud_metadata(query: MetadataQuery):
    # url_root keeps the listener's /strict/ prefix: the client picks the cloud whose resourceManager is a
    # part of the metadata URL, then sends every ARM call there.
    port = request.host.rsplit(":", 1)[1] if ":" in request.host else "443"
    return jsonify(metadata_document(request.url_root, port))


# The same document on the control plane (plain HTTP on loopback): azure-ai-ml fetches it several times for each
# MLClient it builds, each time on a new connection, and over TLS every fetch loaded the process's whole CA bundle
# (about 20 ms each). activate() names this URL and the cloud (AZUREML_CURRENT_CLOUD), so the client never has to
# match the metadata URL against the ARM root.
control_blueprint = Blueprint("control_discovery", __name__)
CONTROL_PATHS = ("/metadata/endpoints", "/strict/metadata/endpoints")


@control_blueprint.get("/metadata/endpoints")
@validated(query=MetadataQuery)
def control_cloud_metadata(query: MetadataQuery):
    return _from_control_plane("")


@control_blueprint.get("/strict/metadata/endpoints")
@validated(query=MetadataQuery)
def control_strict_cloud_metadata(query: MetadataQuery):
    return _from_control_plane("strict/")


def _from_control_plane(prefix: str):
    from .listener import LISTENER_NAME

    c = cloud()
    row = c.store.read().execute("SELECT port FROM listeners WHERE name = ?", (LISTENER_NAME,)).fetchone()
    if row is None:
        raise NotFound("The SDK v2 listener has not started.", code="NotFound")
    host = c.settings.host if ":" not in c.settings.host else f"[{c.settings.host}]"
    return jsonify(metadata_document(f"https://{host}:{row['port']}/{prefix}", str(row["port"])))


@blueprint.get("/msi/token")
@validated(query=TokenQuery)
def managed_identity_token(query: TokenQuery):
    secret = request.headers.get("X-IDENTITY-HEADER", "")
    token = cloud().token
    if not secret or not hmac.compare_digest(secret.encode(), token.encode()):
        raise Unauthorized("The X-IDENTITY-HEADER does not match this local cloud's IDENTITY_HEADER.")
    # The access token is the control-plane token: ARM calls carry it as their bearer.
    expires = int(time.time()) + TOKEN_LIFETIME_S
    return jsonify({"access_token": token, "expires_on": str(expires), "resource": query.resource,
                    "token_type": "Bearer", "client_id": "00000000-0000-0000-0000-000000000000"})
