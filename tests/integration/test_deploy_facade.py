"""Model.deploy -> wait_for_deployment -> run -> delete through the facade, against the session's local cloud.

The seed workflow's deployment (docs: a GPU AKS cluster, 3 replicas) and the GPU-on-CPU-cluster
rejection, end to end: the daemon's services API, real replicas behind the cluster's gateway, and
scoring over HTTP with ``requests`` as the SDK does.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import requests

from fake_azure.exceptions import WebserviceException

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-workflow"


pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]

SCORE_PY = '''\
import json
import os

from azureml.core.model import Model


def init():
    global weights
    model_path = Model.get_model_path("tf-dnn-mnist")
    # AZUREML_MODEL_DIR is azureml-models/<name>/<version> for a single model, as on Azure.
    assert os.path.samefile(model_path, os.path.join(os.environ["AZUREML_MODEL_DIR"], "model"))
    with open(os.path.join(model_path, "weights.json")) as handle:
        weights = json.load(handle)
    print("init: loaded weights from", model_path, flush=True)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    return [int(sum(w * x for w, x in zip(weights["w"], row)) + weights["b"] > 0) for row in rows]
'''


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seed's folder: the model, its conda file and a score.py that prints in init().
    """
    shutil.copytree(SEED / "model", tmp_path / "model")
    shutil.copy(SEED / "myenv.yml", tmp_path / "myenv.yml")
    (tmp_path / "score.py").write_text(SCORE_PY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cluster(ws, name: str, vm_size: str):
    from fake_azure.core.compute import AksCompute, ComputeTarget

    target = ComputeTarget.create(ws, name, AksCompute.provisioning_configuration(vm_size=vm_size))
    target.wait_for_completion()
    assert target.provisioning_state == "Succeeded"
    return target


def _deploy(ws, target, name: str, show_output: bool = False):
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AksWebservice

    model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
    config = AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=3, cpu_cores=2, memory_gb=4)
    inference_config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml",
                                       enable_gpu=True)
    with pytest.warns(FutureWarning, match="AzureML recommends using CLI/SDK v2"):
        return Model.deploy(ws, name, [model], inference_config, config, target, show_output=show_output)


