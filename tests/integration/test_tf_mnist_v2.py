"""examples/tf-mnist-gpu-v2 end to end: its unchanged azure-ai-ml deploy.py under ``python -m emulator run``.

The v1 example's train.py trains the checkpoint into a copy of the example's folder; deploy.py deploys it on
a Standard_NC6s_v3 managed online deployment, invokes the endpoint with held-out rows, prints label and
prediction per row, and deletes the endpoint. The run has a home of its own. While it runs, the deployment's
core record is read from the home's state.db: the GPU SKU must have given its replica a GPU (on a host without
one, the default cpu-fallback policy runs it on the CPU and says so)."""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

# find_spec, not importorskip: importing TensorFlow here would cost every test collection ~20 s.
_MISSING = [name for name in ("tensorflow", "sklearn") if importlib.util.find_spec(name) is None]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "tf-mnist-gpu-v2"
TRAIN = REPO / "examples" / "tf-mnist-gpu" / "train.py"
CLI = [sys.executable, "-m", "emulator"]

pytestmark = pytest.mark.skipif(bool(_MISSING), reason=f"the examples extra is not installed ({', '.join(_MISSING)}"
                                 " missing: pip install -e '.[examples]')")




@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The example's folder, copied, with the checkpoint and held-out rows the v1 train.py writes to outputs/."""
    folder = tmp_path / "tf-mnist-gpu-v2"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("outputs", "__pycache__"))
    trained = subprocess.run([sys.executable, str(TRAIN), str(folder / "outputs")], capture_output=True, text=True,
                             timeout=300)
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    assert (folder / "outputs" / "model" / "mnist-tf.model.meta").exists()
    return folder


def _gpu_replicas(state_db: Path) -> list[dict[str, Any]]:
    """The replicas of the example's deployment core record (``<endpoint>~blue``), [] while there is none."""
    if not state_db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute("SELECT body FROM services WHERE name LIKE 'tf-mnist-%~blue'").fetchall()
    except sqlite3.OperationalError:  # the daemon is creating the schema or holds a write lock
        return []
    return [r for (body,) in rows for r in (json.loads(body).get("fakeAzure") or {}).get("replicas") or []]


def test_the_v2_example_deploys_on_a_gpu_sku_and_predicts_the_labels(home: dict[str, str], project: Path,
                                                                      tmp_path: Path) -> None:
    state_db = Path(home["FAKE_AZURE_HOME"]) / "state.db"
    out, err = tmp_path / "deploy.out", tmp_path / "deploy.err"
    seen: list[dict[str, Any]] = []
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([*CLI, "run", "--", sys.executable, "deploy.py"], cwd=project, env=home,
                                stdout=stdout, stderr=stderr)
        try:
            # deploy.py deletes its endpoint at the end: read the deployment's record while it exists.
            deadline = time.monotonic() + 600
            while proc.poll() is None and time.monotonic() < deadline:
                seen = seen or _gpu_replicas(state_db)
                time.sleep(0.2)
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    printed, errors = out.read_text(), err.read_text()
    assert code == 0, printed[-3000:] + errors[-3000:]

    rows = re.findall(r"^row +\d+: label (\d), prediction (\d)$", printed, re.MULTILINE)
    summary = re.search(r"^(\d+) of (\d+) rows predicted correctly$", printed, re.MULTILINE)
    assert summary is not None and len(rows) == int(summary[2]) == 20, printed
    correct = sum(label == prediction for label, prediction in rows)
    assert correct == int(summary[1])
    assert correct >= 15, printed  # the checkpoint scores ~0.97 on the held-out rows; chance is 0.1
    assert len({prediction for _, prediction in rows}) >= 3, printed  # a trained model, not a constant one

    # One Standard_NC6s_v3 instance: one V100.
    assert [(r["gpusPerNode"], r["gpuIds"]) for r in seen] == [(1, [0])], seen
    from emulator.deploy.gpus import HostGpus

    if HostGpus.detect().count == 0:  # cpu-fallback, the default policy: the replica ran on the CPU, and said so
        assert "this host has no NVIDIA GPU" in printed, printed
    assert "Deleted endpoint tf-mnist-" in printed
    assert _gpu_replicas(state_db) == []  # the endpoint's deletion took its deployment with it
