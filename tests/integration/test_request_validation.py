"""Every request is checked at the door against its declared schema (emulator/validation.py): a bad type,
range or name is a 400 in Azure's envelope that names the field, and nothing is written.

Each case below was accepted (or answered 500 after a write) before the schemas existed."""
from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from emulator.app import create_app
from emulator.validation import PATH_SEGMENTS

SUB = "00000000-0000-0000-0000-00000000c0de"
RG = "rg-validation"


class Api:
    """Raw control-plane calls for one fresh workspace."""

    def __init__(self, emulator: Any) -> None:
        self.url = emulator.url
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + emulator.settings.token_path.read_text().strip()
        self.ws = f"ws-{uuid.uuid4().hex[:10]}"
        self.prefix = (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices"
                       f"/workspaces/{self.ws}")
        assert self.call("PUT", self.prefix, json={}).status_code == 201

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=30, **kwargs)

    def bad(self, method: str, path: str, field: str, **kwargs: Any) -> dict:
        """The call's 400 body, after checking it is Azure's envelope and names ``field``."""
        response = self.call(method, path, **kwargs)
        assert response.status_code == 400, (response.status_code, response.text)
        error = response.json()["error"]
        assert error["statusCode"] == 400 and error["code"] and field in error["message"], error
        return error

    def value(self, path: str) -> list:
        response = self.call("GET", self.prefix + path)
        assert response.status_code == 200, response.text
        return response.json()["value"]

    def compute(self, name: str = "aks-ok") -> str:
        body = {"location": "eastus", "properties": {"computeType": "AKS", "properties": {
            "agentCount": 3, "agentVmSize": "Standard_D3_v2"}}}
        assert self.call("PUT", f"{self.prefix}/computes/{name}", json=body).status_code == 201
        got = self.call("GET", f"{self.prefix}/computes/{name}").json()
        assert got["properties"]["provisioningState"] == "Succeeded", got
        return name

    def service_payload(self, name: str, **extra: Any) -> dict:
        return {"name": name, "computeType": "ACI", "environmentImageRequest": {
            "driverProgram": "score.py", "assets": [{"id": "0" * 32}], "modelIds": []}, **extra}


@pytest.fixture
def api(azureml_emulator) -> Api:
    return Api(azureml_emulator)


# --- computes ---------------------------------------------------------------------------------------

def test_agent_count_beyond_an_aks_node_pool_is_refused_before_anything_is_stored(api: Api) -> None:
    body = {"properties": {"computeType": "AKS", "properties": {"agentCount": 1_000_000}}}
    error = api.bad("PUT", f"{api.prefix}/computes/aks-huge", "agentCount", json=body)
    assert "less than or equal to 1000" in error["message"]
    assert error["details"][0]["target"] == "properties.properties.agentCount"
    assert api.value("/computes") == []


@pytest.mark.parametrize("aks, field", [
    ({"agentCount": "3"}, "agentCount"),
    ({"agentCount": True}, "agentCount"),
    ({"agentCount": 2.5}, "agentCount"),
    ({"agentVmSize": 7}, "agentVmSize"),
    ({"clusterPurpose": "Cheap"}, "clusterPurpose"),
])
def test_compute_fields_of_the_wrong_type_are_400(api: Api, aks: dict, field: str) -> None:
    body = {"properties": {"computeType": "AKS", "properties": aks}}
    api.bad("PUT", f"{api.prefix}/computes/aks-typed", field, json=body)
    assert api.value("/computes") == []


def test_compute_properties_that_are_not_an_object_are_400_not_500(api: Api) -> None:
    api.bad("PUT", f"{api.prefix}/computes/aks-shape", "properties", json={"properties": "AKS"})
    api.bad("PUT", f"{api.prefix}/computes/aks-shape", "properties",
            json={"properties": {"computeType": "AKS", "properties": ["agentCount", 3]}})
    assert api.value("/computes") == []


def test_json_nested_too_deep_is_400_not_500(api: Api) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    api.bad("PUT", f"{api.prefix}/computes/aks-deep", "not valid JSON", data=deep,
            headers={"Content-Type": "application/json"})
    assert api.value("/computes") == []


def test_a_compute_name_ending_in_a_newline_is_refused(api: Api) -> None:
    body = {"properties": {"computeType": "AKS", "properties": {"agentCount": 1, "clusterPurpose": "DevTest"}}}
    response = api.call("PUT", f"{api.prefix}/computes/aks-nl%0A", json=body)
    assert response.status_code == 400, response.text
    assert api.value("/computes") == []


