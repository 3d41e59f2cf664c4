"""No-code deployment end to end: ``Model.register(..., model_framework=...)`` then ``Model.deploy(ws, name,
[model])`` without an InferenceConfig, as Microsoft's deploy-to-cloud/model-register-and-deploy notebook and
the no-code deployment how-to do. The service runs the framework's curated environment and our entry
script (emulator/deploy/no_code.py, scoring/no_code/); every answer is checked against the model run here,
in this process. The refusals: what the SDK refuses client-side, the daemon refuses too (a raw request).

In the session's local cloud (process runtime): the curated packages are in this venv, so replicas reuse it.
"""
from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

import pytest
import requests

from fake_azure.exceptions import UserErrorException, WebserviceException

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore:.*been deprecated:DeprecationWarning")]

# find_spec, not importorskip: importing TensorFlow costs every collection seconds.
_NO_SKLEARN = importlib.util.find_spec("sklearn") is None
_NO_ONNX = importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None
_NO_TF = importlib.util.find_spec("tensorflow") is None


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # Model.register takes paths inside the working directory
    return tmp_path


def _register(ws, path: str, name: str, framework: str, version: str | None, **kwargs):
    from fake_azure.core.model import Model

    return Model.register(ws, model_path=path, model_name=name, model_framework=framework,
                          model_framework_version=version, **kwargs)


def _cluster(ws, name: str):
    from fake_azure.core.compute import AksCompute, ComputeTarget

    target = ComputeTarget.create(ws, name, AksCompute.provisioning_configuration(vm_size="Standard_D3_v2"))
    target.wait_for_completion()
    return target


# --- scikit-learn ----------------------------------------------------------------------------------

@pytest.mark.skipif(_NO_SKLEARN, reason="scikit-learn is not installed")
def test_the_notebooks_sklearn_regression_deploys_to_aci_without_an_inference_config(ws, workdir: Path) -> None:
    """deploy-to-cloud/model-register-and-deploy: a Ridge model on the diabetes data, ACI by default."""
    import joblib
    import sklearn
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    from fake_azure.core.model import Model
    from fake_azure.core.resource_configuration import ResourceConfiguration

    x, y = load_diabetes(return_X_y=True)
    regression = Ridge().fit(x, y)
    joblib.dump(regression, workdir / "sklearn_regression_model.pkl")
    model = _register(ws, "./sklearn_regression_model.pkl", "my-sklearn-model", Model.Framework.SCIKITLEARN,
                      sklearn.__version__, resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
                      description="Ridge regression model to predict diabetes progression.",
                      tags={"area": "diabetes", "type": "regression"})

    service = Model.deploy(ws, "my-sklearn-service", [model])
    service.wait_for_deployment()
    assert service.state == "Healthy" and service.compute_type == "ACI"

    rows = x[:5]
    output = service.run(json.dumps({"data": rows.tolist(), "method": "predict"}))
    assert output == pytest.approx(regression.predict(rows).tolist(), rel=1e-9)
    # Without "method": predict_proba where the model has it; a regressor has not.
    assert service.run(json.dumps({"data": rows.tolist()})) == pytest.approx(output, rel=1e-9)
    service.delete()


