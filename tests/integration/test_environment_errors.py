"""Environments that cannot be resolved offline fail the deployment with a message naming the entry."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore:.*been deprecated:DeprecationWarning")]

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed-workflow"
# The seed document's conda file, verbatim.
SEED_MYENV = """name: project_environment
dependencies:
  # The python interpreter version.
  # Currently Azure ML only supports 3.5.2 and later.
- python=3.6.2

- pip:
  - azureml-defaults==1.0.43.*
- numpy
- tensorflow-gpu=1.12
channels:
- conda-forge
"""


def _deploy(ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, conda_text: str, name: str):
    from fake_azure.core.compute import AksCompute, ComputeTarget
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AksWebservice

    shutil.copytree(SEED / "model", tmp_path / "model")
    shutil.copy(SEED / "score.py", tmp_path / "score.py")
    (tmp_path / "myenv.yml").write_text(conda_text)
    monkeypatch.chdir(tmp_path)
    model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
    target = ComputeTarget.create(ws, "aks-gpu", AksCompute.provisioning_configuration(vm_size="Standard_NC6"))
    target.wait_for_completion()
    config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml", enable_gpu=True)
    service = Model.deploy(ws, name, [model], config,
                           AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=1),
                           target)
    return service


def test_seed_conda_file_names_the_python_version(ws, tmp_path, monkeypatch) -> None:
    from fake_azure.exceptions import WebserviceException

    service = _deploy(ws, tmp_path, monkeypatch, SEED_MYENV, "seed-env")
    with pytest.raises(WebserviceException) as caught:
        service.wait_for_deployment()
    message = caught.value.message
    assert message.startswith("Service deployment polling reached non-successful terminal state, current service "
                              "state: Failed")
    assert "EnvironmentBuildFailed" in message and "python=3.6.2" in message
    assert "More information can be found here: " in message and "environment.log" in message
    assert service.state == "Failed"
    service.delete()


def test_tensorflow_gpu_1x_is_named_with_the_fix(ws, tmp_path, monkeypatch) -> None:
    from fake_azure.exceptions import WebserviceException

    service = _deploy(ws, tmp_path, monkeypatch, SEED_MYENV.replace("python=3.6.2", "python=3.11"), "seed-tf1")
    with pytest.raises(WebserviceException) as caught:
        service.wait_for_deployment()
    assert "tensorflow-gpu=1.12" in caught.value.message
    assert "tf.compat.v1" in caught.value.message
    service.delete()