def test_seed_deploys_scores_and_deletes(ws, workdir, capsys):
    from fake_azure.core.webservice import AksWebservice, Webservice

    target = _cluster(ws, "aks-gpu", "Standard_NC6")
    assert target.agent_count == 3
    capsys.readouterr()
    service = _deploy(ws, target, "aks-seed-svc", show_output=True)
    out = capsys.readouterr().out
    assert out.endswith("Request submitted, please run wait_for_deployment(show_output=True) to get deployment "
                        "status.\n")
    assert "Entry script: score.py" in out
    assert isinstance(service, AksWebservice)
    assert service.compute_name == "aks-gpu" and service.num_replicas == 3
    assert service.container_resource_requirements.cpu == 2
    assert service.container_resource_requirements.memory_in_gb == 4

    service.wait_for_deployment(show_output=True)
    out = capsys.readouterr().out
    assert out.startswith("Tips: You can try get_logs()")
    assert out.endswith('AKS service creation operation finished, operation "Succeeded"\n')
    assert service.state == "Healthy"
    assert service.scoring_uri and service.swagger_uri.endswith("/swagger.json")
    assert [m.id for m in service.models] == ["tf-dnn-mnist:1"]

    body = json.dumps({"data": [[1, 0, 0, 0], [0, 1, 0, 0]]})
    assert service.run(body) == [1, 0]

    primary, secondary = service.get_keys()
    assert primary and secondary and primary != secondary
    # No key: the gateway refuses, as AKS does.
    assert requests.post(service.scoring_uri, data=body, headers={"Content-Type": "application/json"}).status_code \
        == 401
    with_key = requests.post(service.scoring_uri, data=body,
                             headers={"Content-Type": "application/json", "Authorization": "Bearer " + primary})
    assert with_key.status_code == 200 and with_key.json() == [1, 0]

    logs = service.get_logs()
    assert "init: loaded weights from" in logs
    # The environment's build lines come first: the last num_lines are the replicas' newest.
    assert logs.startswith("===== environment build =====\n")
    assert "===== replica " in logs and "environment" not in service.get_logs(num_lines=2)
    assert "aks-seed-svc" in ws.webservices
    assert [s.name for s in Webservice.list(ws, compute_type="AKS")] == ["aks-seed-svc"]
    # The SDK sends the caller's spelling; Azure matches compute types case-insensitively.
    assert [s.name for s in Webservice.list(ws, compute_type="aks")] == ["aks-seed-svc"]
    assert Webservice.list(ws, compute_type="aci") == []

    # Another process (a later script) finds the service by name.
    script = ("import sys\nfrom fake_azure.core import Workspace\nfrom fake_azure.core.webservice import Webservice\n"
              "ws = Workspace(*sys.argv[1:4])\ns = Webservice(ws, 'aks-seed-svc')\n"
              "print(type(s).__name__, s.state, s.scoring_uri)")
    seen = subprocess.run([sys.executable, "-c", script, ws.subscription_id, ws.resource_group, ws.name],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert seen.returncode == 0, seen.stderr
    assert seen.stdout.split() == ["AksWebservice", "Healthy", service.scoring_uri]

    service.delete()
    with pytest.raises(WebserviceException) as info:
        Webservice(ws, "aks-seed-svc")
    assert info.value.message == ("WebserviceNotFound: Webservice with name aks-seed-svc not found in provided "
                                  "workspace")
    # Calls on the deleted object's name get the SDK's wrapper around the 404, not the lookup's text.
    for call in (service.get_logs, service.get_keys):
        with pytest.raises(WebserviceException) as info:
            call()
        assert info.value.message.startswith("Received bad response from Model Management Service:\n"
                                             "Response Code: 404\n")
    capsys.readouterr()
    service.delete()
    assert capsys.readouterr().out == "No service with name aks-seed-svc found to delete.\n"


def test_gpu_service_on_cpu_cluster_fails_as_on_azure(ws, workdir):
    target = _cluster(ws, "aks-cpu", "Standard_D3_v2")
    service = _deploy(ws, target, "aks-gpu-on-cpu")
    with pytest.raises(WebserviceException) as info:
        service.wait_for_deployment()
    message = info.value.message
    assert message.startswith("Service deployment polling reached non-successful terminal state, current service "
                              "state: Failed\n")
    assert "Insufficient nvidia.com/gpu" in message
    # Azure's error JSON, in Azure's key order (the SDK prints it as it arrives).
    error = json.loads(message.split("Error:\n", 1)[1], strict=False)  # its message holds raw newlines
    assert list(error) == ["code", "statusCode", "message", "details"]
    assert service.state == "Failed"
    service.delete()


def test_deploy_errors(ws, workdir):
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AksWebservice

    model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
    inference_config = InferenceConfig(entry_script="score.py")
    config = AksWebservice.deploy_configuration(compute_target_name="no-such-cluster")
    with pytest.raises(WebserviceException, match="no-such-cluster"):
        Model.deploy(ws, "orphan-svc", [model], inference_config, config)
    with pytest.raises(WebserviceException, match="ModelNotFound"):
        Model.deploy(ws, "ghost-svc", [types.SimpleNamespace(id="ghost:9")], inference_config, config)
    with pytest.raises(WebserviceException) as info:
        Webservice_get(ws, "never-deployed")
    assert info.value.message == ("WebserviceNotFound: Webservice with name never-deployed not found in provided "
                                  "workspace")


def Webservice_get(ws, name):  # reads like the call it makes
    from fake_azure.core.webservice import Webservice

    return Webservice(ws, name)
