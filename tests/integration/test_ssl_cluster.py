"""A cluster with SSL enabled serves https, as the production-deploy-to-aks-ssl notebook expects.

The notebook's calls, through activation: provision with ``enable_ssl(leaf_domain_label=...)`` (or update
an existing cluster with ``AksUpdateConfiguration(SslConfiguration(...))``), deploy, score with
``service.run`` and with ``requests.post`` against ``service.scoring_uri``: both verify the gateway's
certificate through ``REQUESTS_CA_BUNDLE``, which activation points at certifi's roots plus the home's CA.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed-workflow"

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]

SCORE_PY = '''\
import json


def init():
    pass


def run(raw_data):
    return [sum(row) for row in json.loads(raw_data)["data"]]
'''


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(SEED / "model", tmp_path / "model")
    shutil.copy(SEED / "myenv.yml", tmp_path / "myenv.yml")
    (tmp_path / "score.py").write_text(SCORE_PY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _deploy(ws, target, name: str):
    from azureml.core import Environment
    from azureml.core.model import InferenceConfig, Model
    from azureml.core.webservice import AksWebservice

    model = Model.register(ws, model_path="model", model_name="ssl-model")
    env = Environment.from_conda_specification("ssl-env", "myenv.yml")
    inference_config = InferenceConfig(entry_script="score.py", environment=env)
    config = AksWebservice.deploy_configuration(num_replicas=1, cpu_cores=0.5, memory_gb=0.5)
    service = Model.deploy(ws, name, [model], inference_config, config, target)
    service.wait_for_deployment()
    assert service.state == "Healthy", service.get_logs()
    return service


def _score(service) -> None:
    body = json.dumps({"data": [[1, 2], [3, 4]]})
    assert service.scoring_uri.startswith("https://127.0.0.1:")
    assert service.run(body) == [3, 7]
    key = service.get_keys()[0]
    # requests verifies by default: against REQUESTS_CA_BUNDLE, set by activation.
    answer = requests.post(service.scoring_uri, data=body,
                           headers={"Content-Type": "application/json", "Authorization": "Bearer " + key})
    assert answer.status_code == 200 and answer.json() == [3, 7]


def test_a_cluster_provisioned_with_ssl_serves_https(activated, ws, workdir) -> None:
    from azureml.core.compute import AksCompute, ComputeTarget

    config = AksCompute.provisioning_configuration(vm_size="Standard_D3_v2", agent_count=1, cluster_purpose="DevTest")
    config.enable_ssl(leaf_domain_label="contoso")
    target = ComputeTarget.create(ws, "aks-ssl", config)
    target.wait_for_completion()
    assert target.ssl_configuration.status == "Auto" and target.ssl_configuration.leaf_domain_label == "contoso"
    service = _deploy(ws, target, "ssl-svc")
    _score(service)
    # Without the home's CA the certificate is not trusted (it is not a public one).
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(service.scoring_uri, json={"data": []}, verify=__import__("certifi").where())
    service.delete()


def test_ssl_enabled_by_updating_a_cluster_before_deploying(activated, ws, workdir) -> None:
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.core.compute.aks import AksUpdateConfiguration, SslConfiguration

    target = ComputeTarget.create(ws, "aks-upd", AksCompute.provisioning_configuration(
        vm_size="Standard_D3_v2", agent_count=1, cluster_purpose="DevTest"))
    target.wait_for_completion()
    target.update(AksUpdateConfiguration(SslConfiguration(leaf_domain_label="contoso", overwrite_existing_domain=True)))
    target.wait_for_completion()
    _score(_deploy(ws, target, "ssl-upd-svc"))


def test_fake_azure_run_children_trust_the_homes_ca(ws, emulator_home: Path) -> None:
    """Without activation (a plain child of `fake-azure run`) REQUESTS_CA_BUNDLE names the home's bundle."""
    script = "import os, sys; print(os.environ.get('REQUESTS_CA_BUNDLE', ''))"
    out = subprocess.run([sys.executable, "-m", "emulator", "run", "--", sys.executable, "-S", "-c", script],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ), cwd=ROOT)
    assert out.returncode == 0, out.stderr
    bundle = Path(out.stdout.strip())
    assert bundle.parent == emulator_home / "tls"
    text = bundle.read_text()
    assert (emulator_home / "tls" / "ca.pem").read_text().strip() in text
    assert text.count("BEGIN CERTIFICATE") > 10  # certifi's public roots too


def test_a_certificate_and_key_that_are_no_pair_are_refused(activated, ws, tmp_path: Path) -> None:
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.exceptions import ComputeTargetException

    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n")
    (tmp_path / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot one\n-----END PRIVATE KEY-----\n")
    config = AksCompute.provisioning_configuration(vm_size="Standard_D3_v2", agent_count=1, cluster_purpose="DevTest")
    config.enable_ssl(ssl_cname="www.contoso.com", ssl_cert_pem_file=str(tmp_path / "cert.pem"),
                      ssl_key_pem_file=str(tmp_path / "key.pem"))
    with pytest.raises(ComputeTargetException, match="SSL certificate and key cannot be used"):
        ComputeTarget.create(ws, "aks-badpem", config)


def test_activation_adds_the_homes_ca_to_the_roots_trusted_so_far_and_deactivation_restores_them(
        emulator_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fake_azure

    corporate = tmp_path / "corporate.pem"
    corporate.write_text(Path(__import__("certifi").where()).read_text().split("-----END CERTIFICATE-----")[0]
                         + "-----END CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(corporate))
    fake_azure.deactivate()
    fake_azure.activate()
    try:
        bundle = Path(os.environ["REQUESTS_CA_BUNDLE"])
        assert bundle.parent == emulator_home / "tls"
        assert bundle.read_text() == corporate.read_text() + (emulator_home / "tls" / "ca.pem").read_text()
    finally:
        fake_azure.deactivate()
    assert os.environ["REQUESTS_CA_BUNDLE"] == str(corporate)
