"""Environments that cannot be built fail the deployment with a message naming the entry, and the
environment.log the SDK's error points at holds that message."""
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


def _environment_log(message: str) -> str:
    # "More information can be found here: <path>/environment.log" (the operation's log).
    path = message.split("More information can be found here: ", 1)[1].split()[0]
    assert path.endswith("environment.log"), message
    return Path(path).read_text()


def test_seed_conda_file_fails_in_seconds_naming_the_substitutions(ws, tmp_path, monkeypatch) -> None:
    from fake_azure.exceptions import WebserviceException

    # Python 3.6 cannot run the scoring server: the nearest that can is used, with a warning;
    # tensorflow-gpu=1.12 becomes tensorflow==1.12.*, which has no wheel for it (conda entries are
    # installed from wheels only): pip fails at once.
    service = _deploy(ws, tmp_path, monkeypatch, SEED_MYENV, "seed-env")
    with pytest.raises(WebserviceException) as caught:
        service.wait_for_deployment()
    message = caught.value.message
    assert message.startswith("Service deployment polling reached non-successful terminal state, current service "
                              "state: Failed")
    assert "EnvironmentBuildFailed" in message and "No matching distribution found for tensorflow==1.12" in message
    assert "WARNING: python=3.6.2: Python 3.6 cannot run the scoring server" in message
    assert "WARNING: 'tensorflow-gpu=1.12' installed as 'tensorflow==1.12.*'" in message
    assert service.state == "Failed"
    log = _environment_log(message)
    assert "WARNING: python=3.6.2" in log and "No matching distribution found for tensorflow==1.12" in log
    assert "Building wheel" not in log  # nothing compiled
    service.delete()


def test_a_refused_environment_is_in_its_environment_log(ws, tmp_path, monkeypatch) -> None:
    from fake_azure.exceptions import WebserviceException

    refused = SEED_MYENV.replace("python=3.6.2", "python=3.11").replace("- numpy\n", "- numpy >=1.2|<1.0\n")
    service = _deploy(ws, tmp_path, monkeypatch, refused, "seed-refused")
    with pytest.raises(WebserviceException) as caught:
        service.wait_for_deployment()
    message = caught.value.message
    assert "numpy >=1.2|<1.0: conda 'or' version constraints ('|') cannot be translated to pip" in message
    # The SDK sends the user to this log: it must say what failed, not only which runtime ran.
    assert "numpy >=1.2|<1.0: conda 'or' version constraints" in _environment_log(message)
    service.delete()
