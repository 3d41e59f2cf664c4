"""SDK v2 online-endpoint benchmark: the real azure-ai-ml client against the local cloud.

Figures (p50/p99, ms): an endpoint's create (``begin_create_or_update(...).result()``: the workspace GET, the
PUT, the operation poll, the final GET and the deployments list), ``online_endpoints.get``; one deployment's
create to Succeeded with its environment already prepared (the second and later rounds reuse it; each round
also creates its endpoint first), beside a bare start of the same score.py: ``.venv/bin/azmlinfsrv`` run
directly as a subprocess (AZUREML_MODEL_DIR set to the model folder, a free port) until it answers the
readiness route the project probes (scoring/probe.py, ``GET /`` -> 200 ``Healthy``), then stopped; and
scoring: ``invoke`` (GET endpoint, listKeys, POST), a direct HTTPS POST to the scoring URI with the key on a
kept connection, and the same request straight to the deployment's gateway route (what the scoring front adds
is the difference).
Issue 14's targets: endpoint create p50 < 50 ms; deployment create p50 within 1.5x the bare azmlinfsrv start
p50; invoke within 1 ms p50 of a direct replica call plus its control-plane lookups. Nothing here is asserted.
Results: bench/results/v2_endpoints.json."""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from _stats import percentile  # bench/, this script's directory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout: scoring (the project's own readiness probe)

