"""One model registry per workspace for SDK v1 and SDK v2, as on Azure: a model ``Model.register`` made is a version
``ml_client.models`` lists, gets and deploys; one ``ml_client.models.create_or_update`` made is a model v1's
``Model(ws, ...)``/``Model.list`` sees and ``Model.deploy`` deploys; versions of a name are one sequence; a delete
in either SDK removes the version from both. ``aml_workspace`` and ``ml_client`` are the same workspace."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
)
from azure.ai.ml.entities import Model as V2Model
from azure.core.exceptions import ResourceNotFoundError

from fake_azure.core import Model
from fake_azure.exceptions import WebserviceException

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]

# Reads the registered folder as both SDKs lay it out: AZUREML_MODEL_DIR/<the registered folder's name>/...
SCORE = '''
import json, os

def init():
    global WEIGHTS
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.json")) as f:
        WEIGHTS = json.load(f)

def run(raw_data):
    return {"scaled": [x * WEIGHTS["scale"] for x in json.loads(raw_data)["data"]]}
'''


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A model folder, a single-file model, score.py and a conda file; v1's Model.register wants paths under the
    current directory."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text(json.dumps({"scale": 3}))
    (tmp_path / "model.pkl").write_bytes(b"pickled")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    # The test interpreter satisfies it (Python 3.11 and numpy): replicas start without a build.
    (tmp_path / "env.yml").write_text("name: scoring\ndependencies:\n  - python=3.11\n  - pip:\n    - numpy\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _delete_v2(ml_client: Any, name: str, version: str) -> None:
    """The REST API's model version delete, as the client's generated operations send it (the SDK's public API has
    archive, not delete)."""
    ml_client.models._model_versions_operation.delete(name=name, version=version,
                                                      resource_group_name=ml_client.resource_group_name,
                                                      workspace_name=ml_client.workspace_name)


def test_a_v1_model_is_a_v2_version_and_the_reverse_in_one_sequence(aml_workspace: Any, ml_client: Any,
                                                                     workdir: Path, tmp_path_factory: Any) -> None:
    v1 = Model.register(aml_workspace, model_path="model.pkl", model_name="mnist", tags={"stage": "dev"},
                        properties={"accuracy": "0.9"}, description="from v1")
    assert v1.version == 1

    seen = ml_client.models.get("mnist", version="1")
    assert (seen.name, seen.version, seen.type) == ("mnist", "1", "custom_model")
    assert (seen.tags, seen.description) == ({"stage": "dev"}, "from v1")
    assert seen.properties["accuracy"] == "0.9"
    assert seen.path.startswith(f"azureml://subscriptions/{ml_client.subscription_id}/resourcegroups/"
                                f"{ml_client.resource_group_name}/workspaces/{ml_client.workspace_name}/"
                                "datastores/workspaceblobstore/paths/")
    assert seen.path.endswith("/model.pkl")  # the registered file keeps its name, as a v2 upload's path does
    assert [m.version for m in ml_client.models.list(name="mnist")] == ["1"]
    assert "mnist" in [m.name for m in ml_client.models.list()]
    # The path is real: v2 downloads the v1 model from the workspace's datastore.
    v2_download = tmp_path_factory.mktemp("v2-download")
    ml_client.models.download("mnist", "1", download_path=str(v2_download))
    assert [p.read_bytes() for p in v2_download.rglob("model.pkl")] == [b"pickled"]

    # v2's next version follows v1's, and v1 sees it (its latest, its files, its tags).
    second = ml_client.models.create_or_update(V2Model(name="mnist", path=str(workdir / "model"),
                                                       tags={"stage": "prod"}, description="from v2"))
    assert second.version == "2"
    latest = Model(aml_workspace, "mnist")
    assert (latest.version, latest.tags, latest.description) == (2, {"stage": "prod"}, "from v2")
    assert latest.url == second.path
    assert latest.model_framework == "Custom"
    assert sorted(m.version for m in Model.list(aml_workspace, name="mnist")) == [1, 2]
    target = tmp_path_factory.mktemp("download")
    Model(aml_workspace, id="mnist:2").download(str(target))  # the registered folder keeps its name
    assert json.loads((target / "model" / "weights.json").read_text()) == {"scale": 3}

    # And v1's next follows v2's.
    third = Model.register(aml_workspace, model_path="model.pkl", model_name="mnist")
    assert third.version == 3
    assert ml_client.models.get("mnist", label="latest").version == "3"
    assert sorted(m.version for m in ml_client.models.list(name="mnist")) == ["1", "2", "3"]

    # A v2 update of a v1 version's tags is v1's too; its files cannot change (versions are immutable).
    seen.tags = {"stage": "retired"}
    ml_client.models.create_or_update(seen)
    assert Model(aml_workspace, id="mnist:1").tags == {"stage": "retired"}


def test_a_v2_version_past_what_v1_numbers_stays_v2s(aml_workspace: Any, ml_client: Any, workdir: Path) -> None:
    """Found by a probe: a v2 version of 20 digits made v1's next register a 500 (OverflowError) and read as v1's
    latest. It is v2's alone, as "1.0" is: v1 numbers past it from the versions it can hold."""
    ml_client.models.create_or_update(V2Model(name="oddv", version="99999999999999999999", path=str(workdir / "model")))
    ml_client.models.create_or_update(V2Model(name="oddv", version="4", path=str(workdir / "model")))
    assert Model.register(aml_workspace, model_path="model.pkl", model_name="oddv").version == 5
    assert sorted(m.version for m in Model.list(aml_workspace, name="oddv")) == [4, 5]
    assert Model(aml_workspace, "oddv").version == 5
    with pytest.raises(WebserviceException):
        Model(aml_workspace, id="oddv:99999999999999999999")
    assert sorted(m.version for m in ml_client.models.list(name="oddv")) == ["4", "5", "99999999999999999999"]


