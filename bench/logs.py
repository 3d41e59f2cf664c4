"""A loud replica's logs: what stays on disk, what get_logs costs the daemon (issue 11, item 4).

One AKS service (process runtime, its own temporary FAKE_AZURE_HOME, loopback only) whose run()
writes BENCH_LOG_MB (default 200) MB to stdout. Figures: bytes on disk against bytes written (the
cap: FAKE_AZURE_REPLICA_LOG_MAX_SIZE x _MAX_FILES, 10 MiB x 3 by default), get_logs(num_lines=5)
and get_logs() (the SDK's default, the last 5000 lines) latency (median of BENCH_ROUNDS), and the daemon's
resident memory growth (VmHWM).
Before the cap a 1 GB log made get_logs(tail=5) take 13.7 s and 4.2 GB of daemon memory; with 200 MB
the old code kept 191 MiB on disk, took 2.5 s and grew the daemon by 1038 MB (this cap: 20.7 MiB, 2.4 ms, 11 MB).
Targets: on disk <= the cap; tail < 0.1 s; peak memory growth < 200 MB.
Results: bench/results/logs.json. Run: .venv/bin/python bench/logs.py"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOG_MB = int(os.environ.get("BENCH_LOG_MB", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TARGET_TAIL_S = 0.1
TARGET_PEAK_GROWTH_MB = 200

SCORE = textwrap.dedent(f'''
    import sys

    def init():
        pass

    def run(raw_data):
        block = (b"x" * 99 + b"\\n") * 10_000  # 1 MB
        for _ in range({LOG_MB}):
            sys.stdout.buffer.write(block)
        sys.stdout.buffer.write(b"loud-end\\n")
        sys.stdout.flush()
        return "ok"
''')

MEASURE = textwrap.dedent('''
    import json, statistics, sys, time, warnings
    from pathlib import Path
    warnings.simplefilter("ignore")
    import fake_azure
    fake_azure.activate()
    from azureml.core import Workspace
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.core.model import InferenceConfig, Model
    from azureml.core.webservice import AksWebservice
    from emulator import daemon
    from emulator.settings import DaemonSettings

    settings = DaemonSettings.from_env()
    rounds = int(sys.argv[1])

    def memory_kb(field):
        pid = json.loads(settings.daemon_info_path.read_text())["pid"]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])

    try:
        ws = Workspace("00000000-0000-0000-0000-0000000000bc", "rg-bench", "ws-bench-logs")
        target = ComputeTarget.create(ws, "aks", AksCompute.provisioning_configuration(vm_size="Standard_D3_v2"))
        target.wait_for_completion()
        model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
        config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")
        service = Model.deploy(ws, "loud", [model], config,
                               AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False), target)
        service.wait_for_deployment()
        rss_before, hwm_before = memory_kb("VmRSS"), memory_kb("VmHWM")
        began = time.perf_counter()
        service.run("{}")
        while "loud-end" not in service.get_logs(num_lines=3):
            time.sleep(0.05)
        written_s = time.perf_counter() - began
        folder = next((settings.home / "services").glob("loud-*"))
        on_disk = sum(p.stat().st_size for p in folder.glob("*.log*") if not p.name.startswith("environment"))
        tails, wholes = [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            assert "loud-end" in service.get_logs(num_lines=5)
            tails.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            service.get_logs()
            wholes.append(time.perf_counter() - t0)
        hwm_after = memory_kb("VmHWM")
        service.delete()
        print(json.dumps({"written_bytes": int(sys.argv[2]) * 1_000_000, "on_disk_bytes": on_disk,
                          "cap_bytes": settings.replica_log_max_bytes * settings.replica_log_max_files,
                          "write_and_see_s": written_s, "tail5_s": statistics.median(tails),
                          "whole_s": statistics.median(wholes), "rss_before_mb": rss_before / 1024,
                          "peak_growth_mb": (hwm_after - hwm_before) / 1024,
                          "folder_removed": not folder.exists()}))
    finally:
        daemon.stop(settings)
''')


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="fa-bench-logs-"))
    work = home / "work"
    shutil.copytree(ROOT / "examples" / "seed-workflow", work, ignore=shutil.ignore_patterns(".azureml"))
    (work / "score.py").write_text(SCORE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
    env.update(FAKE_AZURE_HOME=str(home / "home"), FAKE_AZURE_RUNTIME="process")
    try:
        result = subprocess.run([sys.executable, "-c", MEASURE, str(ROUNDS), str(LOG_MB)], cwd=work, env=env,
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            print(result.stderr[-3000:], file=sys.stderr)
            return 1
        report = json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(home, ignore_errors=True)
    report.update(target_tail_s=TARGET_TAIL_S, target_peak_growth_mb=TARGET_PEAK_GROWTH_MB)
    report["met"] = (report["on_disk_bytes"] <= report["cap_bytes"] and report["tail5_s"] < TARGET_TAIL_S
                     and report["peak_growth_mb"] < TARGET_PEAK_GROWTH_MB and report["folder_removed"])
    print(f"{LOG_MB} MB written: {report['on_disk_bytes'] / 2**20:.1f} MiB on disk (cap "
          f"{report['cap_bytes'] / 2**20:.0f} MiB); get_logs(num_lines=5) {1000 * report['tail5_s']:.1f} ms, "
          f"get_logs() (5000 lines) {1000 * report['whole_s']:.0f} ms; "
          f"daemon peak memory +{report['peak_growth_mb']:.0f} MB; "
          f"folder removed with the service: {report['folder_removed']}: {'OK' if report['met'] else 'MISSED'}")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "logs.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
