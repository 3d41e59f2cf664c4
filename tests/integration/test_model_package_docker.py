"""Model.package on the docker runtime: the image is built on the engine and serves the model on port 5001,
and a saved build context builds with ``docker build`` (the notebook's ``package.pull()`` / ``save()`` flows);
Model.profile measures a container replica.

The package calls run in a program under ``fake-azure run`` against a fresh home whose daemon uses the
docker runtime; the test then runs the image, and builds the saved context, on the same engine."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests
from polling import poll

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-workflow"

pytestmark = pytest.mark.requires_docker

SCORE_PY = '''\
import json
import os

from azureml.core.model import Model


def init():
    global weights
    with open(os.path.join(Model.get_model_path("pkg-model"), "weights.json")) as handle:
        weights = json.load(handle)


def run(raw_data):
    return [sum(w * x for w, x in zip(weights["w"], row)) for row in json.loads(raw_data)["data"]]
'''

PROGRAM = '''
import json, sys, warnings
warnings.simplefilter("ignore")
from azureml.core import Environment, Workspace
from azureml.core.model import InferenceConfig, Model

ws = Workspace("00000000-0000-0000-0000-000000000001", "rg-pkg", "ws-pkg")
model = Model.register(ws, model_path="model", model_name="pkg-model")
inference_config = InferenceConfig(entry_script="score.py",
                                   environment=Environment.from_conda_specification("pkg-env", "myenv.yml"))
image = Model.package(ws, [model], inference_config, image_name="pkg-test", image_label="v1")
image.wait_for_creation(show_output=False)
image.pull()
context = Model.package(ws, [model], inference_config, generate_dockerfile=True)
context.wait_for_creation()
context.save(sys.argv[1])
profile = Model.profile(ws, "pkg-profile", [model], inference_config,
                        input_dataset=[json.dumps({"data": [[1, 2, 3, 4]]})] * 10, cpu=0.5, memory_in_gb=1)
profile.wait_for_completion()
print(json.dumps({"location": image.location, "state": image.state, "repr": repr(image),
                  "profile": profile.get_details()}))
'''


def _weights_score(rows: list[list[float]]) -> list[float]:
    weights = json.loads((SEED / "model" / "weights.json").read_text())
    return [sum(w * x for w, x in zip(weights["w"], row)) for row in rows]


def _serve_and_score(client, image: str) -> None:
    container = client.containers.run(image, detach=True, ports={"5001/tcp": ("127.0.0.1", None)},
                                      labels={"fake-azure.test": "package"})
    try:
        container.reload()
        port = int(container.attrs["NetworkSettings"]["Ports"]["5001/tcp"][0]["HostPort"])
        body = {"data": [[1, 2, 3, 4]]}

        def scored():
            try:
                response = requests.post(f"http://127.0.0.1:{port}/score", json=body, timeout=5)
            except requests.RequestException:
                return None
            return response if response.status_code == 200 else None

        response = poll(scored, 120)
        assert response, container.logs().decode(errors="replace")[-2000:]
        assert response.json() == _weights_score(body["data"])
    finally:
        container.remove(force=True)


def test_a_package_image_serves_the_model_and_a_saved_context_builds(tmp_path: Path) -> None:
    docker = pytest.importorskip("docker")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(SEED / "model", work / "model")
    shutil.copy(SEED / "myenv.yml", work / "myenv.yml")
    (work / "score.py").write_text(SCORE_PY)
    (work / "program.py").write_text(textwrap.dedent(PROGRAM))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
    env.update(FAKE_AZURE_HOME=str(tmp_path / "home"), FAKE_AZURE_RUNTIME="docker",
               FAKE_AZURE_BASE_IMAGE=os.environ.get("FAKE_AZURE_BASE_IMAGE", "python:3.11-slim"))
    cli = [sys.executable, "-m", "emulator"]
    try:
        done = subprocess.run([*cli, "run", "--", sys.executable, "program.py", str(tmp_path / "context")],
                              env=env, cwd=work, capture_output=True, text=True, timeout=1500)
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        subprocess.run([*cli, "down"], env=env, capture_output=True, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["state"] == "Succeeded" and result["location"] == "pkg-test:v1"
    assert result["repr"].endswith("generate_dockerfile=False, state=Succeeded, location=pkg-test:v1)")
    profile = result["profile"]  # measured in a container limited to 0.5 cores and 1 GB
    assert profile["state"] == "Succeeded" and profile["successQueries"] == 10, profile
    assert profile["requestedCpu"] == 0.5 and 0.005 < profile["maxUtilizedMemoryInGB"] < 1
    assert profile["maxUtilizedCpu"] <= 0.75  # the limit holds (sampling adds a little noise)
    client = docker.from_env()
    try:
        _serve_and_score(client, "pkg-test:v1")
        built, _ = client.images.build(path=str(tmp_path / "context"), tag="pkg-test:from-context", rm=True,
                                       network_mode="host")
        _serve_and_score(client, "pkg-test:from-context")
    finally:
        for tag in ("pkg-test:v1", "pkg-test:from-context"):
            try:
                client.images.remove(tag, force=True)
            except docker.errors.ImageNotFound:
                pass