@pytest.mark.skipif(_NO_SKLEARN, reason="scikit-learn is not installed")
def test_a_sklearn_classifier_answers_predict_proba_by_default_on_an_aks_cluster(ws, workdir: Path) -> None:
    import joblib
    import numpy as np  # here, not at module level: collecting the suite imports no numpy
    import sklearn
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from fake_azure.core.model import Model
    from fake_azure.core.webservice import AksWebservice

    x, y = load_iris(return_X_y=True)
    classifier = LogisticRegression(max_iter=500).fit(x, y)
    (workdir / "iris").mkdir()
    joblib.dump(classifier, workdir / "iris" / "model.joblib")
    model = _register(ws, "iris", "iris", Model.Framework.SCIKITLEARN, sklearn.__version__)
    target = _cluster(ws, "nocode-aks")
    config = AksWebservice.deploy_configuration(cpu_cores=1, memory_gb=1, auth_enabled=False)

    service = Model.deploy(ws, "iris-service", [model], deployment_config=config, deployment_target=target)
    service.wait_for_deployment()
    assert service.state == "Healthy" and service.compute_type == "AKS"

    rows = x[::30]
    probabilities = service.run(json.dumps({"data": rows.tolist()}))
    assert np.allclose(probabilities, classifier.predict_proba(rows), atol=1e-12)
    assert service.run(json.dumps({"data": rows.tolist(), "method": "predict"})) == classifier.predict(rows).tolist()
    refused = requests.post(service.scoring_uri, json={"data": rows.tolist(), "method": "fit"}, timeout=30)
    assert refused.status_code == 400 and "fit" in refused.json()["error"]
    service.delete()


@pytest.mark.skipif(_NO_SKLEARN, reason="scikit-learn is not installed")
def test_update_with_models_and_no_inference_config_serves_the_new_model(ws, workdir: Path) -> None:
    """AksWebservice.update(models=[...]) sends the SDK's no-code request; the service then runs (and lists)
    the new version, not the one it was created with."""
    import joblib
    import sklearn
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Lasso, Ridge

    from fake_azure.core.model import Model
    from fake_azure.core.webservice import AksWebservice

    x, y = load_diabetes(return_X_y=True)
    first, second = Ridge().fit(x, y), Lasso(alpha=0.5).fit(x, y)
    versions = []
    for regression in (first, second):
        joblib.dump(regression, workdir / "regression.pkl")
        versions.append(_register(ws, "regression.pkl", "diabetes", Model.Framework.SCIKITLEARN, sklearn.__version__))
    target = _cluster(ws, "nocode-upd")
    config = AksWebservice.deploy_configuration(num_replicas=1, auth_enabled=False)
    service = Model.deploy(ws, "diabetes-service", [versions[0]], deployment_config=config, deployment_target=target)
    service.wait_for_deployment()
    payload = json.dumps({"data": x[:4].tolist()})
    assert service.run(payload) == pytest.approx(first.predict(x[:4]).tolist(), rel=1e-9)

    service.update(models=[versions[1]])
    service.wait_for_deployment()
    assert service.state == "Healthy" and [m.id for m in service.models] == ["diabetes:2"]
    assert service.run(payload) == pytest.approx(second.predict(x[:4]).tolist(), rel=1e-9)
    with pytest.raises(UserErrorException, match="zero or multiple models"):
        service.update(models=[])
    service.delete()


@pytest.mark.skipif(_NO_SKLEARN, reason="scikit-learn is not installed")
def test_a_local_no_code_service_serves_reloads_and_deploys_to_the_cloud_without_code(ws, workdir: Path) -> None:
    """LocalWebservice: the SDK packages a no-code model (Model.package without an InferenceConfig) and runs it."""
    import joblib
    import sklearn
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    from fake_azure.core.model import Model
    from fake_azure.core.webservice import LocalWebservice

    x, y = load_iris(return_X_y=True)
    tree = DecisionTreeClassifier(random_state=0).fit(x, y)
    joblib.dump(tree, workdir / "tree.pkl")
    model = _register(ws, "tree.pkl", "iris-tree", Model.Framework.SCIKITLEARN, sklearn.__version__)

    service = Model.deploy(ws, "local-tree", [model], deployment_config=LocalWebservice.deploy_configuration())
    service.wait_for_deployment()
    assert service.state == LocalWebservice.STATE_RUNNING
    rows = x[::25]
    payload = json.dumps({"data": rows.tolist(), "method": "predict"})
    assert service.run(payload) == tree.predict(rows).tolist()
    service.reload(wait=True)  # no code of the user's to copy again: the same model, served again
    assert service.run(payload) == tree.predict(rows).tolist()

    cloud = service.deploy_to_cloud(name="tree-from-local")
    cloud.wait_for_deployment()
    assert cloud.run(payload) == tree.predict(rows).tolist() and cloud.compute_type == "ACI"
    cloud.delete()
    service.delete()


