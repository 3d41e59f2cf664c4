"""Cloud discovery for the SDK v2 client: the ARM cloud-metadata document ``ARM_CLOUD_METADATA_URL`` names,
and a managed-identity token endpoint (``IDENTITY_ENDPOINT``) so ``DefaultAzureCredential()`` works as is.

Neither carries the control-plane token (the client has none yet): the metadata is public, and a token is
handed to whoever shows the home's secret in ``X-IDENTITY-HEADER`` (``IDENTITY_HEADER``, set by activate())."""
from __future__ import annotations

import hmac
import time

from flask import Blueprint, jsonify, request

from ..errors import Unauthorized
from ..http import cloud, validated
from .schema import MetadataQuery, TokenQuery
from .storage import STORAGE_SUFFIX

CLOUD_NAME = "FakeAzureLocal"
TOKEN_LIFETIME_S = 24 * 3600
# Routes that answer without the control-plane token (emulator/app.py's check skips them).
PUBLIC_PATHS = ("/metadata/endpoints", "/msi/token")
blueprint = Blueprint("arm_discovery", __name__)


@blueprint.get("/metadata/endpoints")
@validated(query=MetadataQuery)
def cloud_metadata(query: MetadataQuery):
    # url_root keeps the listener's /strict/ prefix: the client picks the cloud whose resourceManager is a
    # part of the metadata URL, then sends every ARM call there.
    root = request.url_root
    port = request.host.rsplit(":", 1)[1] if ":" in request.host else "443"
    return jsonify([{
        "name": CLOUD_NAME, "portal": root, "resourceManager": root, "gallery": root, "graph": root,
        "authentication": {"loginEndpoint": root, "audiences": [root], "tenant": "common",
                           "identityProvider": "AAD"},
        "suffixes": {"storage": f"{STORAGE_SUFFIX}:{port}", "acrLoginServer": "azurecr.localhost",
                     "keyVaultDns": "vault.localhost"},
    }])


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
