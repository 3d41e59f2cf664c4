"""``fake-azure ps``: what runs, one line per deployment of every workspace (as ``docker ps``), and ``fake-azure
images`` telling replicas on the daemon's own interpreter apart from unused built environments."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml.entities import CodeConfiguration, Environment, ManagedOnlineDeployment, ManagedOnlineEndpoint, Model
from echo_service import ECHO_SCORE, lay_out_echo_project

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, against the session's daemon (its FAKE_AZURE_HOME) unless ``env`` says otherwise."""
    return subprocess.run([sys.executable, "-m", "emulator", *args], capture_output=True, text=True, timeout=60,
                          env=env or {**os.environ, "PYTHONPATH": str(REPO)})


def listed(workspace: str) -> list[dict[str, Any]]:
    result = cli("ps", "--json")
    assert result.returncode == 0, result.stderr
    return [d for d in json.loads(result.stdout) if d["workspace"] == workspace]


def lines_of(workspace: str) -> list[str]:
    result = cli("ps")
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith(workspace + " ")]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text("{}")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(ECHO_SCORE)
    # The test interpreter satisfies it: the replicas run on the daemon's interpreter, nothing is built.
    (tmp_path / "env.yml").write_text("name: echo\ndependencies:\n  - python=3.11\n  - pip:\n    - numpy\n")
    return tmp_path


def test_ps_lists_a_v2_deployment_with_its_replicas_until_it_is_deleted(ml_client: Any, project: Path) -> None:
    workspace = ml_client.workspace_name
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ps-echo", auth_mode="key")).result()
    ml_client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
        name="blue", endpoint_name="ps-echo", model=Model(path=str(project / "model")), instance_type="Standard_DS3_v2",
        instance_count=2, environment=Environment(conda_file=str(project / "env.yml"),
                                                  image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"),
        code_configuration=CodeConfiguration(code=str(project / "src"), scoring_script="score.py"))).result()
    scoring_uri = ml_client.online_endpoints.get("ps-echo").scoring_uri

    (entry,) = listed(workspace)
    assert {k: entry[k] for k in ("sdk", "kind", "name", "compute", "state", "replicas", "scoringUri")} == {
        "sdk": "v2", "kind": "online deployment", "name": "ps-echo/blue", "compute": "Managed", "state": "Succeeded",
        "replicas": {"running": 2, "desired": 2}, "scoringUri": scoring_uri}
    (line,) = lines_of(workspace)
    assert line.split() == [workspace, "v2", "online", "deployment", "ps-echo/blue", "Managed", "Succeeded", "2/2",
                            scoring_uri]

    # Its replicas run on the daemon's interpreter (it satisfies env.yml): `images` says so, never "unused" alone.
    images = cli("images")
    assert images.returncode == 0, images.stderr
    assert "replica(s) run on the daemon's interpreter" in images.stdout, images.stdout
    interpreters = [e for e in json.loads(cli("images", "--json").stdout) if e["kind"] == "interpreter"]
    assert [e["daemon"] for e in interpreters if e["daemon"]] == [True] and all(e["in_use"] for e in interpreters)
    assert sum(e["replicas"] for e in interpreters if e["daemon"]) >= 2

    ml_client.online_deployments.begin_delete(name="blue", endpoint_name="ps-echo").result()
    assert listed(workspace) == [] and lines_of(workspace) == []


def test_ps_lists_a_v1_webservice(aml_workspace: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_azure.core.model import InferenceConfig
    from fake_azure.core.model import Model as V1Model
    from fake_azure.core.webservice import AciWebservice

    monkeypatch.chdir(lay_out_echo_project(tmp_path))
    model = V1Model.register(aml_workspace, model_path="model", model_name="ps-model")
    service = V1Model.deploy(aml_workspace, "ps-aci", [model],
                             InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml"),
                             AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=1))
    service.wait_for_deployment()

    (entry,) = listed(aml_workspace.name)
    assert {k: entry[k] for k in ("sdk", "kind", "name", "compute", "state", "replicas", "scoringUri")} == {
        "sdk": "v1", "kind": "webservice", "name": "ps-aci", "compute": "ACI", "state": "Healthy",
        "replicas": {"running": 1, "desired": 1}, "scoringUri": service.scoring_uri}
    (line,) = lines_of(aml_workspace.name)
    assert line.split()[1:] == ["v1", "webservice", "ps-aci", "ACI", "Healthy", "1/1", service.scoring_uri]

    service.delete()
    assert listed(aml_workspace.name) == [] and lines_of(aml_workspace.name) == []


def test_ps_without_a_daemon_says_so(home: dict[str, str]) -> None:
    result = cli("ps", env=home)
    assert result.returncode == 0 and result.stdout == ""
    assert "not running" in result.stderr and "no deployments run" in result.stderr
    as_json = cli("ps", "--json", env=home)
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []
