"""SDK v2 managed online deployments with the real azure-ai-ml client (1.35), unchanged: a deployment is run by
the deployment core (replicas of its environment, code and model behind a gateway, supervised), its operation
followed until the replicas are ready, its logs read with get_logs, Azure's rules on instance types and on
deleting a deployment that takes traffic kept; and scoring: invoke and direct HTTPS calls with the key or token,
the traffic split and the azureml-model-deployment header."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
)
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from polling import poll

from emulator.resources.services import service as services

SCORE = '''
import json, os

def init():
    global WEIGHTS
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.json")) as f:
        WEIGHTS = json.load(f)
    print("init done for", os.environ.get("GREETING"), flush=True)

def run(raw_data):
    if os.environ.get("SEEN_DIR"):  # one line per request this deployment served
        with open(os.path.join(os.environ["SEEN_DIR"], os.environ["GREETING"]), "a") as seen:
            seen.write("x\\n")
    return {"scale": WEIGHTS["scale"], "doubled": [x * WEIGHTS["scale"] for x in json.loads(raw_data)["data"]],
            "greeting": os.environ.get("GREETING")}
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What a user's deploy script sits beside: a model folder, a source folder with score.py, a conda file."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text(json.dumps({"scale": 2}))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    # The test interpreter satisfies it (Python 3.11 and numpy): replicas start without a build.
    (tmp_path / "env.yml").write_text("name: digits\ndependencies:\n  - python=3.11\n  - pip:\n    - numpy\n")
    return tmp_path


def _deployment(project: Path, name: str = "blue", endpoint: str = "digits", **extra: Any) -> ManagedOnlineDeployment:
    settings: dict[str, Any] = {"instance_type": "Standard_DS3_v2", "instance_count": 1, **extra}
    return ManagedOnlineDeployment(
        name=name, endpoint_name=endpoint, model=Model(path=str(project / "model")),
        environment=Environment(conda_file=str(project / "env.yml"), image="mcr.microsoft.com/azureml/"
                                "openmpi4.1.0-ubuntu20.04"),
        code_configuration=CodeConfiguration(code=str(project / "src"), scoring_script="score.py"), **settings)


def _endpoint(ml_client: Any, name: str = "digits") -> ManagedOnlineEndpoint:
    endpoint = ManagedOnlineEndpoint(name=name, auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    return endpoint


def test_a_managed_deployment_runs_on_the_deployment_core(ml_client: Any, project: Path, emulator_home: Path) -> None:
    endpoint = _endpoint(ml_client)
    deployed = ml_client.online_deployments.begin_create_or_update(
        _deployment(project, instance_count=2, environment_variables={"GREETING": "hello"})).result()
    assert deployed.provisioning_state == "Succeeded"
    assert deployed.instance_type == "Standard_DS3_v2" and deployed.instance_count == 2
    assert deployed.environment_variables == {"GREETING": "hello"}
    assert deployed.request_settings.request_timeout_ms == 5000  # Azure's default, filled in by the service

    fetched = ml_client.online_deployments.get(name="blue", endpoint_name="digits")
    assert fetched.provisioning_state == "Succeeded" and fetched.model.endswith("/versions/1")
    assert [d.name for d in ml_client.online_deployments.list(endpoint_name="digits")] == ["blue"]
    assert ml_client.online_endpoints.get("digits").traffic == {"blue": 0}

    # Two replicas of the instance type, each with its vCPUs and memory, run by the core.
    with sqlite3.connect(emulator_home / "state.db") as conn:
        conn.row_factory = sqlite3.Row
        (row,) = conn.execute("SELECT workspace_id, body FROM services WHERE name = 'digits~blue' AND "
                              "workspace_id LIKE ?", (f"%/{ml_client.workspace_name}",)).fetchall()
        assert services.list_all(conn, row["workspace_id"]) == []  # not a v1 webservice: Webservice.list omits it
    replicas = json.loads(row["body"])["fakeAzure"]["replicas"]
    assert [(r["state"], r["cpu"], r["memoryGb"]) for r in replicas] == [("Running", 4.0, 14.0)] * 2

    logs = ml_client.online_deployments.get_logs(name="blue", endpoint_name="digits", lines=50)
    assert "init done for hello" in logs

    endpoint.traffic = {"blue": 100}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    with pytest.raises(HttpResponseError, match="receives 100% of the endpoint's traffic") as refused:
        ml_client.online_deployments.begin_delete(name="blue", endpoint_name="digits").result()
    assert refused.value.status_code == 400

    endpoint.traffic = {"blue": 0}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    ml_client.online_deployments.begin_delete(name="blue", endpoint_name="digits").result()
    with pytest.raises(ResourceNotFoundError, match="Deployment blue not found"):
        ml_client.online_deployments.get(name="blue", endpoint_name="digits")
    with sqlite3.connect(emulator_home / "state.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM services WHERE name = 'digits~blue' AND workspace_id LIKE ?",
                            (f"%/{ml_client.workspace_name}",)).fetchone() == (0,)


def test_a_gpu_instance_type_gives_each_instance_its_gpus(ml_client: Any, project: Path, emulator_home: Path) -> None:
    from emulator.deploy.gpus import HostGpus

    _endpoint(ml_client)
    ml_client.online_deployments.begin_create_or_update(
        _deployment(project, instance_type="Standard_NC12s_v3", instance_count=2)).result()
    with sqlite3.connect(emulator_home / "state.db") as conn:
        (body,), = conn.execute("SELECT body FROM services WHERE name = 'digits~blue' AND workspace_id LIKE ?",
                                (f"%/{ml_client.workspace_name}",)).fetchall()
    replicas = json.loads(body)["fakeAzure"]["replicas"]
    # Two V100s per instance, as a v1 node of that size has: cluster-wide GPUs 0-1 and 2-3.
    assert [(r["nodeIndex"], r["gpusPerNode"], r["gpuIds"]) for r in replicas] == [(0, 2, [0, 1]), (1, 2, [0, 1])]
    if HostGpus.detect().count == 0:  # the v1 policy: cpu-fallback runs them on the CPU, with a warning
        logs = ml_client.online_deployments.get_logs(name="blue", endpoint_name="digits", lines=100)
        assert "this host has no NVIDIA GPU" in logs


def test_a_second_put_replaces_the_replicas(ml_client: Any, project: Path, emulator_home: Path) -> None:
    endpoint = _deploy(ml_client, project, "blue", blue=100)
    auth = {"Authorization": "Bearer " + ml_client.online_endpoints.get_keys("digits").primary_key}
    updated = ml_client.online_deployments.begin_create_or_update(
        _deployment(project, instance_count=2, environment_variables={"GREETING": "second"})).result()
    assert updated.provisioning_state == "Succeeded" and updated.instance_count == 2
    answer = requests.post(endpoint.scoring_uri, json={"data": [1]}, headers=auth, timeout=30)
    assert answer.status_code == 200 and answer.json()["greeting"] == "second"
    assert [d.instance_count for d in ml_client.online_deployments.list(endpoint_name="digits")] == [2]

    # Deleting the endpoint deletes its deployment with it, replicas and core record included.
    ml_client.online_endpoints.begin_delete("digits").result()
    assert requests.post(endpoint.scoring_uri, json={"data": [1]}, headers=auth, timeout=30).status_code == 404

    def core_records() -> int:
        with sqlite3.connect(emulator_home / "state.db") as conn:
            return conn.execute("SELECT COUNT(*) FROM services WHERE workspace_id LIKE ?",
                                (f"%/{ml_client.workspace_name}",)).fetchone()[0]

    assert poll(lambda: core_records() == 0, timeout=30)


def test_an_unknown_instance_type_is_refused_before_anything_is_written(ml_client: Any, project: Path) -> None:
    _endpoint(ml_client)
    with pytest.raises(HttpResponseError, match="Instance type Standard_Nope is not supported") as refused:
        ml_client.online_deployments.begin_create_or_update(_deployment(project, instance_type="Standard_Nope"))
    assert refused.value.status_code == 400
    assert list(ml_client.online_deployments.list(endpoint_name="digits")) == []


def test_a_deployment_past_the_subscriptions_vcpu_quota_is_refused(ml_client: Any, project: Path) -> None:
    _endpoint(ml_client)
    # 30 x 96 vCPUs is past the default quota of 2000 (FAKE_AZURE_V2_VCPU_QUOTA): refused before any replica.
    with pytest.raises(HttpResponseError, match="Not enough quota available for Standard_ND96asr_v4") as refused:
        ml_client.online_deployments.begin_create_or_update(
            _deployment(project, instance_type="Standard_ND96asr_v4", instance_count=30))
    assert refused.value.status_code == 400 and refused.value.error.code == "OutOfQuota"
    assert "Current usage/limit: 0/2000. Additional needed: 2880" in refused.value.error.message
    assert list(ml_client.online_deployments.list(endpoint_name="digits")) == []


def test_a_deployment_of_an_unknown_endpoint_is_not_found(ml_client: Any, project: Path) -> None:
    with pytest.raises(ResourceNotFoundError):
        ml_client.online_deployments.begin_create_or_update(_deployment(project, endpoint="nowhere"))


def _deploy(ml_client: Any, project: Path, *names: str, auth_mode: str = "key", mirror: dict | None = None,
            **traffic: int) -> Any:
    endpoint = ManagedOnlineEndpoint(name="digits", auth_mode=auth_mode)
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    (project / "seen").mkdir(exist_ok=True)
    for name in names:
        ml_client.online_deployments.begin_create_or_update(_deployment(
            project, name=name, environment_variables={"GREETING": name, "SEEN_DIR": str(project / "seen")})).result()
    endpoint.traffic = traffic
    endpoint.mirror_traffic = mirror or {}
    return ml_client.online_endpoints.begin_create_or_update(endpoint).result()


def test_invoke_and_direct_https_calls_reach_the_deployment_through_the_gateway(ml_client: Any, project: Path) -> None:
    endpoint = _deploy(ml_client, project, "blue", blue=100)
    (project / "request.json").write_text(json.dumps({"data": [1, 2, 3]}))
    answer = json.loads(ml_client.online_endpoints.invoke(endpoint_name="digits",
                                                          request_file=str(project / "request.json")))
    assert answer == {"scale": 2, "doubled": [2, 4, 6], "greeting": "blue"}

    # The scoring URI with the key, as any HTTPS client calls it (the activated process trusts the home's CA).
    keys = ml_client.online_endpoints.get_keys("digits")
    direct = requests.post(endpoint.scoring_uri, json={"data": [5]}, timeout=30,
                           headers={"Authorization": f"Bearer {keys.secondary_key}"})
    assert direct.status_code == 200 and direct.json()["doubled"] == [10]
    assert direct.headers["azureml-model-deployment"] == "blue"
    swagger = requests.get(endpoint.openapi_uri, headers={"Authorization": f"Bearer {keys.primary_key}"}, timeout=30)
    assert swagger.status_code == 200 and "paths" in swagger.json()  # azmlinfsrv's document for score.py
    refused = requests.post(endpoint.scoring_uri, json={"data": [5]}, timeout=30,
                            headers={"Authorization": "Bearer not-a-key"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "Unauthorized"


def test_traffic_split_and_the_deployment_header(ml_client: Any, project: Path) -> None:
    endpoint = _deploy(ml_client, project, "blue", "green", blue=70, green=30)
    key = ml_client.online_endpoints.get_keys("digits").primary_key
    auth = {"Authorization": f"Bearer {key}"}
    served = [requests.post(endpoint.scoring_uri, json={"data": [1]}, headers=auth, timeout=30).json()["greeting"]
              for _ in range(10)]
    assert sorted(served) == ["blue"] * 7 + ["green"] * 3  # exact shares over every 100 requests, interleaved
    assert served[:2] != ["blue", "blue"] or served[2:4] != ["blue", "blue"]

    # The header wins over the split, in either spelling of the name; invoke sends it for deployment_name.
    named = requests.post(endpoint.scoring_uri, json={"data": [1]}, timeout=30,
                          headers={**auth, "azureml-model-deployment": "GREEN"})
    assert named.json()["greeting"] == "green"
    (project / "request.json").write_text(json.dumps({"data": [1]}))
    invoked = ml_client.online_endpoints.invoke(endpoint_name="digits", deployment_name="green",
                                                request_file=str(project / "request.json"))
    assert json.loads(invoked)["greeting"] == "green"

    endpoint.traffic = {"blue": 0, "green": 0}
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    nowhere = requests.post(endpoint.scoring_uri, json={"data": [1]}, headers=auth, timeout=30)
    assert nowhere.status_code == 404 and "No valid deployments to route to" in nowhere.json()["error"]["message"]


def test_mirror_traffic_copies_its_share_of_the_requests_that_name_no_deployment(ml_client: Any,
                                                                                 project: Path) -> None:
    endpoint = _deploy(ml_client, project, "blue", "green", mirror={"green": 50}, blue=100)
    auth = {"Authorization": "Bearer " + ml_client.online_endpoints.get_keys("digits").primary_key}
    answers = [requests.post(endpoint.scoring_uri, json={"data": [1]}, headers=auth, timeout=30) for _ in range(10)]
    assert {a.json()["greeting"] for a in answers} == {"blue"}  # the caller gets the live deployment's answer
    named = requests.post(endpoint.scoring_uri, json={"data": [1]}, timeout=30,
                          headers={**auth, "azureml-model-deployment": "blue"})  # never mirrored
    assert named.status_code == 200

    def seen(name: str) -> int:
        path = project / "seen" / name
        return len(path.read_text().splitlines()) if path.exists() else 0

    assert poll(lambda: seen("green") == 5, timeout=30), seen("green")
    assert seen("blue") == 11


def test_an_aml_token_endpoint_is_scored_with_its_token(ml_client: Any, project: Path) -> None:
    endpoint = _deploy(ml_client, project, "blue", auth_mode="aml_token", blue=100)
    (project / "request.json").write_text(json.dumps({"data": [4]}))
    answer = json.loads(ml_client.online_endpoints.invoke(endpoint_name="digits",
                                                          request_file=str(project / "request.json")))
    assert answer["doubled"] == [8]
    keys = ml_client.online_endpoints.get_keys("digits")  # aml_token: a token, not keys
    assert requests.post(endpoint.scoring_uri, json={"data": [4]}, timeout=30,
                         headers={"Authorization": "Bearer " + keys.access_token}).status_code == 200


def test_a_failing_init_fails_the_deployment_with_its_log(ml_client: Any, project: Path) -> None:
    _endpoint(ml_client)
    (project / "src" / "score.py").write_text("def init():\n    raise RuntimeError('weights are missing')\n\n"
                                              "def run(raw_data):\n    return raw_data\n")
    with pytest.raises(HttpResponseError) as failed:
        ml_client.online_deployments.begin_create_or_update(_deployment(project)).result()
    assert failed.value.error is not None and failed.value.error.code == "ResourceNotReady"
    assert "User container has crashed or terminated" in failed.value.error.message
    assert ml_client.online_deployments.get(name="blue", endpoint_name="digits").provisioning_state == "Failed"
    assert "weights are missing" in ml_client.online_deployments.get_logs(name="blue", endpoint_name="digits",
                                                                          lines=200)


def test_an_environment_that_cannot_be_built_fails_the_deployment_with_image_build_failure(ml_client: Any,
                                                                                        project: Path) -> None:
    _endpoint(ml_client)
    (project / "env.yml").write_text("name: digits\ndependencies:\n  - python=3.11\n  - numpy >=1.2|<1.0\n")
    with pytest.raises(HttpResponseError) as failed:
        ml_client.online_deployments.begin_create_or_update(_deployment(project)).result()
    assert failed.value.error is not None and failed.value.error.code == "ImageBuildFailure"
    assert "conda 'or' version constraints ('|') cannot be translated to pip" in failed.value.error.message
    assert ml_client.online_deployments.get(name="blue", endpoint_name="digits").provisioning_state == "Failed"
    assert "numpy >=1.2|<1.0" in ml_client.online_deployments.get_logs(name="blue", endpoint_name="digits", lines=200)


def test_registered_assets_are_deployed_by_azureml_reference(ml_client: Any, project: Path) -> None:
    """Assets registered first, then named as users write them: ``azureml:name:version`` and ``name@latest``."""
    _endpoint(ml_client)
    ml_client.models.create_or_update(Model(name="weights", version="3", path=str(project / "model")))
    ml_client.environments.create_or_update(Environment(name="scoring-env", version="1", conda_file=str(
        project / "env.yml"), image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"))
    ml_client.environments.create_or_update(Environment(name="scoring-env", version="2", conda_file=str(
        project / "env.yml"), image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"))
    deployed = ml_client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
        name="blue", endpoint_name="digits", model="azureml:weights:3", environment="scoring-env@latest",
        code_configuration=CodeConfiguration(code=str(project / "src"), scoring_script="score.py"),
        instance_type="Standard_DS3_v2", instance_count=1, environment_variables={"GREETING": "ref"})).result()
    assert deployed.provisioning_state == "Succeeded"
    assert deployed.model.endswith("/models/weights/versions/3")
    assert deployed.environment.endswith("/environments/scoring-env/versions/2")
    (project / "request.json").write_text(json.dumps({"data": [1]}))
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="digits", traffic={"blue": 100})
                                                      ).result()
    answer = json.loads(ml_client.online_endpoints.invoke(endpoint_name="digits",
                                                          request_file=str(project / "request.json")))
    assert answer == {"scale": 2, "doubled": [2], "greeting": "ref"}


def test_a_deployments_core_record_is_not_a_v1_webservice(ml_client: Any, aml_workspace: Any, project: Path) -> None:
    """The core record {endpoint}~{deployment} is the v2 deployment's: v1's service routes do not reach it (a v1
    delete would have taken the replicas away under the ARM record, which kept answering Succeeded)."""
    from fake_azure.core.webservice import Webservice
    from fake_azure.exceptions import WebserviceException

    _deploy(ml_client, project, "blue", blue=100)
    with pytest.raises(WebserviceException, match="not found"):
        Webservice(aml_workspace, "digits~blue")
    assert ml_client.online_deployments.get(name="blue", endpoint_name="digits").provisioning_state == "Succeeded"


def test_an_environment_whose_conda_file_is_not_yaml_is_refused_with_400(ml_client: Any, emulator_home: Path) -> None:
    """The environment route keeps its condaFile as a string; a deployment of it reads the YAML: a 400, not a
    500 from the parser."""
    from emulator.tls_authority import trust_bundle_path

    _endpoint(ml_client)
    url = json.loads((emulator_home / "daemon.json").read_text())["armUrl"]
    bundle = str(trust_bundle_path(emulator_home))
    token = requests.get(url + "msi/token", params={"resource": url}, verify=bundle, timeout=10,
                         headers={"X-IDENTITY-HEADER": (emulator_home / "token").read_text().strip()}
                         ).json()["access_token"]
    http: dict[str, Any] = {"verify": bundle, "timeout": 30, "headers": {"Authorization": f"Bearer {token}"},
                            "params": {"api-version": "2023-04-01-preview"}}
    ws = (f"subscriptions/{ml_client.subscription_id}/resourceGroups/{ml_client.resource_group_name}/providers/"
          f"Microsoft.MachineLearningServices/workspaces/{ml_client.workspace_name}")
    environment = requests.put(f"{url}{ws}/environments/broken/versions/1", **http, json={
        "properties": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04", "condaFile": "name: [unclosed"}})
    assert environment.status_code in (200, 201), environment.text
    answer = requests.put(f"{url}{ws}/onlineEndpoints/digits/deployments/blue", **http, json={
        "location": "eastus", "sku": {"capacity": 1},
        "properties": {"endpointComputeType": "Managed", "instanceType": "Standard_DS3_v2",
                       "environmentId": f"/{ws}/environments/broken/versions/1"}})
    assert answer.status_code == 400, answer.text
    assert "conda" in answer.json()["error"]["message"].lower()
    assert list(ml_client.online_deployments.list(endpoint_name="digits")) == []


def test_a_scoring_script_outside_its_code_folder_is_refused_before_anything_is_written(ml_client: Any,
                                                                                        project: Path) -> None:
    _endpoint(ml_client)
    (project / "score.py").write_text(SCORE)  # the client opens the script on this machine first
    deployment = _deployment(project)
    deployment.code_configuration = CodeConfiguration(code=str(project / "src"), scoring_script="../score.py")
    with pytest.raises(HttpResponseError, match="scoring script") as refused:
        ml_client.online_deployments.begin_create_or_update(deployment)
    assert refused.value.status_code == 400
    assert list(ml_client.online_deployments.list(endpoint_name="digits")) == []


def test_an_aad_token_endpoint_is_scored_with_the_callers_entra_token(ml_client: Any, project: Path) -> None:
    """aad_token: the client scores with the Entra token its credential gets for ml.azure.com (here the managed
    identity's); invoke answered 401 (the endpoint took only aml tokens, which get_token refuses it)."""
    endpoint = _deploy(ml_client, project, "blue", auth_mode="aad_token", blue=100)
    (project / "request.json").write_text(json.dumps({"data": [4]}))
    answer = json.loads(ml_client.online_endpoints.invoke(endpoint_name="digits",
                                                          request_file=str(project / "request.json")))
    assert answer["doubled"] == [8]
    assert requests.post(endpoint.scoring_uri, json={"data": [4]}, timeout=30,
                         headers={"Authorization": "Bearer not-a-token"}).status_code == 401
