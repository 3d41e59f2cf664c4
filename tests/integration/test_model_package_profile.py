"""Model.package and Model.profile, as the SDK's deployment notebooks call them.

``package(..., generate_dockerfile=True)`` writes a build context (Dockerfile, environment, score.py,
models) that ``save()`` puts in a folder; without it the service image is built on the docker runtime
(tests/integration/test_model_package_docker.py). ``profile`` runs the model on a replica for every input
row and reports what it measured in the SDK's ``ModelProfile`` shape.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

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
    with open(os.path.join(Model.get_model_path("pkg-model"), "weights.json")) as handle:
        weights = json.load(handle)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    if rows == "boom":
        raise ValueError("boom")
    return [sum(w * x for w, x in zip(weights["w"], row)) for row in rows]
'''


@pytest.fixture
def notebook(activated, ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A registered model and an inference config with the seed's environment, as in the notebooks."""
    from azureml.core import Environment
    from azureml.core.model import InferenceConfig, Model

    shutil.copytree(SEED / "model", tmp_path / "model")
    shutil.copy(SEED / "myenv.yml", tmp_path / "myenv.yml")
    (tmp_path / "score.py").write_text(SCORE_PY)
    monkeypatch.chdir(tmp_path)
    model = Model.register(ws, model_path="model", model_name="pkg-model")
    env = Environment.from_conda_specification("pkg-env", "myenv.yml")
    env.environment_variables = {"GREETING": 'say "hi"'}
    return ws, model, InferenceConfig(entry_script="score.py", environment=env)


