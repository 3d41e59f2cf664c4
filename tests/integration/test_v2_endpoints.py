"""The real SDK v2 client (azure-ai-ml 1.35), unchanged, against the local cloud's online-endpoint routes:
create/update as a long-running operation, get/list/delete, keys and aml tokens, and Azure's traffic rules."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.ai.ml.entities import ManagedOnlineEndpoint
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator.arm import endpoints
from emulator.errors import BadRequest
from emulator.tls_authority import trust_bundle_path

WORKSPACE = "subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws-lro"


def _arm(home: Path) -> tuple[str, dict[str, Any]]:
    """The listener's URL and what every raw request needs (the CA bundle, the managed-identity token)."""
    url = json.loads((home / "daemon.json").read_text())["armUrl"]
    bundle = str(trust_bundle_path(home))
    token = requests.get(url + "msi/token", params={"resource": url}, verify=bundle, timeout=10,
                         headers={"X-IDENTITY-HEADER": (home / "token").read_text().strip()}).json()["access_token"]
    return url, {"verify": bundle, "timeout": 10, "headers": {"Authorization": f"Bearer {token}"}}


def test_endpoint_lifecycle_with_key_auth(ml_client: Any) -> None:
    started = time.monotonic()
    created = ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="digits", auth_mode="key", description="first")).result()
    # A generous functional bound: the poll interval is the local cloud's, not the client's 30 s default.
    assert time.monotonic() - started < 10
    assert created.provisioning_state == "Succeeded"
    assert created.auth_mode == "key"
    assert created.scoring_uri.startswith("https://") and created.scoring_uri.endswith("/onlineEndpoints/digits/score")
    assert created.openapi_uri.endswith("/swagger.json")

    updated = ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="digits", auth_mode="key", description="second")).result()
    assert updated.description == "second" and updated.scoring_uri == created.scoring_uri
    assert [e.name for e in ml_client.online_endpoints.list()] == ["digits"]
    assert ml_client.online_endpoints.get("digits").traffic == {}

    keys = ml_client.online_endpoints.get_keys("digits")
    assert keys.primary_key and keys.secondary_key and keys.primary_key != keys.secondary_key
    ml_client.online_endpoints.begin_regenerate_keys("digits", key_type="secondary").result()
    regenerated = ml_client.online_endpoints.get_keys("digits")
    assert regenerated.primary_key == keys.primary_key and regenerated.secondary_key != keys.secondary_key

    ml_client.online_endpoints.begin_delete("digits").result()
    with pytest.raises(ResourceNotFoundError):
        ml_client.online_endpoints.get("digits")
    assert list(ml_client.online_endpoints.list()) == []


def test_aml_token_endpoint_gives_tokens_not_keys(ml_client: Any) -> None:
    ml_client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="tok-ep", auth_mode="aml_token")).result()
    token = ml_client.online_endpoints.get_keys("tok-ep")
    assert token.access_token and token.expiry_time_utc > time.time() > token.refresh_after_time_utc - 7 * 3600


def test_unknown_endpoint_is_resource_not_found(ml_client: Any) -> None:
    with pytest.raises(ResourceNotFoundError, match="Endpoint nowhere not found"):
        ml_client.online_endpoints.get("nowhere")
    with pytest.raises(ResourceNotFoundError):
        ml_client.online_endpoints.begin_delete("nowhere").result()


