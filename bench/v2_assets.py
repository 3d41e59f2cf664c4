"""SDK v2 benchmark: the real azure-ai-ml client against the local cloud's HTTPS front end.

Figures (p50/p99, ms): MLClient construction (the client fetches the cloud metadata nine times, each on a
new connection with its CA-bundle load: mostly client-side), workspaces.get, models.get, models.list, and
registering a one-file model (datastore lookup, listSecrets, blob HEAD/PUT/metadata, version PUT). Each is
also a ratio to a bare HTTPS round trip on a kept connection (GET /metadata/endpoints) in the same run.
Issue 14's target for the ml_client fixture is < 100 ms; nothing here is asserted."""
from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from _stats import percentile  # bench/, this script's directory

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "50"))
SUBSCRIPTION = "00000000-0000-0000-0000-00000000beef"


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    fn()  # warm-up: first-import and connection set-up costs are not what we measure
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def main() -> int:
    os.environ["FAKE_AZURE_HOME"] = tempfile.mkdtemp(prefix="fa-bench-v2-")
    import fake_azure

    fake_azure.activate()
    import requests
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import Model
    from azure.identity import DefaultAzureCredential

    from emulator import daemon
    from fake_azure.settings import Settings

    workdir = Path(tempfile.mkdtemp(prefix="fa-bench-v2-work-"))
    (workdir / "model.bin").write_bytes(os.urandom(1024))
    credential = DefaultAzureCredential()
    counter = iter(range(10 ** 9))
    try:
        client = MLClient(credential, SUBSCRIPTION, "bench-rg", "bench-ws")
        client.models.create_or_update(Model(name="bench", version="1", path=str(workdir / "model.bin")))
        session = requests.Session()
        metadata_url = os.environ["ARM_CLOUD_METADATA_URL"]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            results = {
                "https_round_trip": timed(lambda: session.get(metadata_url), ROUNDS),
                "MLClient()": timed(lambda: MLClient(credential, SUBSCRIPTION, "bench-rg", "bench-ws"), ROUNDS),
                "workspaces.get": timed(lambda: client.workspaces.get("bench-ws"), ROUNDS),
                "models.get": timed(lambda: client.models.get("bench", version="1"), ROUNDS),
                "models.list": timed(lambda: list(client.models.list(name="bench")), ROUNDS),
                "register_model": timed(lambda: client.models.create_or_update(
                    Model(name="bench", version=str(next(counter) + 2), path=str(workdir / "model.bin"))), ROUNDS),
            }
    finally:
        fake_azure.deactivate()
        daemon.stop(Settings.from_env())
    baseline = statistics.median(results["https_round_trip"])
    report: dict = {"rounds": ROUNDS, "calls_ms": {}}
    print(f"{'call':<20}{'p50 ms':>9}{'p99 ms':>9}{'x round trip':>14}")
    for name, samples in results.items():
        p50, p99 = statistics.median(samples), percentile(samples, 0.99)
        print(f"{name:<20}{p50:>9.2f}{p99:>9.2f}{p50 / baseline:>14.1f}")
        report["calls_ms"][name] = {"p50": p50, "p99": p99, "ratio_to_round_trip": p50 / baseline}
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "v2_assets.json").write_text(json.dumps(report, indent=2))
    print(f"written: {out / 'v2_assets.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
