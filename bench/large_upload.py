"""Registering a model over 1 GiB: wall time and the peak memory of the daemon and of the caller.

Model.register of a 1.1 GiB file (sparse, so writing it costs nothing) through the facade into a fresh
home. Before the fix the control plane's web server refused any body of 1 GiB or more with a plain-text
413 (waitress's default limit) although the app allowed 8 GiB. Target: registered, byte count intact,
the daemon's and the caller's peak resident memory far below the model's size (uploads stream to
disk). Results: bench/results/large_upload.json. BENCH_UPLOAD_MIB resizes the model."""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZE_MIB = int(os.environ.get("BENCH_UPLOAD_MIB", str(1024 + 102)))


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    home = tempfile.mkdtemp(prefix="fa-bench-upload-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
    env.update(FAKE_AZURE_HOME=home, PYTHONPATH=str(REPO))
    cli = [sys.executable, "-m", "emulator"]
    subprocess.run([*cli, "up"], env=env, check=True, capture_output=True)
    os.environ["FAKE_AZURE_HOME"] = home
    work = Path(tempfile.mkdtemp(prefix="fa-bench-upload-cwd-"))
    os.chdir(work)
    try:
        from fake_azure.core import Workspace
        from fake_azure.core.model import Model

        pid = int(json.loads(Path(home, "daemon.json").read_text())["pid"])
        size = SIZE_MIB * 1024 * 1024
        with open("model.bin", "wb") as model:
            model.truncate(size)
        ws = Workspace("00000000-0000-0000-0000-000000000001", "rg-bench", "ws-bench-upload")
        began = time.perf_counter()
        model = Model.register(ws, "model.bin", "large")
        seconds = time.perf_counter() - began
        stored = sum(f.stat().st_size for f in Path(home, "blobs").rglob("*") if f.is_file())
        result = {
            "model_mib": SIZE_MIB,
            "registered_version": model.version,
            "seconds": round(seconds, 2),
            "mib_per_s": round(SIZE_MIB / seconds, 1),
            "stored_bytes_equal": stored == size,
            "daemon_peak_rss_mib": round(peak_rss_mib(pid), 1),
            "caller_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    finally:
        subprocess.run([*cli, "down"], env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)  # the stored blob is as large as the model
    print(json.dumps(result, indent=2))
    out = REPO / "bench" / "results" / "large_upload.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
