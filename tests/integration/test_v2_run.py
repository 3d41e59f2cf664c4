"""An unchanged SDK v2 script under ``fake-azure run``: the local cloud, reached with no code change, in a fresh
home; ``FAKE_AZURE_TARGET=azure`` leaves the client alone; no daemon and autostart off is refused, never real
Azure."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

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


DEPLOY_SCRIPT = textwrap.dedent("""\
    import json, sys
    from azure.identity import DefaultAzureCredential
    from azure.ai.ml import MLClient
    from azure.ai.ml.entities import (CodeConfiguration, Environment, ManagedOnlineDeployment,
                                      ManagedOnlineEndpoint, Model)

    ml_client = MLClient(DefaultAzureCredential(), "00000000-0000-0000-0000-000000000000", "rg", "ws-run")
    if sys.argv[1] == "deploy":
        endpoint = ManagedOnlineEndpoint(name="kept", auth_mode="key")
        ml_client.online_endpoints.begin_create_or_update(endpoint).result()
        ml_client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
            name="blue", endpoint_name="kept", model=Model(path="model"),
            environment=Environment(conda_file="env.yml", image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"),
            code_configuration=CodeConfiguration(code="src", scoring_script="score.py"),
            instance_type="Standard_DS3_v2", instance_count=1)).result()
        endpoint.traffic = {"blue": 100}
        ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    import requests
    endpoint = ml_client.online_endpoints.get("kept")
    key = ml_client.online_endpoints.get_keys("kept").primary_key
    direct = requests.post(endpoint.scoring_uri, json={"data": [3]}, headers={"Authorization": "Bearer " + key})
    state = ml_client.online_deployments.get(name="blue", endpoint_name="kept").provisioning_state
    print("STATE", getattr(state, "value", state))
    print("INVOKED", ml_client.online_endpoints.invoke(endpoint_name="kept", request_file="request.json"))
    print("DIRECT", direct.status_code, direct.text)
    """)


def test_a_deployment_serves_again_after_the_daemon_is_restarted(home: dict[str, str], tmp_path: Path) -> None:
    """Deployed, the daemon stopped and started again (fake-azure down; the next client call starts it): the
    endpoint, its keys and its deployment are kept, the replicas run again, and the scoring URI the client reads
    answers."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text("{}")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(
        "import json\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return {'tripled': [x * 3 for x in "
        "json.loads(raw_data)['data']]}\n")
    (tmp_path / "env.yml").write_text("name: kept\ndependencies:\n  - python=3.11\n")
    (tmp_path / "request.json").write_text(json.dumps({"data": [2]}))
    (tmp_path / "deploy.py").write_text(DEPLOY_SCRIPT)
    first = _run(home, tmp_path, "python", "deploy.py", "deploy")
    assert first.returncode == 0, first.stderr
    assert 'INVOKED {"tripled": [6]}' in first.stdout and 'DIRECT 200 {"tripled": [9]}' in first.stdout

    down = subprocess.run([*CLI, "down"], env=home, capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr
    again = _run(home, tmp_path, "python", "deploy.py", "score")
    assert again.returncode == 0, again.stderr
    assert "STATE Succeeded" in again.stdout, again.stdout
    assert 'INVOKED {"tripled": [6]}' in again.stdout and 'DIRECT 200 {"tripled": [9]}' in again.stdout, again.stdout


def test_a_restarted_daemon_keeps_its_ports(home: dict[str, str]) -> None:
    """An activated process keeps the metadata URL (the control plane) and the ARM root (the HTTPS listener) it
    was given: a daemon started again in the same home listens where the last one did."""
    def urls() -> tuple[str, str]:
        up = subprocess.run([*CLI, "up"], env=home, capture_output=True, text=True, timeout=120)
        assert up.returncode == 0, up.stderr
        status = json.loads(subprocess.run([*CLI, "status", "--json"], env=home, capture_output=True, text=True,
                                           timeout=60).stdout)
        return status["url"], status["arm_url"]

    first = urls()
    assert subprocess.run([*CLI, "down"], env=home, capture_output=True, timeout=120).returncode == 0
    assert urls() == first
