"""Control-plane benchmark: p50/p99 of common facade calls and the daemon's start time.

Targets (issue 2): register a small model, get a compute target, list models: p50 < 5 ms;
`fake-azure up` to ready < 1 s. Every figure is also given as a ratio to a bare loopback round
trip to the same daemon (GET /_emulator/health), measured in the same run, so results from
machines of different speed can be compared."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from _stats import percentile  # bench/, this script's directory

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))
UP_ROUNDS = int(os.environ.get("BENCH_UP_ROUNDS", "5"))
TARGETS_MS = {"register_model": 5.0, "get_compute_target": 5.0, "list_models": 5.0}
TARGET_UP_S = 1.0


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    fn()  # warm-up: connection set-up and first-import costs are not what we measure
    samples = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def bench_up(cli: str) -> list[float]:
    """Seconds from running `fake-azure up` in a fresh home until it returns with the daemon ready."""
    results = []
    for _ in range(UP_ROUNDS):
        home = tempfile.mkdtemp(prefix="fa-bench-up-")
        env = dict(os.environ, FAKE_AZURE_HOME=home)
        began = time.perf_counter()
        subprocess.run([cli, "up"], env=env, check=True, capture_output=True)
        results.append(time.perf_counter() - began)
        subprocess.run([cli, "down"], env=env, check=True, capture_output=True)
    return results


def main() -> int:
    home = tempfile.mkdtemp(prefix="fa-bench-")
    os.environ["FAKE_AZURE_HOME"] = home
    import fake_azure

    fake_azure.activate()
    from azureml.core import Workspace
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.core.model import Model

    from emulator import daemon
    from fake_azure._client import CloudClient
    from fake_azure.settings import Settings

    workdir = Path(tempfile.mkdtemp(prefix="fa-bench-work-"))
    os.chdir(workdir)
    (workdir / "model.bin").write_bytes(os.urandom(1024))
    try:
        ws = Workspace("00000000-0000-0000-0000-00000000beef", "bench-rg", "bench-ws")
        ComputeTarget.create(ws, "aks-gpu", AksCompute.provisioning_configuration(vm_size="Standard_NC6")) \
            .wait_for_completion()
        client = CloudClient.connect()
        import contextlib
        import io

        quiet = contextlib.redirect_stdout(io.StringIO())
        with quiet:
            results = {
                "loopback_health": timed(lambda: client.request("GET", "/_emulator/health", "admin"), ROUNDS),
                "register_model": timed(lambda: Model.register(ws, "model.bin", "bench-model"), ROUNDS),
                "get_compute_target": timed(lambda: ComputeTarget(ws, "aks-gpu"), ROUNDS),
                "list_models": timed(lambda: Model.list(ws, name="bench-model", latest=True), ROUNDS),
            }
    finally:
        daemon.stop(Settings.from_env())
    cli = str(Path(sys.executable).with_name("fake-azure"))
    up = bench_up(cli)

    baseline = statistics.median(results["loopback_health"])
    report = {"rounds": ROUNDS, "calls_ms": {}, "up_seconds": {}}
    print(f"{'call':<22}{'p50 ms':>9}{'p99 ms':>9}{'x loopback':>12}{'target':>10}  ok")
    for name, samples in results.items():
        p50, p99 = statistics.median(samples), percentile(samples, 0.99)
        target = TARGETS_MS.get(name)
        ok = "" if target is None else ("yes" if p50 < target else "NO")
        print(f"{name:<22}{p50:>9.2f}{p99:>9.2f}{p50 / baseline:>12.1f}{(target or float('nan')):>10.1f}  {ok}")
        report["calls_ms"][name] = {"p50": p50, "p99": p99, "ratio_to_loopback": p50 / baseline, "target": target}
    up_median = statistics.median(up)
    print(f"{'fake-azure up':<22}{up_median * 1000:>9.0f} ms median of {len(up)} "
          f"(target {TARGET_UP_S * 1000:.0f} ms)  {'yes' if up_median < TARGET_UP_S else 'NO'}")
    report["up_seconds"] = {"median": up_median, "all": up, "target": TARGET_UP_S}
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "control_plane.json").write_text(json.dumps(report, indent=2))
    print(f"written: {out / 'control_plane.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
