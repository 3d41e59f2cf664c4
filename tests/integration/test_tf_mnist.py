"""examples/tf-mnist-gpu end to end: the service's predictions are TensorFlow's, row for row.

train.py trains the seed's DNN (scikit-learn digits at 28x28) into a temporary folder; the model is
registered as ``tf-dnn-mnist`` and deployed with the example's own score.py (the seed's entry script
on ``tf.compat.v1``) and myenv.yml on a Standard_NC6 cluster; 60 held-out rows go through the
cluster's gateway in one request, and the answer must equal the argmax of ``network/output/MatMul:0``
computed here, in this process, from the same checkpoint.

Process runtime: in the session's local cloud (the host fast path: replicas reuse this venv, which
has tensorflow-cpu). Docker runtime (``requires_docker``): in a local cloud of its own, started by
a subprocess with ``FAKE_AZURE_RUNTIME=docker``; its one image build installs tensorflow-cpu.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

# find_spec, not importorskip: importing TensorFlow here would cost every test collection ~20 s.
_MISSING = [name for name in ("tensorflow", "sklearn") if importlib.util.find_spec(name) is None]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tf-mnist-gpu"
CLI = str(Path(sys.executable).with_name("fake-azure"))
N_ROWS = 60

pytestmark = [pytest.mark.skipif(bool(_MISSING), reason=f"the examples extra is not installed ({', '.join(_MISSING)}"
                                  " missing: pip install -e '.[examples]')"),
              pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore:.*been deprecated:DeprecationWarning")]


def _load_train_module():
    spec = importlib.util.spec_from_file_location("tf_mnist_train", EXAMPLE / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tensorflow_predictions(model_dir: Path, rows: list) -> list[int]:
    """What the checkpoint predicts, computed in this process with a tf.compat.v1 session."""
    import numpy as np
    import tensorflow as tf

    v1 = tf.compat.v1
    with tf.Graph().as_default() as graph:
        saver = v1.train.import_meta_graph(str(model_dir / "mnist-tf.model.meta"))
        X = graph.get_tensor_by_name("network/X:0")
        output = graph.get_tensor_by_name("network/output/MatMul:0")
        with v1.Session(graph=graph) as sess:
            saver.restore(sess, str(model_dir / "mnist-tf.model"))
            return np.argmax(sess.run(output, feed_dict={X: np.array(rows)}), axis=1).tolist()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """train.py's train() into a temporary folder, plus the rows to score and TensorFlow's predictions."""
    out = tmp_path_factory.mktemp("tf-mnist-outputs")
    result = _load_train_module().train(str(out), verbose=False)
    assert result["test_accuracy"] > 0.5, result["test_accuracy"]  # chance is 0.1
    model_dir = Path(result["model_dir"])
    assert {"mnist-tf.model.meta", "mnist-tf.model.index"} <= {p.name for p in model_dir.iterdir()}
    rows = result["x_test"][:N_ROWS].tolist()
    expected = tensorflow_predictions(model_dir, rows)
    assert len(expected) == N_ROWS
    # A trained model, not a constant one: several classes, mostly right.
    assert len(set(expected)) >= 5
    assert sum(p == y for p, y in zip(expected, result["y_test"][:N_ROWS].tolist())) >= N_ROWS // 2
    return {"model_dir": model_dir, "rows": rows, "expected": expected}


def _project(trained: dict, workdir: Path) -> Path:
    """The example's folder as deploy.py sees it: the checkpoint, score.py and myenv.yml."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(trained["model_dir"], workdir / "model")
    shutil.copy(EXAMPLE / "score.py", workdir / "score.py")
    shutil.copy(EXAMPLE / "myenv.yml", workdir / "myenv.yml")
    (workdir / "rows.json").write_text(json.dumps({"data": trained["rows"]}))
    return workdir


def deploy_and_score(ws, core, name: str, rows: list) -> dict:
    """Register ./model, deploy it as the seed does (1 replica) on a Standard_NC6 cluster, score ``rows``
    in one request through the gateway; delete the service and the cluster. ``core`` provides the
    azureml.core classes (the facade, or ``azureml.core`` after activation)."""
    AksCompute, ComputeTarget, InferenceConfig, Model, AksWebservice = core
    target = ComputeTarget.create(ws, "aks-gpu", AksCompute.provisioning_configuration(vm_size="Standard_NC6"))
    target.wait_for_completion()
    model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
    config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml", enable_gpu=True)
    service = Model.deploy(ws, name, [model], config,
                           AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=1, cpu_cores=2,
                                                              memory_gb=4), target)
    try:
        try:
            service.wait_for_deployment()
        except Exception as exc:  # report the service's logs with the failure
            return {"state": service.state, "error": str(getattr(exc, "message", exc)),
                    "logs": service.get_logs()}
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + service.get_keys()[0]}
        resp = requests.post(service.scoring_uri, json.dumps({"data": rows}), headers=headers, timeout=120)
        return {"state": service.state, "status": resp.status_code, "predictions": resp.json(),
                "logs": service.get_logs()}
    finally:
        service.delete()
        target.delete()


def test_service_predictions_equal_tensorflow_process_runtime(ws, trained, tmp_path, monkeypatch) -> None:
    from fake_azure.core.compute import AksCompute, ComputeTarget
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AksWebservice

    monkeypatch.chdir(_project(trained, tmp_path / "project"))
    result = deploy_and_score(ws, (AksCompute, ComputeTarget, InferenceConfig, Model, AksWebservice),
                              "tf-mnist-process", trained["rows"])
    assert result["state"] == "Healthy", result
    assert result["status"] == 200, result
    assert result["predictions"] == trained["expected"]


DOCKER_SCRIPT = textwrap.dedent('''
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import fake_azure
    fake_azure.activate()
    from azureml.core import Workspace
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.core.model import InferenceConfig, Model
    from azureml.core.webservice import AksWebservice
    sys.path.insert(0, sys.argv[1])
    from test_tf_mnist import deploy_and_score

    ws = Workspace("00000000-0000-0000-0000-0000000000cd", "rg-tf-mnist", "ws-tf-mnist")
    rows = json.load(open("rows.json"))["data"]
    result = deploy_and_score(ws, (AksCompute, ComputeTarget, InferenceConfig, Model, AksWebservice),
                              "tf-mnist-docker", rows)
    print(json.dumps(result))
''')


@pytest.mark.requires_docker
def test_service_predictions_equal_tensorflow_docker_runtime(trained, tmp_path) -> None:
    """The same, with the replica in a container whose image (built once) has tensorflow-cpu."""
    home = tmp_path / "home-docker"
    project = _project(trained, tmp_path / "project")
    env = {**os.environ, "FAKE_AZURE_HOME": str(home), "FAKE_AZURE_RUNTIME": "docker",
           "AZUREML_LOG_DEPRECATION_WARNING_ENABLED": "False"}
    env.pop("FAKE_AZURE_TARGET", None)
    try:
        proc = subprocess.run([sys.executable, "-c", DOCKER_SCRIPT, str(Path(__file__).parent)], cwd=project,
                              env=env, capture_output=True, text=True, timeout=1500)
        assert proc.returncode == 0, proc.stderr[-4000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["state"] == "Healthy", {k: str(v)[-3000:] for k, v in result.items()}
        assert result["status"] == 200, result
        assert result["predictions"] == trained["expected"]
    finally:
        subprocess.run([CLI, "down"], env=env, capture_output=True, timeout=180)