@pytest.mark.skipif(_NO_SKLEARN, reason="scikit-learn is not installed")
def test_model_package_without_an_inference_config_writes_the_no_code_build_context(ws, workdir: Path) -> None:
    """Model.package(ws, [model], generate_dockerfile=True): the curated environment's Dockerfile, our entry
    script and the model in the app root; the SDK's no-code checks first."""
    import joblib
    import sklearn
    from sklearn.datasets import load_iris
    from sklearn.naive_bayes import GaussianNB

    from fake_azure.core.model import Model

    x, y = load_iris(return_X_y=True)
    joblib.dump(GaussianNB().fit(x, y), workdir / "nb.pkl")
    model = _register(ws, "nb.pkl", "iris-nb", Model.Framework.SCIKITLEARN, sklearn.__version__)
    package = Model.package(ws, [model], generate_dockerfile=True)
    package.wait_for_creation()
    assert package.state == "Succeeded", package.get_logs()
    package.save(str(workdir / "context"))
    dockerfile = (workdir / "context" / "Dockerfile").read_text()
    assert "scikit-learn" in dockerfile and "--only-binary" in dockerfile
    assert '"--entry_script", "/var/azureml-app/no_code_sklearn.py"' in dockerfile
    app = workdir / "context" / "azureml-app"
    assert (app / "azureml-models" / "iris-nb" / "1" / "nb.pkl").read_bytes() == (workdir / "nb.pkl").read_bytes()
    assert "def run(raw_data)" in (app / "no_code_sklearn.py").read_text()
    with pytest.raises(UserErrorException, match="zero or multiple models"):
        Model.package(ws, [model, model], generate_dockerfile=True)


# --- ONNX --------------------------------------------------------------------------------------------

def _onnx_model(path: Path) -> None:
    """scores = relu(features @ W + b): one float input, one float output, named as the request names them."""
    import numpy as np  # here, not at module level: collecting the suite imports no numpy
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    weights = numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "W")
    bias = numpy_helper.from_array(rng.normal(size=(3,)).astype(np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "W"], ["product"]),
         helper.make_node("Add", ["product", "b"], ["sum"]),
         helper.make_node("Relu", ["sum"], ["scores"])],
        "no-code-sample",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [None, 3])],
        initializer=[weights, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.mark.skipif(_NO_ONNX, reason="onnx and onnxruntime are not installed")
def test_an_onnx_model_answers_onnx_runtime_server_predict_requests(ws, workdir: Path) -> None:
    import numpy as np  # here, not at module level: collecting the suite imports no numpy
    import onnxruntime

    from fake_azure.core.model import Model
    from fake_azure.core.webservice import AciWebservice

    _onnx_model(workdir / "model.onnx")
    model = _register(ws, "model.onnx", "onnx-sample", Model.Framework.ONNX, "1.13")
    service = Model.deploy(ws, "onnx-sample-service", [model],
                           deployment_config=AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1))
    service.wait_for_deployment()
    assert service.state == "Healthy"

    features = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)
    expected = onnxruntime.InferenceSession(str(workdir / "model.onnx")).run(None, {"features": features})[0]
    request = {"inputs": {"features": {"dims": ["5", "4"], "dataType": 1,
                                       "rawData": base64.b64encode(features.astype("<f4").tobytes()).decode()}},
               "outputFilter": ["scores"]}
    answer = service.run(json.dumps(request))["outputs"]["scores"]
    assert answer["dims"] == ["5", "3"] and answer["dataType"] == 1
    scores = np.frombuffer(base64.b64decode(answer["rawData"]), dtype="<f4").reshape(5, 3)
    assert np.array_equal(scores, expected) and (expected > 0).any()
    # The typed field instead of rawData: the same answer.
    typed = {"inputs": {"features": {"dims": ["5", "4"], "dataType": 1, "floatData": features.ravel().tolist()}}}
    assert service.run(json.dumps(typed))["outputs"]["scores"]["rawData"] == answer["rawData"]

    missing = requests.post(service.scoring_uri, json={"inputs": {"x": request["inputs"]["features"]}}, timeout=30)
    assert missing.status_code == 400
    assert missing.json()["error_code"] == 400 and "features" in missing.json()["error_message"]
    service.delete()