def test_package_with_generate_dockerfile_saves_a_build_context(notebook, tmp_path: Path, capsys) -> None:
    from azureml.core.model import Model, ModelPackage

    ws, model, inference_config = notebook
    package = Model.package(ws, [model], inference_config, generate_dockerfile=True)
    assert isinstance(package, ModelPackage)
    package.wait_for_creation(show_output=True)
    assert capsys.readouterr().out.endswith("Package creation Succeeded\n")
    assert package.state == "Succeeded" and package.generate_dockerfile
    assert "Package created" in package.get_logs()
    with pytest.raises(Exception, match="A Dockerfile package cannot be pulled"):
        package.pull()
    out = tmp_path / "context"
    package.save(str(out))
    dockerfile = (out / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM ")
    assert "pip install" in dockerfile and "azureml-inference-server-http" in dockerfile  # azureml-defaults, resolved
    assert 'CMD ["azmlinfsrv", "--entry_script", "/var/azureml-app/score.py", "--port", "5001"]' in dockerfile
    assert 'AZUREML_MODEL_DIR="azureml-models/pkg-model/1"' in dockerfile
    assert 'GREETING="say \\"hi\\""' in dockerfile
    assert (out / "azureml-app" / "score.py").read_text() == SCORE_PY
    weights = out / "azureml-app" / "azureml-models" / "pkg-model" / "1" / "model" / "weights.json"
    assert json.loads(weights.read_text()) == json.loads((SEED / "model" / "weights.json").read_text())
    assert (out / "pip.conf").is_file()
    assert package.serialize() == {"generateDockerfile": True, "state": "Succeeded", "location": package.location}


def test_profile_measures_the_model_on_the_input_rows(notebook) -> None:
    from azureml.core.model import Model
    from azureml.core.profile import ModelProfile

    ws, model, inference_config = notebook
    rows = [json.dumps({"data": [[1, 2, 3, 4]]})] * 20
    profile = Model.profile(ws, "pkg-profile", [model], inference_config, input_dataset=rows, cpu=1,
                            memory_in_gb=0.5)
    assert isinstance(profile, ModelProfile)
    profile.wait_for_completion(show_output=False)
    details = profile.get_details()
    assert details["state"] == "Succeeded", details
    assert details["totalQueries"] == 20 and details["successQueries"] == 20 and details["successRate"] == 100.0
    assert details["requestedCpu"] == 1 and details["requestedMemoryInGB"] == 0.5
    # Measured, so real: a Python scoring server holds tens of MB, and each request takes some time.
    assert 0.01 < details["maxUtilizedMemoryInGB"] < 4
    assert details["recommendedMemoryInGB"] >= details["maxUtilizedMemoryInGB"]
    assert details["recommendedCpu"] >= 0.1
    assert 0 < details["latencyPercentile50InMs"] <= details["latencyPercentile99InMs"]
    assert details["measuredQueriesPerSecond"] > 0
    # The SDK's constructor is a getter by name.
    again = ModelProfile(ws, "pkg-profile")
    assert again.recommended_memory == details["recommendedMemoryInGB"] and again.state == "Succeeded"


def test_a_profile_whose_requests_partly_fail_warns_as_the_sdk_does(notebook) -> None:
    from azureml.core.model import Model

    ws, model, inference_config = notebook
    rows = [json.dumps({"data": [[1, 0, 0, 0]]}), json.dumps({"data": "boom"})]
    profile = Model.profile(ws, "pkg-partial", [model], inference_config, input_dataset=rows)
    with pytest.warns(UserWarning, match="1 of 2 scoring requests failed"):
        profile.wait_for_completion()
    assert profile.success_queries == 1 and profile.requested_cpu == 3.5


def test_profile_checks_its_arguments_as_the_sdk_does(notebook) -> None:
    from azureml.core.model import Model
    from azureml.exceptions import UserErrorException

    ws, model, inference_config = notebook
    with pytest.raises(UserErrorException, match="Expected cpu value is between 0.1 and 3.5. Provided: 4"):
        Model.profile(ws, "p", [model], inference_config, input_dataset=["{}"], cpu=4)
    with pytest.raises(UserErrorException, match="Dataset not provided"):
        Model.profile(ws, "p", [model], inference_config, input_dataset=None)
    with pytest.raises(UserErrorException, match="profile_name cannot be None or empty"):
        Model.profile(ws, "", [model], inference_config, input_dataset=["{}"])


def test_profile_takes_the_notebooks_tabular_dataset_of_request_bodies(notebook, tmp_path: Path) -> None:
    """model-register-and-deploy's flow: JSON bodies, one per line, uploaded and read as a one-column dataset."""
    from azureml.core import Dataset, Datastore
    from azureml.core.model import Model
    from azureml.data.dataset_type_definitions import PromoteHeadersBehavior

    ws, model, inference_config = notebook
    (tmp_path / "sample_request_data.txt").write_text(
        "\n".join(json.dumps({"data": [[1, 2, 3, 4]]}) for _ in range(5)))
    datastore = Datastore.get_default(ws)
    datastore.upload_files([str(tmp_path / "sample_request_data.txt")], target_path="sample_request_data",
                           overwrite=True)
    dataset = Dataset.Tabular.from_delimited_files(datastore.path("sample_request_data/sample_request_data.txt"),
                                                   separator="\n", infer_column_types=True,
                                                   header=PromoteHeadersBehavior.NO_HEADERS)
    dataset = dataset.register(ws, "sample_request_data")
    profile = Model.profile(ws, "pkg-dataset", [model], inference_config, input_dataset=dataset)
    profile.wait_for_completion(True)
    details = profile.get_details()
    assert details["totalQueries"] == 5 and details["successQueries"] == 5
    assert profile.input_dataset_id == dataset.id


@pytest.mark.skipif(__import__("os").environ.get("FAKE_AZURE_RUNTIME") == "docker",
                    reason="the process runtime's refusal of image packages")
def test_an_image_package_on_the_process_runtime_fails_naming_the_fix(notebook) -> None:
    from azureml.core.model import Model
    from azureml.exceptions import WebserviceException

    ws, model, inference_config = notebook
    package = Model.package(ws, [model], inference_config, image_name="never")
    with pytest.raises(WebserviceException, match="Package creation reached non-successful terminal state") as info:
        package.wait_for_creation()
    assert "FAKE_AZURE_RUNTIME=docker" in info.value.message and "generate_dockerfile=True" in info.value.message
    assert package.state == "Failed" and package.location is None
