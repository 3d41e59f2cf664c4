"""An unchanged SDK v2 script under ``fake-azure run``: the local cloud, reached with no code change, in a fresh
home; ``FAKE_AZURE_TARGET=azure`` leaves the client alone; no daemon and autostart off is refused, never real
Azure."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "emulator"]

USER_SCRIPT = textwrap.dedent("""\
    import os
    from azure.identity import DefaultAzureCredential
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import Model

    ml_client = MLClient(DefaultAzureCredential(), "00000000-0000-0000-0000-000000000000", "rg", "ws-run")
    model = ml_client.models.create_or_update(Model(name="digits", path="model"))
    print("REGISTERED", model.name, model.version)
    """)
WHERE_SCRIPT = "import os, azure.ai.ml\nprint('METADATA', os.environ.get('ARM_CLOUD_METADATA_URL'))\n"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_AZURE_", "ARM_CLOUD", "IDENTITY_"))}
    env.update(FAKE_AZURE_HOME=str(tmp_path / "home"), PYTHONPATH=str(REPO))
    try:
        yield env
    finally:
        subprocess.run([*CLI, "down"], env=env, capture_output=True, timeout=60)


def _run(env: dict[str, str], cwd: Path, *command: str, extra: dict[str, str] | None = None):
    return subprocess.run([*CLI, "run", "--", *command], env={**env, **(extra or {})}, cwd=cwd,
                          capture_output=True, text=True, timeout=180)


def test_an_unchanged_v2_script_registers_a_model_under_fake_azure_run(home: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.bin").write_bytes(b"\x00" * 100)
    (tmp_path / "deploy.py").write_text(USER_SCRIPT)
    first = _run(home, tmp_path, "python", "deploy.py")
    assert first.returncode == 0, first.stderr
    assert "REGISTERED digits 1" in first.stdout
    again = _run(home, tmp_path, "python", "deploy.py")  # the same cloud, state kept: the next version
    assert "REGISTERED digits 2" in again.stdout, again.stderr
    status = subprocess.run([*CLI, "status", "--json"], env=home, capture_output=True, text=True, timeout=60)
    assert json.loads(status.stdout)["arm_url"].startswith("https://127.0.0.1:")


def test_target_azure_leaves_the_v2_client_alone(home: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "where.py").write_text(WHERE_SCRIPT)
    result = _run(home, tmp_path, "python", "where.py", extra={"FAKE_AZURE_TARGET": "azure"})
    assert result.returncode == 0, result.stderr
    assert "METADATA None" in result.stdout


def test_without_a_daemon_and_autostart_off_the_v2_client_is_refused(home: dict[str, str], tmp_path: Path) -> None:
    code = "import fake_azure\nfake_azure.activate()\nimport azure.ai.ml\n"
    result = subprocess.run([sys.executable, "-c", code], env={**home, "FAKE_AZURE_AUTOSTART": "0"}, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "would reach real Azure" in result.stderr
