"""LocalWebservice on the local cloud: Model.deploy with a Local config runs one replica straight on
the chosen port (no gateway, no auth), with the SDK's lower-case states and messages."""
from __future__ import annotations

import json
import os
import shutil
import socket
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


def init():
    global weights
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.json")) as handle:
        weights = json.load(handle)
    print("init: local replica ready", flush=True)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    return {"version": VERSION, "result": [int(sum(w * x for w, x in zip(weights["w"], row)) + weights["b"] > 0)
                                           for row in rows]}


VERSION = 1
'''

CRASHING_SCORE_PY = '''\
def init():
    print("init: about to fail", flush=True)
    raise RuntimeError("weights are missing")


def run(raw_data):
    return raw_data
'''

BODY = json.dumps({"data": [[1, 0, 0, 0], [0, 1, 0, 0]]})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)
        return True
    except requests.ConnectionError:
        return False


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(SEED / "model", tmp_path / "model")
    shutil.copy(SEED / "myenv.yml", tmp_path / "myenv.yml")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE_PY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _deploy(ws, name: str, port: int | None, entry_source: str = "src"):
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import LocalWebservice

    model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
    inference_config = InferenceConfig(runtime="python", entry_script="score.py", source_directory=entry_source,
                                       conda_file="../myenv.yml")
    return Model.deploy(ws, name, [model], inference_config, LocalWebservice.deploy_configuration(port=port))


def test_local_service_lifecycle(ws, workdir, capsys):
    from fake_azure.core.webservice import LocalWebservice, Webservice

    port = free_port()
    service = _deploy(ws, "local-svc", port)
    assert isinstance(service, LocalWebservice)
    assert service.state == "deploying"
    assert service.port == port
    assert service.scoring_uri == f"http://localhost:{port}/score"
    assert service.swagger_uri == f"http://localhost:{port}/swagger.json"
    capsys.readouterr()

    service.wait_for_deployment(show_output=True)
    assert capsys.readouterr().out == ("Checking container health...\n"
                                       f"Local webservice is running at http://localhost:{port}\n")
    assert service.state == "running"
    assert service.scoring_uri == f"http://localhost:{port}/score"

    assert service.run(BODY) == {"version": 1, "result": [1, 0]}
    # No key, no token: the replica itself answers, as a local container does.
    direct = requests.post(service.scoring_uri, data=BODY, headers={"Content-Type": "application/json"})
    assert direct.status_code == 200 and direct.json()["result"] == [1, 0]
    with pytest.raises(NotImplementedError, match=r"^Local web services do not support auth keys\.$"):
        service.get_keys()
    with pytest.raises(NotImplementedError, match="Token Authentication"):
        service.get_token()
    assert "init: local replica ready" in service.get_logs()

    # Found again by name; not a cloud service.
    again = LocalWebservice(ws, "local-svc")
    assert again.state == "running" and again.port == port
    assert [s.name for s in LocalWebservice.list(ws)] == ["local-svc"]
    assert "local-svc" not in ws.webservices
    with pytest.raises(WebserviceException, match="WebserviceNotFound"):
        Webservice(ws, "local-svc")

    # reload(): the edited score.py on disk is copied again and the service restarts on the same port.
    (workdir / "src" / "score.py").write_text(SCORE_PY.replace("VERSION = 1", "VERSION = 2"))
    service.reload(wait=True)
    assert service.state == "running" and service.port == port
    assert service.run(BODY) == {"version": 2, "result": [1, 0]}

    service.delete()
    assert service.state == "deleted"
    assert not answers(port)
    with pytest.raises(WebserviceException) as info:
        service.delete()
    assert info.value.message == "Cannot call delete() when service is deleted."
    with pytest.raises(WebserviceException) as info:
        LocalWebservice(ws, "local-svc")
    assert info.value.message == "WebserviceNotFound: No local container with name local-svc"
    assert LocalWebservice(ws, "local-svc", must_exist=False).state == "unknown"


def test_init_crash_fails_like_a_crashed_container(ws, workdir, capsys):
    (workdir / "src" / "score.py").write_text(CRASHING_SCORE_PY)
    service = _deploy(ws, "local-crash", None)
    assert service.state == "deploying" and service.port
    capsys.readouterr()
    with pytest.raises(WebserviceException) as info:
        service.wait_for_deployment()
    assert info.value.message == "Error: Container has crashed. Did your init method fail?"
    assert service.state == "failed"
    out = capsys.readouterr().out
    assert out.startswith("Checking container health...\n\nContainer Logs:\n")
    assert "weights are missing" in out
    with pytest.raises(WebserviceException) as info:
        service.run(BODY)
    assert info.value.message == "Cannot call run() when service is failed."
    service.delete()
    assert service.state == "deleted"


def test_a_failed_environment_build_is_reported_as_the_sdks_image_build_failure(ws, workdir, capsys):
    # A conda constraint that cannot be translated: refused before anything is built.
    (workdir / "myenv.yml").write_text("name: e\ndependencies:\n- python=3.11\n- numpy >=1.2|<1.0\n")
    service = _deploy(ws, "local-nobuild", None)
    capsys.readouterr()
    with pytest.raises(WebserviceException) as info:
        service.wait_for_deployment()
    refusal = "numpy >=1.2|<1.0: conda 'or' version constraints ('|') cannot be translated to pip"
    # azureml._model_management._util.build_docker_image's error, not "Container has crashed".
    assert info.value.message.startswith("Error: docker image build has failed: ")
    assert refusal in info.value.message
    assert service.state == "failed"
    assert refusal in capsys.readouterr().out  # the build's output, as the SDK streams it
    assert refusal in service.get_logs()
    service.delete()


def test_port_in_use(ws, workdir):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(WebserviceException) as info:
            _deploy(ws, "local-busy", port)
    assert info.value.message.startswith("Docker container start has failed, the port you are attempting to use "
                                         "is already in use:\n")
    assert f"port {port} is already in use" in info.value.message


def _leave_time_wait(port: int) -> None:
    """Close a served connection from the server's side, as a replica does: its socket (local port
    ``port``) lingers in TIME_WAIT for a minute once the listener is gone."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        with socket.create_connection(("127.0.0.1", port)) as client:
            served, _ = listener.accept()
            served.close()  # the active close: TIME_WAIT is on this side
            client.recv(1)


def test_redeploying_on_a_port_left_in_time_wait(ws, workdir):
    port = free_port()
    _leave_time_wait(port)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain:  # the lingering socket is there
        with pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
    # The SDK's Docker publishes a port whose old connections linger: nothing listens, it is free.
    service = _deploy(ws, "local-timewait", port)
    service.wait_for_deployment()
    assert service.state == "running" and service.port == port
    assert service.run(BODY)["result"] == [1, 0]
    service.delete()


VERSION_SCORE_PY = """\
import json
import sys


def init():
    print("init: Python %d.%d" % sys.version_info[:2], flush=True)


def run(raw_data):
    return {"python": "%d.%d" % sys.version_info[:2], "rows": len(json.loads(raw_data)["data"])}
"""


def test_the_sdk_default_environment_deploys_on_the_python_it_asks_for(ws, workdir):
    from emulator.environments import find_interpreter
    from fake_azure.core.environment import Environment
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import LocalWebservice

    # Environment("e") of azureml-core 1.61: python=3.8.13 and azureml-defaults, as the notebooks use it.
    (workdir / "src" / "score.py").write_text(VERSION_SCORE_PY)
    model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
    config = InferenceConfig(entry_script="score.py", source_directory="src", environment=Environment("e"))
    service = Model.deploy(ws, "local-env-e", [model], config, LocalWebservice.deploy_configuration())
    service.wait_for_deployment()
    answer = service.run(BODY)
    logs = service.get_logs()
    in_container = os.environ.get("FAKE_AZURE_RUNTIME") == "docker"
    if not in_container and find_interpreter("3.8"):  # pyenv, PATH or uv has one here: that is what runs
        assert answer == {"python": "3.8", "rows": 2}
        assert "init: Python 3.8" in logs and "WARNING: python=3.8.13" not in logs
    else:  # FAKE_AZURE_PYTHON_POLICY=nearest: another one, said in the build log
        where = "in the base image" if in_container else "on this machine"
        assert f"WARNING: python=3.8.13: no Python 3.8 interpreter {where}" in logs
        assert answer["python"] != "3.8" and answer["rows"] == 2
    service.delete()


def test_a_local_service_can_be_deleted_while_it_deploys(ws, workdir):
    from fake_azure.core.webservice import LocalWebservice

    service = _deploy(ws, "local-early", None)
    assert service.state == "deploying"
    deploying = service._operation_endpoint
    service.delete()  # LocalWebservice allows delete() while deploying: Docker removes the container
    assert service.state == "deleted"
    # The deployment's operation ends there: its outcome must never land on a later service of that name.
    assert ws._client.json("GET", deploying, "webservice.operation")["state"] == "Cancelled"
    with pytest.raises(WebserviceException, match="WebserviceNotFound"):
        LocalWebservice(ws, "local-early")


HANGING_INIT_SCORE = """\
import threading


def init():
    threading.Event().wait()  # never ready


def run(raw_data):
    return raw_data
"""


def test_deleting_a_local_service_whose_init_hangs_does_not_wait_for_it(ws, workdir):
    import threading

    (workdir / "src" / "score.py").write_text(HANGING_INIT_SCORE)
    service = _deploy(ws, "local-hang", None)
    deleting = threading.Thread(target=service.delete, daemon=True)
    deleting.start()
    # The SDK removes the container at once; the deployment's readiness wait (300 s) must not hold it.
    deleting.join(60)
    assert not deleting.is_alive() and service.state == "deleted"
