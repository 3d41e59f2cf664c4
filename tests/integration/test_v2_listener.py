"""The SDK v2 front end's HTTPS listener: TLS with the home's authority, public discovery routes, the token
check, and no single client able to stall it."""
from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import requests

from emulator.tls_authority import trust_bundle_path


def _arm_url(home: Path) -> str:
    return json.loads((home / "daemon.json").read_text())["armUrl"]


def test_a_client_that_never_starts_its_handshake_does_not_stall_the_listener(emulator_home: Path) -> None:
    url = _arm_url(emulator_home)
    parts = urlsplit(url)
    silent = socket.create_connection((parts.hostname, parts.port))  # connects, never sends a ClientHello
    try:
        response = requests.get(url + "metadata/endpoints?api-version=2019-05-01",
                                verify=str(trust_bundle_path(emulator_home)), timeout=10)
        assert response.status_code == 200
        assert response.json()[0]["resourceManager"] == url
    finally:
        silent.close()


def test_arm_routes_need_the_token_and_the_identity_endpoint_needs_the_header(emulator_home: Path) -> None:
    url = _arm_url(emulator_home)
    bundle = str(trust_bundle_path(emulator_home))
    workspace = url + "subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-x"
    refused = requests.get(workspace, verify=bundle, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "AuthenticationFailed"
    no_header = requests.get(url + "msi/token", params={"resource": url}, verify=bundle, timeout=10)
    assert no_header.status_code == 401
    token = (emulator_home / "token").read_text().strip()
    issued = requests.get(url + "msi/token", params={"resource": url}, headers={"X-IDENTITY-HEADER": token},
                          verify=bundle, timeout=10).json()
    allowed = requests.get(workspace, headers={"Authorization": f"Bearer {issued['access_token']}"}, verify=bundle,
                           timeout=10)
    assert allowed.status_code == 200 and allowed.json()["name"] == "ws-x"
