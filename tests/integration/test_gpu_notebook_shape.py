"""Microsoft's GPU deployment notebook, as a user writes it, against the local cloud.

An Environment on the default GPU base image with conda dependencies, a raw-HTTP entry script
(``@rawhttp`` with ``AMLRequest``/``AMLResponse``) that receives image bytes, AKS's default
deployment configuration (autoscaling), a one-node DevTest GPU cluster, then the notebook's
clean-up: service, model and cluster deleted.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-workflow"

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]

RAW_SCORE = '''\
import hashlib
import json
import os

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    global model_dir
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    print("init: model dir", model_dir, flush=True)


@rawhttp
def run(request):
    if request.method != "POST":
        return AMLResponse("POST an image", 405)
    data = request.get_data(False)
    return AMLResponse(json.dumps({"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}), 200)
'''

# A small PNG-like payload: the signature, then bytes that are not valid UTF-8 or JSON.
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4 + b"\x00\xff\xfe"


@pytest.fixture
def notebook_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(SEED / "model", tmp_path / "model")
    (tmp_path / "score.py").write_text(RAW_SCORE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_gpu_notebook_deploys_scores_raw_bytes_and_cleans_up(ws, notebook_dir, activated, capsys):
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.core.conda_dependencies import CondaDependencies
    from azureml.core.environment import DEFAULT_GPU_IMAGE, Environment
    from azureml.core.model import InferenceConfig, Model
    from azureml.core.webservice import AksWebservice, Webservice
    from azureml.exceptions import ComputeTargetException, WebserviceException

    model = Model.register(ws, model_path="model", model_name="gpu-image-model")
    prov_config = AksCompute.provisioning_configuration(vm_size="Standard_NV6", agent_count=1,
                                                        cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST)
    cluster = ComputeTarget.create(ws, "aks-nv6", prov_config)
    service = None
    try:
        cluster.wait_for_completion(show_output=True)
        assert cluster.provisioning_state == "Succeeded"
        assert cluster.agent_count == 1

        env = Environment("gpu-env")
        env.docker.base_image = DEFAULT_GPU_IMAGE
        env.python.conda_dependencies = CondaDependencies.create(python_version="3.11", conda_packages=["numpy"],
                                                                 pip_packages=["azureml-defaults"])
        inference_config = InferenceConfig(entry_script="score.py", environment=env)
        aks_config = AksWebservice.deploy_configuration()

        service = Model.deploy(ws, "gpu-notebook-svc", [model], inference_config, aks_config, cluster)
        service.wait_for_deployment(show_output=True)
        assert service.state == "Healthy", service.get_logs()
        assert service.autoscaler.autoscale_enabled is True
        assert service.num_replicas == 1

        body = Webservice._get(ws, "gpu-notebook-svc")
        assert body["environmentImageRequest"]["gpu"] is True
        [replica] = body["fakeAzure"]["replicas"]
        assert len(replica["gpuIds"]) == 1  # the NV6's only GPU

        primary, _ = service.get_keys()
        with requests.Session() as session:
            session.trust_env = False
            response = session.post(service.scoring_uri, data=IMAGE, timeout=30,
                                    headers={"Content-Type": "application/octet-stream",
                                             "Authorization": "Bearer " + primary})
        assert response.status_code == 200, (response.text, service.get_logs())
        assert response.json() == {"bytes": len(IMAGE), "sha256": hashlib.sha256(IMAGE).hexdigest()}
        assert "init: model dir" in service.get_logs()

        capsys.readouterr()
        service.delete()
        service = None
        with pytest.raises(WebserviceException, match="WebserviceNotFound"):
            Webservice(ws, "gpu-notebook-svc")
        model.delete()
        assert [m.name for m in Model.list(ws)] == []
        cluster.delete()
        cluster.wait_for_completion(show_output=True, is_delete_operation=True)
        out = capsys.readouterr().out
        assert "Deleting" in out or "Succeeded" in out, out
        with pytest.raises(ComputeTargetException):
            ComputeTarget(ws, "aks-nv6")
        cluster = None
    finally:
        if service is not None:
            service.delete()
        if cluster is not None:
            try:
                cluster.delete()
            except Exception:  # already gone or never created: nothing to clean up
                pass