_DOCKER_SCRIPT = """
import base64, json, sys, warnings
warnings.simplefilter("ignore")
import fake_azure
fake_azure.activate()
import numpy as np
from azureml.core import Model, Workspace
ws = Workspace("00000000-0000-0000-0000-0000000000cd", "rg-no-code", "ws-no-code")
model = Model.register(ws, model_path="model.onnx", model_name="onnx-docker", model_framework=Model.Framework.ONNX)
service = Model.deploy(ws, "onnx-docker", [model])
try:
    service.wait_for_deployment()
    features = np.array(json.load(open("rows.json")), dtype="<f4")
    request = {"inputs": {"features": {"dims": [str(d) for d in features.shape], "dataType": 1,
                                       "rawData": base64.b64encode(features.tobytes()).decode()}}}
    result = {"state": service.state, "answer": service.run(json.dumps(request))}
except Exception as exc:
    result = {"state": service.state, "error": str(exc), "logs": service.get_logs()}
service.delete()
print(json.dumps(result))
"""


@pytest.mark.requires_docker
@pytest.mark.skipif(_NO_ONNX, reason="onnx and onnxruntime are not installed")
def test_an_onnx_no_code_service_runs_in_a_container_on_the_docker_runtime(workdir: Path) -> None:
    """The curated environment becomes the replica's image (onnxruntime from wheels), the entry script goes
    into the container's app root; the answer is onnxruntime's, run here."""
    import os
    import subprocess
    import sys

    import numpy as np  # here, not at module level: collecting the suite imports no numpy
    import onnxruntime

    _onnx_model(workdir / "model.onnx")
    features = np.random.default_rng(9).normal(size=(3, 4)).astype(np.float32)
    (workdir / "rows.json").write_text(json.dumps(features.tolist()))
    expected = onnxruntime.InferenceSession(str(workdir / "model.onnx")).run(None, {"features": features})[0]
    env = {**os.environ, "FAKE_AZURE_HOME": str(workdir / "home-docker"), "FAKE_AZURE_RUNTIME": "docker",
           "AZUREML_LOG_DEPRECATION_WARNING_ENABLED": "False"}
    env.pop("FAKE_AZURE_TARGET", None)
    cli = str(Path(sys.executable).with_name("fake-azure"))
    try:
        proc = subprocess.run([sys.executable, "-c", _DOCKER_SCRIPT], cwd=workdir, env=env, capture_output=True,
                              text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-4000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["state"] == "Healthy", {k: str(v)[-3000:] for k, v in result.items()}
        answer = result["answer"]["outputs"]["scores"]
        scores = np.frombuffer(base64.b64decode(answer["rawData"]), dtype="<f4").reshape(3, 3)
        assert np.array_equal(scores, expected)
    finally:
        subprocess.run([cli, "down"], env=env, capture_output=True, timeout=180)


# --- TensorFlow ---------------------------------------------------------------------------------------

@pytest.mark.skipif(_NO_TF, reason="tensorflow is not installed")
def test_a_tensorflow_saved_model_answers_tensorflow_serving_predict_requests(ws, workdir: Path) -> None:
    import numpy as np  # here, not at module level: collecting the suite imports no numpy
    import tensorflow as tf

    from fake_azure.core.model import Model

    class Linear(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(np.random.default_rng(5).normal(size=(3, 2)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
        def serve(self, x):
            return {"y": tf.matmul(x, self.w)}

    module = Linear()
    tf.saved_model.save(module, str(workdir / "linear_model"), signatures={"serving_default": module.serve})
    model = _register(ws, "linear_model", "tf-linear", Model.Framework.TENSORFLOW, tf.__version__)
    service = Model.deploy(ws, "tf-linear-service", [model])
    service.wait_for_deployment()
    assert service.state == "Healthy"

    rows = np.random.default_rng(11).normal(size=(4, 3)).astype(np.float32)
    expected = module.serve(tf.constant(rows))["y"].numpy()
    predictions = service.run(json.dumps({"instances": rows.tolist()}))["predictions"]
    assert np.allclose(predictions, expected, rtol=1e-6)
    columnar = service.run(json.dumps({"inputs": {"x": rows.tolist()}}))["outputs"]
    assert np.allclose(columnar, expected, rtol=1e-6)
    refused = requests.post(service.scoring_uri, json={"instances": rows.tolist(), "signature_name": "nope"},
                            timeout=30)
    assert refused.status_code == 400 and "nope" in refused.json()["error"]
    service.delete()


# --- refusals -------------------------------------------------------------------------------------------

def _raw_create(ws, name: str, model_ids: list[str]) -> requests.Response:
    client = ws._client
    return client.request("POST", ws._arm_path + "/services", "webservice", ok=(202, 400),
                          json={"name": name, "computeType": "ACI", "environmentImageRequest": {"modelIds": model_ids}})


def test_the_sdks_no_code_refusals_client_side_and_at_the_daemon(ws, workdir: Path) -> None:
    from fake_azure.core.model import Model

    (workdir / "weights.bin").write_bytes(b"\x00" * 8)
    custom = Model.register(ws, model_path="weights.bin", model_name="plain")  # no framework: Custom
    pytorch = _register(ws, "weights.bin", "torchy", Model.Framework.PYTORCH, "2.1")
    multi = _register(ws, "weights.bin", "multi", Model.Framework.MULTI, None)
    assert custom.model_framework == "Custom"

    supported = "['Onnx', 'ScikitLearn', 'TensorFlow', 'Multi']"
    for model in (custom, pytorch):
        text = ("You must provide an InferenceConfig when deploying a model with model_framework set to "
                f"{model.model_framework}. Default environments are only provided for these frameworks: "
                f"{supported}.")
        with pytest.raises(UserErrorException) as client_side:
            Model.deploy(ws, "refused-service", [model])
        assert client_side.value.message == text
        response = _raw_create(ws, "refused-service", [model.id])
        assert response.status_code == 400, response.text
        assert response.json()["error"]["message"] == text

    several = "You must provide an InferenceConfig when deploying zero or multiple models."
    for models in ([], [custom, pytorch]):
        with pytest.raises(UserErrorException) as client_side:
            Model.deploy(ws, "refused-service", models)
        assert client_side.value.message == several
        response = _raw_create(ws, "refused-service", [m.id for m in models])
        assert response.status_code == 400 and response.json()["error"]["message"] == several

    # Multi passes the SDK's check; the local cloud has no default environment for it.
    with pytest.raises(WebserviceException) as refused:
        Model.deploy(ws, "refused-service", [multi])
    assert "model_framework set to Multi is not emulated" in refused.value.message
    # Model.profile needs an InferenceConfig in the SDK: a raw no-code profile request is refused at the door.
    profile = ws._client.request("POST", ws._arm_path + "/profiles", "webservice", ok=(202, 400), json={
        "name": "p", "imageRequest": {"modelIds": [custom.id]}, "inputs": ["{}"]})
    assert profile.status_code == 400 and "driverProgram" in profile.text
    # Nothing was recorded by any refusal.
    response = ws._client.request("GET", ws._arm_path + "/services/refused-service", "webservice", ok=(404,))
    assert response.status_code == 404
