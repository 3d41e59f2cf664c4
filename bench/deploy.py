"""Deployment benchmark (loopback only, bounded, in its own temporary FAKE_AZURE_HOME).

(a) Time to Healthy: Model.deploy -> wait_for_deployment on a cached environment (a warm-up
    deployment runs first) vs a bare ``azmlinfsrv --entry_script score.py --port P`` answering
    GET / with 200. Target: deploy <= 1.5x the bare server (median of BENCH_DEPLOY_ROUNDS each).
(b) Real replicas: a score.py that sleeps 20 ms, 1 replica vs 3 (num_replicas, autoscale off,
    replica_max_concurrent_requests=1, max_request_wait_time=5000), 12 keep-alive http.client
    threads, BENCH_REQUESTS requests per configuration through the cluster's gateway.
    Target: throughput ratio >= 2.7x.
The daemon is stopped at the end. Results: bench/results/deploy.json.
Run: .venv/bin/python bench/deploy.py"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: emulator

from emulator.resources.services.service import free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY_ROUNDS = int(os.environ.get("BENCH_DEPLOY_ROUNDS", "3"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
CONCURRENCY = 12
TARGET_DEPLOY_RATIO = 1.5
TARGET_THROUGHPUT_RATIO = 2.7
READY_DEADLINE_S = 120.0
PAYLOAD = b'{"data": [[1.0, 2.0, 3.0]]}'

SCORE_PY = '''\
import json
import time


def init():
    pass


def run(raw_data):
    time.sleep(0.02)
    return {"ok": len(json.loads(raw_data)["data"])}
'''


def bare_server_seconds(workdir: Path) -> float:
    """Start azmlinfsrv on score.py and time until GET / answers 200."""
    azmlinfsrv = Path(sys.executable).parent / "azmlinfsrv"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
    log = open(workdir / f"bare-{port}.log", "w")
    started = time.monotonic()
    proc = subprocess.Popen([str(azmlinfsrv), "--entry_script", "score.py", "--port", str(port)], cwd=workdir,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = started + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"azmlinfsrv exited with {proc.returncode}; see {log.name}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            threading.Event().wait(0.01)
        raise RuntimeError("azmlinfsrv did not answer GET / in time")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its gunicorn workers (our own group)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def deploy(ws, target, model, name: str, config):
    from fake_azure.core.model import InferenceConfig, Model

    inference_config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        service = Model.deploy(ws, name, [model], inference_config, config, target, overwrite=True)
    service.wait_for_deployment()
    if service.state != "Healthy":
        raise RuntimeError(f"{name} is {service.state}: {service.get_logs()}")
    return service


def load(uri: str, key: str, total: int) -> dict:
    """``total`` POSTs from CONCURRENCY keep-alive connections; returns throughput and statuses."""
    parts = urlsplit(uri)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + key}
    remaining = [total]
    lock = threading.Lock()
    statuses: dict[int, int] = {}
    latencies: list[float] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            while True:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                t0 = time.perf_counter()
                conn.request("POST", parts.path, body=PAYLOAD, headers=headers)
                response = conn.getresponse()
                response.read()
                elapsed = time.perf_counter() - t0
                with lock:
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    latencies.append(elapsed)
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = time.perf_counter() - started
    ok = statuses.get(200, 0)
    latencies.sort()
    return {"requests": total, "ok": ok, "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "seconds": round(elapsed, 3), "throughput_rps": round(ok / elapsed, 1),
            "p50_ms": round(1000 * latencies[len(latencies) // 2], 2) if latencies else None,
            "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2)
            if latencies else None}


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="fake-azure-bench-deploy-"))
    workdir = home / "work"
    workdir.mkdir()
    shutil.copytree(ROOT / "examples" / "seed-workflow" / "model", workdir / "model")
    shutil.copy(ROOT / "examples" / "seed-workflow" / "myenv.yml", workdir / "myenv.yml")
    (workdir / "score.py").write_text(SCORE_PY)
    for key in [k for k in os.environ if k.startswith("FAKE_AZURE_")]:
        del os.environ[key]
    os.environ["FAKE_AZURE_HOME"] = str(home / "home")
    os.chdir(workdir)

    from emulator import daemon
    from fake_azure.core import Workspace
    from fake_azure.core.compute import AksCompute, ComputeTarget
    from fake_azure.core.model import Model
    from fake_azure.core.webservice import AksWebservice
    from fake_azure.settings import Settings

    settings = Settings.from_env()
    daemon.ensure_running(settings)
    results: dict = {}
    try:
        ws = Workspace("00000000-0000-0000-0000-0000000000be", "rg-bench", "ws-bench-deploy")
        target = ComputeTarget.create(ws, "aks-bench", AksCompute.provisioning_configuration(vm_size="Standard_D3_v2"))
        target.wait_for_completion()
        model = Model.register(ws, model_path="model", model_name="bench-model")
        single = AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False)

        # (a) time to Healthy, environment cached by a warm-up deployment
        deploy(ws, target, model, "bench-warmup", single).delete()
        deploy_times, bare_times = [], []
        for round_ in range(DEPLOY_ROUNDS):
            started = time.monotonic()
            service = deploy(ws, target, model, f"bench-timed-{round_}", single)
            deploy_times.append(time.monotonic() - started)
            service.delete()
            bare_times.append(bare_server_seconds(workdir))
        deploy_s, bare_s = statistics.median(deploy_times), statistics.median(bare_times)
        results["time_to_healthy"] = {
            "deploy_s": round(deploy_s, 3), "bare_azmlinfsrv_s": round(bare_s, 3),
            "ratio": round(deploy_s / bare_s, 2), "target_ratio_max": TARGET_DEPLOY_RATIO,
            "met": deploy_s / bare_s <= TARGET_DEPLOY_RATIO,
            "deploy_runs_s": [round(t, 3) for t in deploy_times], "bare_runs_s": [round(t, 3) for t in bare_times]}
        print(f"(a) Model.deploy -> Healthy: {deploy_s:.2f} s (median of {DEPLOY_ROUNDS}); bare azmlinfsrv -> "
              f"GET / 200: {bare_s:.2f} s; ratio {deploy_s / bare_s:.2f}x (target <= {TARGET_DEPLOY_RATIO}x)",
              flush=True)

        # (b) real replicas behind the gateway
        runs = {}
        for replicas in (1, 3):
            config = AksWebservice.deploy_configuration(num_replicas=replicas, autoscale_enabled=False,
                                                        replica_max_concurrent_requests=1,
                                                        max_request_wait_time=5000)
            service = deploy(ws, target, model, f"bench-replicas-{replicas}", config)
            try:
                key = service.get_keys()[0]
                load(service.scoring_uri, key, 2 * CONCURRENCY)  # warm the connections and the replicas
                runs[replicas] = load(service.scoring_uri, key, REQUESTS)
            finally:
                service.delete()
            print(f"    {replicas} replica(s): {runs[replicas]}", flush=True)
        ratio = runs[3]["throughput_rps"] / runs[1]["throughput_rps"]
        results["replicas"] = {"one": runs[1], "three": runs[3], "ratio": round(ratio, 2),
                               "target_ratio_min": TARGET_THROUGHPUT_RATIO, "met": ratio >= TARGET_THROUGHPUT_RATIO,
                               "concurrency": CONCURRENCY, "score_sleep_ms": 20}
        print(f"(b) throughput 1 replica {runs[1]['throughput_rps']} req/s, 3 replicas {runs[3]['throughput_rps']} "
              f"req/s: ratio {ratio:.2f}x (target >= {TARGET_THROUGHPUT_RATIO}x)", flush=True)
        target.delete()
    finally:
        daemon.stop(settings)
        os.chdir(ROOT)
        shutil.rmtree(home, ignore_errors=True)
    out = ROOT / "bench" / "results" / "deploy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {out.relative_to(ROOT)}")
    return 0 if all(part["met"] for part in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
