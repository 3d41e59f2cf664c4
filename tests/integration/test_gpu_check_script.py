"""`make gpu-check`'s script, end to end: on a host without GPUs its CPU rehearsal deploys the same
two-replica GPU service (GPU policy cpu-fallback) and checks the replicas' answers; on a host with
NVIDIA GPUs the same call is the real check."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_check.py"


def test_gpu_check_runs_its_deployment_and_reports(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
    env["TMPDIR"] = str(tmp_path)  # its homes and work folders, removed by the script itself
    done = subprocess.run([sys.executable, str(SCRIPT), "--rehearse-on-cpu"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED" in done.stdout
    if "REHEARSAL" in done.stdout:
        assert "[process] 2 replica(s) Healthy" in done.stdout
        assert done.stdout.count("product on cpu -> ok") == 2
    assert list(tmp_path.iterdir()) == []