# --- services -----------------------------------------------------------------------------------------

def test_negative_replicas_are_refused_at_create(api: Api) -> None:
    compute = api.compute()
    payload = api.service_payload("svc-neg", computeType="AKS", computeName=compute, numReplicas=-5)
    error = api.bad("POST", f"{api.prefix}/services", "numReplicas", json=payload)
    assert "greater than or equal to 1" in error["message"]
    assert api.value("/services") == []


@pytest.mark.parametrize("extra, field", [
    ({"containerResourceRequirements": {"cpu": "lots"}}, "containerResourceRequirements.cpu"),
    ({"containerResourceRequirements": {"memoryInGB": -1}}, "containerResourceRequirements.memoryInGB"),
    ({"containerResourceRequirements": {"gpu": 1.5}}, "containerResourceRequirements.gpu"),
    ({"autoScaler": {"autoscaleEnabled": True, "minReplicas": "2"}}, "autoScaler.minReplicas"),
    ({"autoScaler": {"minReplicas": 5, "maxReplicas": 2}}, "autoScaler"),
    ({"autoScaler": {"targetUtilization": 250}}, "autoScaler.targetUtilization"),
    ({"autoScaler": "on"}, "autoScaler"),
    ({"scoringTimeoutMs": 0}, "scoringTimeoutMs"),
    ({"livenessProbeRequirements": {"periodSeconds": -1}}, "livenessProbeRequirements.periodSeconds"),
    ({"authEnabled": "yes"}, "authEnabled"),
    ({"kvTags": {"k": {"nested": 1}}}, "kvTags.k"),
    ({"namespace": "Not_A_Namespace"}, "namespace"),
    ({"keys": {"primaryKey": 123}}, "keys.primaryKey"),
    ({"environmentImageRequest": {"driverProgram": 5, "assets": [{"id": "a"}]}},
     "environmentImageRequest.driverProgram"),
    ({"environmentImageRequest": {"driverProgram": "s.py", "assets": "a"}}, "environmentImageRequest.assets"),
    ({"environmentImageRequest": {"environment": {"python": "3.10"}}}, "environmentImageRequest.environment.python"),
    ({"environmentImageRequest": {"environment": {"environmentVariables": {"A": ["1"]}}}},
     "environmentImageRequest.environment.environmentVariables.A"),
    ({"port": 70000}, "port"),
])
def test_service_fields_of_the_wrong_type_or_range_are_400(api: Api, extra: dict, field: str) -> None:
    payload = api.service_payload("svc-typed")
    payload.update(extra)
    if "environmentImageRequest" in extra:
        payload["environmentImageRequest"] = {**api.service_payload("x")["environmentImageRequest"],
                                              **extra["environmentImageRequest"]}
    api.bad("POST", f"{api.prefix}/services", field, json=payload)
    assert api.value("/services") == []


@pytest.mark.parametrize("name", ["svc-nl\n", "svc\x00nul", "Upper", "s" * 10_000, 123])
def test_bad_service_names_are_refused_before_the_write(api: Api, name: Any) -> None:
    response = api.call("POST", f"{api.prefix}/services", json=api.service_payload(name))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "WebserviceValidation"
    assert api.value("/services") == []


def test_patch_values_are_checked_as_at_create(api: Api) -> None:
    assert api.call("POST", f"{api.prefix}/services", json=api.service_payload("svc-patch")).status_code == 202
    before = api.call("GET", f"{api.prefix}/services/svc-patch").json()
    for operation, field in (({"op": "replace", "path": "/numReplicas", "value": -5}, "/numReplicas"),
                             ({"op": "replace", "path": "/autoScaler/minReplicas", "value": "3"}, "minReplicas"),
                             ({"op": "replace", "path": "/containerResourceRequirements/cpu", "value": "x"}, "cpu"),
                             ({"op": "add", "path": "/properties/k", "value": {"deep": 1}}, "/properties/k"),
                             ({"op": "move", "path": "/numReplicas"}, "op")):
        api.bad("PATCH", f"{api.prefix}/services/svc-patch", field, json=[operation],
                headers={"Content-Type": "application/json-patch+json"})
    after = api.call("GET", f"{api.prefix}/services/svc-patch").json()
    assert {k: after[k] for k in ("numReplicas", "autoScaler", "containerResourceRequirements", "properties")} == \
        {k: before[k] for k in ("numReplicas", "autoScaler", "containerResourceRequirements", "properties")}


