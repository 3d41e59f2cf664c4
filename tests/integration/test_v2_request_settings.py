"""What a managed deployment's request_settings and liveness_probe do, seen by a caller of the real azure-ai-ml
client (1.35): the scoring timeout answered 408, at most 2 x max_concurrent_requests_per_instance x instances
requests held at once (429 past it), the model's own non-200 answer as 424 with the model's status in
``ms-azureml-model-error-statuscode`` (Azure's troubleshooting table for online endpoints), and a replica that
stops answering its liveness probe restarted."""
from __future__ import annotations

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
    ProbeSettings,
)
from azure.core.exceptions import HttpResponseError
from polling import poll

# The model the replicas run: its sleeps are a slow init() or run() under test, not the test waiting.
SCORE = '''
import json, os, signal, threading, time

def init():
    time.sleep(float(os.environ.get("INIT_SLEEP", "0")))
    print("init: ready", flush=True)

def _freeze():
    time.sleep(0.3)
    os.kill(os.getpid(), signal.SIGSTOP)  # stops answering anything, the liveness probe included

def run(raw_data):
    asked = json.loads(raw_data)
    if asked.get("fail"):
        raise ValueError("the model refused this input")
    if asked.get("mark"):  # tells the test this request is being scored
        open(asked["mark"], "w").close()
    if asked.get("hang"):
        threading.Thread(target=_freeze, daemon=True).start()
    time.sleep(asked.get("sleep", 0))
    return {"echo": asked}
'''


