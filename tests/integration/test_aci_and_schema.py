"""ACI deployments (auth off by default, no GPUs) and inference-schema swagger through the front end."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore:.*been deprecated:DeprecationWarning")]

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed-workflow"
SCHEMA_SCORE = '''
import numpy as np
from inference_schema.schema_decorators import input_schema, output_schema
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType


def init():
    pass


@input_schema("data", NumpyParameterType(np.array([[0.1, 0.2, 0.3, 0.4]])))
@output_schema(NumpyParameterType(np.array([1.0])))
def run(data):
    return (data.sum(axis=1)).tolist()
'''


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(SEED / "model", tmp_path / "model")
    shutil.copy(SEED / "myenv.yml", tmp_path / "myenv.yml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_aci_gpu_config_deploys_without_auth_and_without_gpus(ws, workdir: Path) -> None:
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AciWebservice

    shutil.copy(SEED / "score.py", workdir / "score.py")
    model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
    config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml", enable_gpu=True)
    service = Model.deploy(ws, "aci-svc", [model], config, AciWebservice.deploy_configuration(cpu_cores=1,
                                                                                               memory_gb=1))
    try:
        service.wait_for_deployment()
        assert type(service).__name__ == "AciWebservice"
        assert service.state == "Healthy" and service.auth_enabled is False
        response = requests.post(service.scoring_uri, json.dumps({"data": [[1, 0, 0, 0]]}),
                                 headers={"Content-Type": "application/json"}, timeout=30)
        assert response.status_code == 200 and response.json() == [1]
        with pytest.raises(NotImplementedError, match="ACI webservices do not support Token Authentication."):
            service.get_token()
    finally:
        service.delete()


def test_inference_schema_swagger_through_the_front_end(ws, workdir: Path) -> None:
    from fake_azure.core.compute import AksCompute, ComputeTarget
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AksWebservice

    (workdir / "score.py").write_text(SCHEMA_SCORE)
    model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
    target = ComputeTarget.create(ws, "aks-cpu", AksCompute.provisioning_configuration(
        vm_size="Standard_D3_v2", agent_count=1, cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST))
    target.wait_for_completion()
    config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")
    service = Model.deploy(ws, "schema-svc", [model], config,
                           AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False), target)
    try:
        service.wait_for_deployment()
        headers = {"Authorization": "Bearer " + service.get_keys()[0]}
        swagger = requests.get(service.swagger_uri, headers=headers, timeout=30)
        assert swagger.status_code == 200
        assert "data" in json.dumps(swagger.json()["definitions"])
        assert service.run(json.dumps({"data": [[0.5, 0.5, 1.0, 1.0]]})) == [3.0]
    finally:
        service.delete()