@pytest.mark.parametrize("key_value", [123, "", "has space", "k" * 300, ["a"]])
def test_a_regenerated_key_must_be_a_usable_string(api: Api, key_value: Any) -> None:
    assert api.call("POST", f"{api.prefix}/services", json=api.service_payload("svc-keys")).status_code == 202
    keys = api.call("POST", f"{api.prefix}/services/svc-keys/listkeys").json()
    api.bad("POST", f"{api.prefix}/services/svc-keys/regenerateKeys", "keyValue",
            json={"keyType": "Primary", "keyValue": key_value})
    assert api.call("POST", f"{api.prefix}/services/svc-keys/listkeys").json() == keys


def test_a_given_key_value_is_kept(api: Api) -> None:
    assert api.call("POST", f"{api.prefix}/services", json=api.service_payload("svc-keep")).status_code == 202
    response = api.call("POST", f"{api.prefix}/services/svc-keep/regenerateKeys",
                        json={"keyType": "Secondary", "keyValue": "my-own-key_1"})
    assert response.status_code == 202, response.text
    assert api.call("POST", f"{api.prefix}/services/svc-keep/listkeys").json()["secondaryKey"] == "my-own-key_1"


# --- queries ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, field", [
    ("/models?count=-1", "count"),
    ("/models?count=0", "count"),
    ("/models?count=many", "count"),
    ("/services/any/logs?tail=-3", "tail"),
    ("/services/any/logs?tail=x", "tail"),
    ("/operations/any?waitSeconds=-1", "waitSeconds"),
    ("/operations/any?waitSeconds=nan", "waitSeconds"),
    ("/services?overwrite=maybe", ""),  # unknown list parameters are ignored...
])
def test_query_parameters_are_range_checked(api: Api, path: str, field: str) -> None:
    if not field:  # ...as Azure ignores them
        assert api.call("GET", api.prefix + path).status_code == 200
        return
    api.bad("GET", api.prefix + path, field)


def test_create_overwrite_must_be_a_boolean(api: Api) -> None:
    api.bad("POST", f"{api.prefix}/services?overwrite=perhaps", "overwrite", json=api.service_payload("svc-ow"))
    assert api.value("/services") == []


def test_compute_delete_action_is_declared(api: Api) -> None:
    api.bad("DELETE", f"{api.prefix}/computes/aks-x?underlyingResourceAction=explode", "underlyingResourceAction")


# --- path segments ------------------------------------------------------------------------------------

ARM = "/providers/Microsoft.MachineLearningServices/workspaces"


@pytest.mark.parametrize("sub, rg, field", [
    ("sub%00x", "rg", "subscriptionId"),
    ("%2E%2E", "rg", "subscriptionId"),  # encoded, or the client folds the dot segment away
    ("s" * 10_000, "rg", "subscriptionId"),
    ("sub", "rg%00x", "resourceGroupName"),
    ("sub", "%2E%2E", "resourceGroupName"),
    ("sub", "rg" * 5_000, "resourceGroupName"),
    ("sub", "rg%0A", "resourceGroupName"),
])
def test_subscription_and_resource_group_are_checked(api: Api, sub: str, rg: str, field: str) -> None:
    api.bad("PUT", f"/subscriptions/{sub}/resourceGroups/{rg}{ARM}/ws-path", field, json={})
    api.bad("GET", f"/subscriptions/{sub}/resourceGroups/{rg}{ARM}", field)
    listed = api.call("GET", ARM).json()["value"]
    assert not [w for w in listed if "\x00" in w["id"] or len(w["id"]) > 5000 or "/.." in w["id"]]


@pytest.mark.parametrize("ws", ["ws-nl%0A", "w", "w" * 40, "ws%00x", "wé-x"])
def test_workspace_names_are_checked(api: Api, ws: str) -> None:
    response = api.call("PUT", f"/subscriptions/{SUB}/resourceGroups/{RG}{ARM}/{ws}", json={})
    assert response.status_code == 400 and response.json()["error"]["code"] == "UserError", response.text
    assert all(w["name"] != ws for w in api.call("GET", ARM).json()["value"])


@pytest.mark.parametrize("name", ["env%00x", "%2E%2E", "%2E", "e" * 10_000, "env%0A", "a%5Cb"])
def test_environment_names_are_checked(api: Api, name: str) -> None:
    api.bad("PUT", f"{api.prefix}/environments/{name}", "name", json={"python": {}})
    assert api.value("/environments") == []