def test_traffic_to_a_missing_deployment_is_refused(ml_client: Any) -> None:
    endpoint = ManagedOnlineEndpoint(name="traffic-ep", auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    endpoint.traffic = {"blue": 100}
    with pytest.raises(HttpResponseError, match="blue") as refused:
        ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    assert refused.value.status_code == 400
    assert ml_client.online_endpoints.get("traffic-ep").traffic == {}


def test_a_bad_body_is_refused_with_azures_envelope(ml_client: Any) -> None:
    # The client's own generated operation, with an auth mode Azure does not have.
    with pytest.raises(HttpResponseError) as refused:
        ml_client.online_endpoints._online_operation.begin_create_or_update(
            resource_group_name=ml_client.resource_group_name, workspace_name=ml_client.workspace_name,
            endpoint_name="bad-body", body={"location": "eastus", "properties": {"authMode": "Password"}})
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == "BadRequest"
    assert "authMode" in refused.value.error.message
    with pytest.raises(ResourceNotFoundError):
        ml_client.online_endpoints.get("bad-body")  # nothing was written


@pytest.mark.parametrize("traffic, mirror, reason", [
    ({"blue": 60, "green": 30}, {}, "add up to 0 or 100; they add up to 90"),
    ({"blue": 100}, {"green": 60}, "at most 50%"),
    ({"blue": 50, "green": 50}, {"blue": 10}, "already receives live traffic"),
    ({"blue": 100}, {"green": 10, "red": 10}, "only one deployment"),
    ({"BLUE": 100, "gray": 0}, {}, "gray"),
])
def test_traffic_rules(traffic: dict, mirror: dict, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason):
        endpoints.check_traffic(traffic, mirror, ["blue", "green", "red"], "ep")


def test_traffic_that_keeps_the_rules_passes() -> None:
    endpoints.check_traffic({"BLUE": 70, "green": 30}, {"red": 50}, ["blue", "green", "red"], "ep")
    endpoints.check_traffic({}, {}, [], "ep")


def test_create_answers_201_with_an_async_operation_and_delete_202_with_a_location(emulator_home: Path) -> None:
    url, http = _arm(emulator_home)
    endpoint = url + WORKSPACE + "/onlineEndpoints/lro-ep?api-version=2022-02-01-preview"
    body = {"location": "East US", "properties": {"authMode": "Key"}}
    created = requests.put(endpoint, json=body, **http)
    assert created.status_code == 201 and created.json()["properties"]["provisioningState"] == "Creating"
    status_url = created.headers["Azure-AsyncOperation"]
    assert "/locations/eastus/mfeOperationsStatus/" in status_url and int(created.headers["x-ms-retry-after-ms"]) > 0
    status = requests.get(status_url, **http)
    assert status.json()["status"] == "Succeeded"
    # The client's next poll waits what this answer says, else its own 5 s (a deployment's polls are several).
    assert 0 < int(status.headers["x-ms-retry-after-ms"]) < 1000
    assert requests.get(endpoint, **http).json()["properties"]["provisioningState"] == "Succeeded"

    updated = requests.put(endpoint, json=body, **http)
    assert updated.status_code == 200 and updated.json()["properties"]["provisioningState"] == "Updating"

    deleted = requests.delete(endpoint, **http)
    assert deleted.status_code == 202 and "Azure-AsyncOperation" not in deleted.headers
    assert "/mfeOperationResults/" in deleted.headers["Location"]
    assert requests.get(deleted.headers["Location"], **http).status_code == 200
    gone = requests.get(endpoint, **http)
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == "Endpoint lro-ep not found in workspace ws-lro."


def test_an_unknown_operation_is_azures_404(emulator_home: Path) -> None:
    url, http = _arm(emulator_home)
    missing = requests.get(url + "subscriptions/s/providers/Microsoft.MachineLearningServices/locations/eastus/"
                           "mfeOperationsStatus/00000000-0000-0000-0000-000000000000", **http)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    bad_region = requests.get(url + "subscriptions/s/providers/Microsoft.MachineLearningServices/locations/East%20US/"
                              "mfeOperationsStatus/00000000-0000-0000-0000-000000000000", **http)
    assert bad_region.status_code == 400 and "location" in bad_region.json()["error"]["message"]


def test_a_failed_operation_is_not_a_success_to_its_location_poller(emulator_home: Path) -> None:
    """The client's delete polls the Location URL until it is not 202 and takes any 2xx as done: a failed
    operation must answer its error there (it answered 200, so a failed delete looked like a success)."""
    url, http = _arm(emulator_home)
    endpoint = url + WORKSPACE + "/onlineEndpoints/failing-ep?api-version=2022-02-01-preview"
    assert requests.put(endpoint, json={"location": "eastus", "properties": {"authMode": "Key"}}, **http).ok
    deleted = requests.delete(endpoint, **http)
    op_id = deleted.headers["Location"].split("/mfeOperationResults/", 1)[1].split("?", 1)[0]
    with sqlite3.connect(emulator_home / "state.db") as conn:  # the operation as a failed one would be stored
        conn.execute("UPDATE arm_operations SET status = 'Failed', error = ? WHERE id = ?",
                     (json.dumps({"code": "ResourceNotReady", "message": "replicas would not stop"}), op_id))
    polled = requests.get(deleted.headers["Location"], **http)
    assert polled.status_code == 400
    assert polled.json()["error"] == {"code": "ResourceNotReady", "message": "replicas would not stop"}
    status = requests.get(deleted.headers["Location"].replace("mfeOperationResults", "mfeOperationsStatus"), **http)
    assert status.status_code == 200 and status.json()["status"] == "Failed"


def test_an_api_version_that_cannot_be_echoed_into_a_header_is_not_a_500(emulator_home: Path) -> None:
    """The operation URLs repeat the request's api-version: one holding a line break is not echoed (werkzeug
    refuses such a header, and the endpoint, already written, answered 500)."""
    url, http = _arm(emulator_home)
    endpoint = url + WORKSPACE + "/onlineEndpoints/crlf-ep"
    created = requests.put(endpoint, params={"api-version": "2023-04-01\r\nX-Injected: 1"},
                           json={"location": "eastus", "properties": {"authMode": "Key"}}, **http)
    assert created.status_code < 500, created.text
    assert "X-Injected" not in created.headers
    requests.delete(endpoint, params={"api-version": "2023-04-01-preview"}, **http)
