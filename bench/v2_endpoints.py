"""SDK v2 online-endpoint benchmark: the real azure-ai-ml client against the local cloud.

Figures (p50/p99, ms): an endpoint's create (``begin_create_or_update(...).result()``: the workspace GET, the
PUT, the operation poll, the final GET and the deployments list), ``online_endpoints.get``; one deployment's
create to Succeeded with its environment already prepared (the second and later rounds reuse it), beside the
time a bare replica takes to start (the core's own figure of that run); and scoring: ``invoke`` (GET endpoint,
listKeys, POST), a direct HTTPS POST to the scoring URI with the key on a kept connection, and the same
request straight to the deployment's gateway route (what the scoring front adds is the difference).
Issue 14's targets: endpoint create p50 < 50 ms; invoke within 1 ms p50 of a direct replica call plus its
control-plane lookups. Nothing here is asserted."""
from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from _stats import percentile  # bench/, this script's directory

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "50"))
DEPLOY_ROUNDS = int(os.environ.get("BENCH_DEPLOY_ROUNDS", "5"))
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
    report: dict = {"rounds": ROUNDS, "deploy_rounds": DEPLOY_ROUNDS, "calls_ms": {}}
    print(f"{'call':<24}{'p50 ms':>9}{'p99 ms':>9}")
    for name, samples in results.items():
        p50, p99 = statistics.median(samples), percentile(samples, 0.99)
        print(f"{name:<24}{p50:>9.2f}{p99:>9.2f}")
        report["calls_ms"][name] = {"p50": p50, "p99": p99}
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "v2_endpoints.json").write_text(json.dumps(report, indent=2))
    print(f"written: {out / 'v2_endpoints.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