@pytest.mark.parametrize("definition, field", [
    ({"python": {"condaDependencies": {"dependencies": [3.10]}}}, "python.condaDependencies.dependencies.0"),
    ({"environmentVariables": "A=1"}, "environmentVariables"),
    ({"docker": {"baseImage": 5}}, "docker.baseImage"),
])
def test_environment_definitions_are_typed(api: Api, definition: dict, field: str) -> None:
    api.bad("PUT", f"{api.prefix}/environments/env-typed", field, json=definition)
    assert api.value("/environments") == []


def test_environment_labels_are_strings(api: Api) -> None:
    assert api.call("PUT", f"{api.prefix}/environments/env-ok", json={"name": "env-ok"}).status_code == 200
    api.bad("PUT", f"{api.prefix}/environments/env-ok/versions/1/metadata", "Labels", json={"Labels": [1]})
    api.bad("PUT", f"{api.prefix}/environments/env-ok/versions/1/metadata", "Labels", json={"Labels": "prod"})
    assert api.call("GET", f"{api.prefix}/environments/env-ok").json().get("labels") in (None, [])


def test_model_metadata_is_checked_before_the_files_are_stored(api: Api) -> None:
    files = {"metadata": (None, '{"name": "m-ok", "kvTags": {"k": ["not", "a", "string"]}}'),
             "file": ("model.bin", b"x")}
    api.bad("POST", f"{api.prefix}/models", "kvTags", files=files)
    files["metadata"] = (None, '{"name": "m-ok\\n"}')
    assert api.call("POST", f"{api.prefix}/models", files=files).json()["error"]["code"] == "ModelValidation"
    assert api.value("/models") == []


@pytest.mark.parametrize("metadata, field", [
    ({"sourceDirectory": 5, "entryScript": "score.py"}, "sourceDirectory"),
    ({"sourceDirectory": "src", "entryScript": ["score.py"]}, "entryScript"),
    ({"sourceDirectory": "src\x00x", "entryScript": "score.py"}, "sourceDirectory"),
    ({"sourceDirectory": None, "entryScript": "s" * 5000}, "entryScript"),
])
def test_asset_metadata_is_checked_before_the_files_are_stored(api: Api, azureml_emulator, metadata: dict,
                                                               field: str) -> None:
    import hashlib
    import json

    content = uuid.uuid4().hex.encode()
    files = {"metadata": (None, json.dumps(metadata)), "file": ("score.py", content)}
    error = api.bad("POST", f"{api.prefix}/assets", field, files=files)
    assert error["details"][0]["target"] == field
    digest = hashlib.sha256(content).hexdigest()
    assert not (Path(azureml_emulator.home) / "blobs" / digest[:2] / digest).exists()


# --- the declarations themselves ----------------------------------------------------------------------

def test_every_route_declares_its_schemas_and_is_published(settings) -> None:
    app = create_app(SimpleNamespace(settings=settings))  # type: ignore[arg-type]  # routes only, no cloud
    from emulator import openapi

    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    assert len(rules) > 30
    for rule in rules:
        assert openapi.route_spec(app, rule.endpoint) is not None, f"{rule} is not @validated"
        assert set(rule.arguments) <= set(PATH_SEGMENTS), rule
    with app.app_context():
        document = openapi.build(app)
    operations = sum(len(methods) for methods in document["paths"].values())
    assert operations == sum(len(rule.methods - {"HEAD", "OPTIONS"}) for rule in rules)
    create = document["paths"][
        "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/services"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ServiceRequest"}  # a service or an AKS endpoint
    members = document["components"]["schemas"]["ServiceRequest"]["oneOf"]
    assert {"$ref": "#/components/schemas/ServiceCreate"} in members
    assert {"$ref": "#/components/schemas/EndpointCreate"} in members
    replicas = document["components"]["schemas"]["ServiceCreate"]["properties"]["numReplicas"]
    assert {"type": "integer", "minimum": 1, "maximum": 1000} in replicas["anyOf"]


def test_the_openapi_document_is_served_with_the_token(api: Api) -> None:
    assert requests.get(api.url + "/_emulator/openapi.json", timeout=10).status_code == 401
    document = api.call("GET", "/_emulator/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert any(path.endswith("/regenerateKeys") for path in document["paths"])


@pytest.mark.parametrize("version", [2**63, 10**23])
def test_an_integer_past_what_the_store_holds_is_400_not_500(api: Api, version: int) -> None:
    """Found by the OpenAPI fuzz: a dataset version past SQLite's 64-bit integers raised OverflowError (500)."""
    api.bad("GET", f"{api.prefix}/datasets/some-data?version={version}", "version")