def _deploy(ml_client: Any, tmp_path: Path, **settings: Any) -> tuple[str, dict[str, str]]:
    """A one-instance deployment taking all traffic: (scoring URI, the key's Authorization header)."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text("{}")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    (tmp_path / "env.yml").write_text("name: settings\ndependencies:\n  - python=3.11\n")
    endpoint = ManagedOnlineEndpoint(name="settings", auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    ml_client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
        name="blue", endpoint_name="settings", model=Model(path=str(tmp_path / "model")),
        environment=Environment(conda_file=str(tmp_path / "env.yml"),
                                image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"),
        code_configuration=CodeConfiguration(code=str(tmp_path / "src"), scoring_script="score.py"),
        instance_type="Standard_DS3_v2", instance_count=1, **settings)).result()
    endpoint.traffic = {"blue": 100}
    scoring_uri = ml_client.online_endpoints.begin_create_or_update(endpoint).result().scoring_uri
    return scoring_uri, {"Authorization": "Bearer " + ml_client.online_endpoints.get_keys("settings").primary_key}


def test_the_models_own_failure_is_answered_424_with_its_status(ml_client: Any, tmp_path: Path) -> None:
    uri, auth = _deploy(ml_client, tmp_path)
    failed = requests.post(uri, json={"fail": True}, headers=auth, timeout=30)
    assert failed.status_code == 424
    assert failed.headers["ms-azureml-model-error-statuscode"] == "500"
    assert failed.headers["ms-azureml-model-error-reason"] == "model_error"
    assert failed.headers["azureml-model-deployment"] == "blue"
    assert failed.text  # the model server's own body, passed on
    served = requests.post(uri, json={"x": 1}, headers=auth, timeout=30)
    assert served.status_code == 200 and served.json() == {"echo": {"x": 1}}
    assert "ms-azureml-model-error-statuscode" not in served.headers


def test_a_request_past_the_request_timeout_is_answered_408(ml_client: Any, tmp_path: Path) -> None:
    uri, auth = _deploy(ml_client, tmp_path, request_settings=OnlineRequestSettings(request_timeout_ms=1000))
    assert ml_client.online_deployments.get(name="blue", endpoint_name="settings") \
        .request_settings.request_timeout_ms == 1000
    late = requests.post(uri, json={"sleep": 3}, headers=auth, timeout=30)
    assert late.status_code == 408
    # The replica is still scoring the late request (Azure does not stop it either); once done it serves again.
    assert poll(lambda: requests.post(uri, json={"sleep": 0.1}, headers=auth, timeout=30).status_code == 200,
                timeout=30)


def test_requests_past_twice_the_concurrency_are_answered_429_at_once(ml_client: Any, tmp_path: Path) -> None:
    """One instance taking one request at a time holds two (one scored, one waiting); the queue wait is long
    enough for all four, so only the pending limit can refuse two of them, and it does so at once."""
    uri, auth = _deploy(ml_client, tmp_path, request_settings=OnlineRequestSettings(
        max_concurrent_requests_per_instance=1, max_queue_wait_ms=20000, request_timeout_ms=20000))

    def timed_post(_: int) -> tuple[requests.Response, float]:
        started = time.monotonic()
        answer = requests.post(uri, json={"sleep": 3}, headers=auth, timeout=60)
        return answer, time.monotonic() - started

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(timed_post, range(4)))
    assert sorted(a.status_code for a, _ in answers) == [200, 200, 429, 429]
    refused = [(a, took) for a, took in answers if a.status_code == 429]
    assert all(a.headers["ms-azureml-model-error-reason"] == "too_many_pending_request" and a.content == b""
               for a, _ in refused)
    assert all(took < 3 for _, took in refused)  # before the first request was scored: not after a queue wait


def test_a_replica_failing_its_liveness_probe_is_restarted(ml_client: Any, tmp_path: Path,
                                                           emulator_home: Path) -> None:
    probe = ProbeSettings(initial_delay=1, period=1, timeout=1, failure_threshold=2, success_threshold=1)
    uri, auth = _deploy(ml_client, tmp_path, liveness_probe=probe)
    assert requests.post(uri, json={"hang": True}, headers=auth, timeout=30).status_code == 200

    def restarts() -> list[int]:
        with sqlite3.connect(emulator_home / "state.db") as conn:
            (body,) = conn.execute("SELECT body FROM services WHERE name = 'settings~blue' AND workspace_id LIKE ?",
                                   (f"%/{ml_client.workspace_name}",)).fetchone()
        return [r["restarts"] for r in json.loads(body)["fakeAzure"]["replicas"]]

    assert poll(lambda: restarts() == [1], timeout=60), restarts()
    assert "failed 2 liveness probes in a row" in ml_client.online_deployments.get_logs(
        name="blue", endpoint_name="settings", lines=200)
    assert poll(lambda: requests.post(uri, json={"x": 2}, headers=auth, timeout=30).status_code == 200, timeout=30)
    assert ml_client.online_deployments.get(name="blue", endpoint_name="settings").provisioning_state == "Succeeded"


def test_a_replica_not_ready_within_its_readiness_probe_fails_the_deployment(ml_client: Any, tmp_path: Path) -> None:
    """The readiness probe bounds how long init() may take: initial delay + period x failure threshold (310 s by
    Azure's defaults); past it the deployment fails with ResourceNotReady and says why in its log."""
    slow = ProbeSettings(initial_delay=1, period=1, timeout=1, failure_threshold=2, success_threshold=1)
    with pytest.raises(HttpResponseError) as failed:
        _deploy(ml_client, tmp_path, readiness_probe=slow, environment_variables={"INIT_SLEEP": "20"})
    assert failed.value.error is not None and failed.value.error.code == "ResourceNotReady"
    assert ml_client.online_deployments.get(name="blue", endpoint_name="settings").provisioning_state == "Failed"
    assert "was not ready within 3 s (readiness probe failed)" in ml_client.online_deployments.get_logs(
        name="blue", endpoint_name="settings", lines=200)


def test_a_request_waits_for_a_slot_within_the_request_timeout_not_max_queue_wait(ml_client: Any,
                                                                                  tmp_path: Path) -> None:
    """Azure deprecated maxQueueWait for managed endpoints: a request within the pending limit waits for a slot as
    long as its request timeout allows (it was refused 429 after the 500 ms default queue wait)."""
    uri, auth = _deploy(ml_client, tmp_path)  # 1 instance, 1 request at a time, 5 s timeout, 500 ms queue wait
    with ThreadPoolExecutor(2) as pool:
        scoring = tmp_path / "scoring"
        first = pool.submit(requests.post, uri, json={"sleep": 1.5, "mark": str(scoring)}, headers=auth, timeout=30)
        assert poll(scoring.exists, timeout=30)  # the one slot is taken: the next request has to wait for it
        second = pool.submit(requests.post, uri, json={"x": 1}, headers=auth, timeout=30)
        assert [first.result().status_code, second.result().status_code] == [200, 200]