from scoring.probe import ProbeResult, wait_ready  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "50"))
DEPLOY_ROUNDS = int(os.environ.get("BENCH_DEPLOY_ROUNDS", "5"))
BARE_ROUNDS = int(os.environ.get("BENCH_BARE_ROUNDS", str(max(DEPLOY_ROUNDS, 5))))
TARGET_DEPLOY_RATIO = 1.5
BARE_READY_TIMEOUT_S = 120.0
SUBSCRIPTION = "00000000-0000-0000-0000-00000000beef"
SCORE = "import json\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return json.loads(raw_data)\n"


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    fn()  # warm-up: first-import and connection set-up costs are not what we measure
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bare_start(src: Path, model_dir: Path) -> float:
    """Start azmlinfsrv on ``src/score.py``, wait until its readiness route answers, stop it: the ms from the
    spawn to the first ready answer (the stop is not counted)."""
    port = free_port()
    env = {**os.environ, "AZUREML_MODEL_DIR": str(model_dir), "PYTHONUNBUFFERED": "1"}
    began = time.perf_counter()
    # Own session: azmlinfsrv runs gunicorn, whose workers must go down with it.
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "azmlinfsrv"), "--entry_script", str(src / "score.py"),
                             "--port", str(port)], cwd=src, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        result = wait_ready(("127.0.0.1", port), time.monotonic() + BARE_READY_TIMEOUT_S,
                            lambda: proc.poll() is None)
        ready_ms = (time.perf_counter() - began) * 1000
        if result is not ProbeResult.READY:
            raise RuntimeError(f"bare azmlinfsrv on port {port}: {result.value}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return ready_ms


def main() -> int:
    os.environ["FAKE_AZURE_HOME"] = home = tempfile.mkdtemp(prefix="fa-bench-v2e-")
    import fake_azure

    fake_azure.activate()
    import requests
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import (
        CodeConfiguration,
        Environment,
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
    )
    from azure.identity import DefaultAzureCredential

    from emulator import daemon
    from fake_azure.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="fa-bench-v2e-work-"))
    (work / "model").mkdir()
    (work / "model" / "w.json").write_text("{}")
    (work / "src").mkdir()
    (work / "src" / "score.py").write_text(SCORE)
    (work / "env.yml").write_text("name: bench\ndependencies:\n  - python=3.11\n")
    (work / "request.json").write_text(json.dumps({"data": [1, 2, 3]}))
    counter = iter(range(10 ** 9))
    try:
        client = MLClient(DefaultAzureCredential(), SUBSCRIPTION, "bench-rg", "bench-ws")
        model = client.models.create_or_update(Model(name="bench", version="1", path=str(work / "model")))
        env = client.environments.create_or_update(Environment(name="bench", version="1", image="python:3.11",
                                                               conda_file=str(work / "env.yml")))

        def deploy() -> None:
            name = f"ep{next(counter)}"
            client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name=name)).result()
            client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
                name="blue", endpoint_name=name, model=model, environment=env, instance_type="Standard_DS3_v2",
                code_configuration=CodeConfiguration(code=str(work / "src"), scoring_script="score.py"),
                instance_count=1)).result()

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            results = {
                "endpoint_create": timed(lambda: client.online_endpoints.begin_create_or_update(
                    ManagedOnlineEndpoint(name=f"ep{next(counter)}")).result(), ROUNDS),
                "endpoint_get": timed(lambda: client.online_endpoints.get("ep0"), ROUNDS),
                "deployment_create": timed(deploy, DEPLOY_ROUNDS),
                # Right after the deployments, with the daemon and its replicas up: the same load.
                # The first start (cold imports) left out, as timed() does.
                "bare_azmlinfsrv_ready": [bare_start(work / "src", work / "model")
                                          for _ in range(BARE_ROUNDS + 1)][1:],
            }
            endpoint = ManagedOnlineEndpoint(name="scored")
            client.online_endpoints.begin_create_or_update(endpoint).result()
            client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
                name="blue", endpoint_name="scored", model=model, environment=env, instance_type="Standard_DS3_v2",
                code_configuration=CodeConfiguration(code=str(work / "src"), scoring_script="score.py"),
                instance_count=1)).result()
            endpoint.traffic = {"blue": 100}
            scoring_uri = client.online_endpoints.begin_create_or_update(endpoint).result().scoring_uri
            key = client.online_endpoints.get_keys("scored").primary_key
            auth = {"Authorization": f"Bearer {key}"}
            with sqlite3.connect(Path(home) / "state.db") as conn:
                gateway_uri = json.loads(conn.execute("SELECT body FROM services WHERE name = 'scored~blue'")
                                         .fetchone()[0])["scoringUri"]
            session = requests.Session()
            payload = {"data": [1, 2, 3]}
            results["invoke"] = timed(lambda: client.online_endpoints.invoke(
                endpoint_name="scored", request_file=str(work / "request.json")), ROUNDS)
            results["https_score_with_key"] = timed(lambda: session.post(scoring_uri, json=payload, headers=auth),
                                                    ROUNDS)
            results["gateway_route_direct"] = timed(lambda: session.post(gateway_uri, json=payload, headers=auth),
                                                    ROUNDS)
    finally:
        fake_azure.deactivate()
        daemon.stop(Settings.from_env())
    report: dict = {"rounds": ROUNDS, "deploy_rounds": DEPLOY_ROUNDS, "bare_rounds": BARE_ROUNDS, "calls_ms": {}}
    print(f"{'call':<24}{'p50 ms':>9}{'p99 ms':>9}")
    for name, samples in results.items():
        p50, p99 = statistics.median(samples), percentile(samples, 0.99)
        print(f"{name:<24}{p50:>9.2f}{p99:>9.2f}")
        report["calls_ms"][name] = {"p50": p50, "p99": p99}
    ratio = statistics.median(results["deployment_create"]) / statistics.median(results["bare_azmlinfsrv_ready"])
    report["deployment_create_vs_bare_start"] = {"ratio_p50": round(ratio, 3), "target_ratio": TARGET_DEPLOY_RATIO,
                                                 "met": ratio <= TARGET_DEPLOY_RATIO}
    print(f"deployment create / bare azmlinfsrv start (p50): {ratio:.2f}x (target <= {TARGET_DEPLOY_RATIO}x: "
          f"{'met' if ratio <= TARGET_DEPLOY_RATIO else 'MISSED'})")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "v2_endpoints.json").write_text(json.dumps(report, indent=2))
    print(f"written: {out / 'v2_endpoints.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