def test_a_delete_in_one_sdk_removes_the_version_from_both(aml_workspace: Any, ml_client: Any,
                                                            workdir: Path) -> None:
    Model.register(aml_workspace, model_path="model.pkl", model_name="gone")
    ml_client.models.create_or_update(V2Model(name="gone", path=str(workdir / "model")))
    assert [m.version for m in Model.list(aml_workspace, name="gone")] == [2, 1]

    Model(aml_workspace, id="gone:2").delete()  # v1 deletes the v2-registered version
    with pytest.raises(ResourceNotFoundError):
        ml_client.models.get("gone", version="2")

    _delete_v2(ml_client, "gone", "1")  # v2 deletes the v1-registered one
    with pytest.raises(WebserviceException, match="Model with id gone:1 not found"):
        Model(aml_workspace, id="gone:1")
    with pytest.raises(ResourceNotFoundError):
        ml_client.models.get("gone", version="1")
    assert "gone" not in [m.name for m in ml_client.models.list()]


def test_a_v2_managed_deployment_serves_a_v1_model(aml_workspace: Any, ml_client: Any, workdir: Path) -> None:
    Model.register(aml_workspace, model_path="model", model_name="weights")
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="scaler", auth_mode="key")).result()
    deployed = ml_client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
        name="blue", endpoint_name="scaler", model="azureml:weights:1",
        environment=Environment(conda_file=str(workdir / "env.yml"),
                                image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"),
        code_configuration=CodeConfiguration(code=str(workdir / "src"), scoring_script="score.py"),
        instance_type="Standard_DS3_v2", instance_count=1)).result()
    assert deployed.provisioning_state == "Succeeded"
    assert deployed.model.endswith("/models/weights/versions/1")
    (workdir / "request.json").write_text(json.dumps({"data": [1, 2]}))
    answer = ml_client.online_endpoints.invoke(endpoint_name="scaler", deployment_name="blue",
                                               request_file=str(workdir / "request.json"))
    assert json.loads(answer) == {"scaled": [3, 6]}


def test_a_v1_deployment_serves_a_v2_model(aml_workspace: Any, ml_client: Any, workdir: Path) -> None:
    from fake_azure.core.model import InferenceConfig
    from fake_azure.core.webservice import LocalWebservice

    ml_client.models.create_or_update(V2Model(name="v2-weights", path=str(workdir / "model")))
    model = Model(aml_workspace, "v2-weights")
    assert model.id == "v2-weights:1"
    shutil.copy(workdir / "env.yml", workdir / "src" / "env.yml")
    inference_config = InferenceConfig(runtime="python", entry_script="score.py", source_directory="src",
                                       conda_file="env.yml")
    service = Model.deploy(aml_workspace, "v2-model-local", [model], inference_config,
                           LocalWebservice.deploy_configuration(port=0))
    try:
        service.wait_for_deployment()
        assert service.state == "running", service.get_logs()
        assert service.run(json.dumps({"data": [2]})) == {"scaled": [6]}
    finally:
        service.delete()
