"""Process replica start with the reaping launcher against the old exec-only one (issue 11, item 11).

The process runtime's first process (emulator/runtimes/launcher.py) now stays as the server's parent, a
child subreaper that takes everything the replica started down with it, where it used to exec the
server. Figure: time from ProcessRuntime.start() to the first ready probe for a trivial score.py, the
median of BENCH_ROUNDS starts each, alternating the two launchers in one run (same machine, same load).
Target: the reaping launcher within 10% (or 50 ms) of the exec-only one.
Results: bench/results/replica_start.json. Run: .venv/bin/python bench/replica_start.py"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout: emulator and scoring

from emulator.runtimes import ProcessRuntime, ReplicaSpec, process
from scoring.layout import lay_out
from scoring.probe import ProbeResult, wait_ready

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
TARGET_RATIO, TARGET_SLACK_S = 1.10, 0.05
# What the runtime ran before: move the socket to fd 3, set LISTEN_PID to our pid, exec the server.
EXEC_ONLY = (
    "import os, sys\n"
    "fd = int(sys.argv[1])\n"
    "if fd != 3:\n"
    "    os.dup2(fd, 3)\n"
    "    os.close(fd)\n"
    "os.environ.update(LISTEN_FDS='1', LISTEN_PID=str(os.getpid()))\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def start_once(runtime: ProcessRuntime, folder: Path, launcher: Path) -> float:
    process._LAUNCHER_SCRIPT = launcher
    shutil.rmtree(folder / "app", ignore_errors=True)
    app = lay_out(folder / "app", [], str(folder / "score.py"))
    spec = ReplicaSpec(replica_id="bench", service_name="bench", app_root=app.path, environment=sys.executable,
                       entry_script=app.entry_script, log_path=folder / "replica.log", env=app.env("bench", "ws"))
    began = time.perf_counter()
    handle = runtime.start(spec)
    try:
        result = wait_ready(runtime.address(handle), time.monotonic() + 60, lambda: runtime.is_alive(handle))
        elapsed = time.perf_counter() - began
        assert result is ProbeResult.READY, runtime.logs(handle)
        return elapsed
    finally:
        runtime.stop(handle, timeout=10)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="fa-bench-start-"))
    try:
        (folder / "score.py").write_text("def init():\n    pass\n\ndef run(raw_data):\n    return raw_data\n")
        old = folder / "exec_only.py"
        old.write_text(EXEC_ONLY)
        new = process._LAUNCHER_SCRIPT
        runtime = ProcessRuntime(pid_dir=folder / "pids")
        start_once(runtime, folder, new)  # warm the page cache and the interpreter probe
        times: dict[str, list[float]] = {"exec_only": [], "reaping": []}
        for _ in range(ROUNDS):
            times["exec_only"].append(start_once(runtime, folder, old))
            times["reaping"].append(start_once(runtime, folder, new))
        process._LAUNCHER_SCRIPT = new
        medians = {name: statistics.median(samples) for name, samples in times.items()}
        result = {"rounds": ROUNDS, "exec_only_median_s": medians["exec_only"],
                  "reaping_median_s": medians["reaping"], "ratio": medians["reaping"] / medians["exec_only"],
                  "samples_s": times, "target_ratio": TARGET_RATIO, "target_slack_s": TARGET_SLACK_S,
                  "met": medians["reaping"] <= max(medians["exec_only"] * TARGET_RATIO,
                                                   medians["exec_only"] + TARGET_SLACK_S)}
        out = ROOT / "bench" / "results" / "replica_start.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({k: v for k, v in result.items() if k != "samples_s"}, indent=2))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
