"""The request schemas accept what the real azureml-core 1.61 sends: its create payloads for AKS (fixed
replicas and autoscale) and ACI services, its serialized Environment, and its AKS provisioning body."""
from __future__ import annotations

from typing import Any

import pytest

from emulator.resources.computes.schema import ComputePut
from emulator.resources.environments.schema import EnvironmentDefinition
from emulator.resources.services.schema import ServiceCreate
from emulator.validation import check_model

pytestmark = [pytest.mark.parity, pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _image_request() -> dict[str, Any]:
    from azureml.core import Environment
    from azureml.core.conda_dependencies import CondaDependencies

    env = Environment("parity-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["numpy"], conda_packages=["scikit-learn"])
    env.docker.base_image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
    definition = Environment._serialize_to_dict(env)
    check_model(EnvironmentDefinition, definition)
    return {"driverProgram": "score.py", "assets": [{"id": "a" * 32}], "modelIds": ["model:1"],
            "environment": definition, "sourceDirectory": None, "gpu": False}


def test_aks_create_payloads_pass() -> None:
    from azureml.core.webservice import AksWebservice

    fixed = AksWebservice.deploy_configuration(
        num_replicas=2, cpu_cores=0.5, memory_gb=1.5, gpu_cores=1, cpu_cores_limit=1, memory_gb_limit=2,
        tags={"a": "b"}, properties={"p": "q"}, namespace="ns-1", scoring_timeout_ms=1000,
        replica_max_concurrent_requests=2, max_request_wait_time=100, period_seconds=5, initial_delay_seconds=1,
        timeout_seconds=2, success_threshold=1, failure_threshold=3, auth_enabled=True, enable_app_insights=True,
        collect_model_data=True, description="d")
    autoscale = AksWebservice.deploy_configuration(
        autoscale_enabled=True, autoscale_min_replicas=1, autoscale_max_replicas=4, autoscale_refresh_seconds=5,
        autoscale_target_utilization=50, token_auth_enabled=True, auth_enabled=False)
    for name, config in (("svc-fixed", fixed), ("svc-auto", autoscale)):
        payload = config._build_create_payload(name, _image_request())
        payload["computeName"] = "aks-parity"  # the SDK fills it from the deployment target
        assert check_model(ServiceCreate, payload).name == name


def test_aci_create_payload_passes() -> None:
    from azureml.core.webservice import AciWebservice

    config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1, tags={"a": "b"}, dns_name_label="lbl",
                                                auth_enabled=True)
    assert check_model(ServiceCreate, config._build_create_payload("svc-aci", _image_request())).name == "svc-aci"


def test_aks_provisioning_payload_passes() -> None:
    from azureml.core.compute import AksCompute

    config = AksCompute.provisioning_configuration(agent_count=4, vm_size="Standard_NC12", location="eastus2",
                                                   cluster_purpose="DevTest", load_balancer_type="InternalLoadBalancer",
                                                   load_balancer_subnet="aks-subnet")
    payload = AksCompute._build_create_payload(config, "eastus2", "00000000-0000-0000-0000-000000000000")
    assert check_model(ComputePut, payload).properties.properties.agentCount == 4
