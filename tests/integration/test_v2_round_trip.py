"""Every entity azure-ai-ml (1.35) sends, round-tripped: what a user sets on a Model, an Environment, a
ManagedOnlineEndpoint and a ManagedOnlineDeployment comes back, field by field, from create's answer, from get and
from list, as Azure keeps it (nothing dropped, nothing renamed), with the service's own fields filled in."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.ai.ml.entities import (
    CodeConfiguration,
    Environment,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
    ProbeSettings,
)

SCORE = "import json\n\ndef init():\n    pass\n\ndef run(raw_data):\n    return json.loads(raw_data)\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text(json.dumps({"scale": 3}))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    (tmp_path / "env.yml").write_text("name: trip\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n")
    return tmp_path


def test_a_model_round_trips(ml_client: Any, project: Path) -> None:
    sent = Model(name="trip-model", version="4", path=str(project / "model"), type="custom_model",
                 description="a model for the round trip", tags={"team": "vision", "stage": "dev"},
                 properties={"accuracy": "0.97"}, stage="Development")
    created = ml_client.models.create_or_update(sent)
    for seen in (created, ml_client.models.get("trip-model", version="4"),
                 next(m for m in ml_client.models.list(name="trip-model"))):
        assert (seen.name, seen.version, seen.type) == ("trip-model", "4", "custom_model")
        assert seen.description == "a model for the round trip"
        assert seen.tags == {"team": "vision", "stage": "dev"}
        assert seen.properties.get("accuracy") == "0.97"
        assert seen.stage == "Development"
        assert seen.path and seen.path.rstrip("/").endswith("model")
        assert seen.id.endswith("/models/trip-model/versions/4")
    assert ml_client.models.get("trip-model", label="latest").version == "4"


def test_an_environment_round_trips(ml_client: Any, project: Path) -> None:
    sent = Environment(name="trip-env", version="2", image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04",
                       conda_file=str(project / "env.yml"), description="an environment for the round trip",
                       tags={"gpu": "no"})
    created = ml_client.environments.create_or_update(sent)
    for seen in (created, ml_client.environments.get("trip-env", version="2")):
        assert (seen.name, seen.version) == ("trip-env", "2")
        assert seen.image == "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"
        assert seen.conda_file == {"name": "trip", "channels": ["conda-forge"], "dependencies": ["python=3.11"]}
        assert seen.description == "an environment for the round trip" and seen.tags == {"gpu": "no"}
    assert [e.version for e in ml_client.environments.list(name="trip-env")] == ["2"]


def test_an_endpoint_round_trips(ml_client: Any) -> None:
    sent = ManagedOnlineEndpoint(name="trip-endpoint", auth_mode="aml_token", description="an endpoint for the trip",
                                 tags={"owner": "ml"}, properties={"purpose": "round-trip"},
                                 public_network_access="disabled")
    created = ml_client.online_endpoints.begin_create_or_update(sent).result()
    for seen in (created, ml_client.online_endpoints.get("trip-endpoint"),
                 next(e for e in ml_client.online_endpoints.list() if e.name == "trip-endpoint")):
        assert seen.name == "trip-endpoint" and seen.auth_mode == "aml_token"
        assert seen.description == "an endpoint for the trip" and seen.tags == {"owner": "ml"}
        assert seen.properties.get("purpose") == "round-trip"
        assert seen.public_network_access == "Disabled"  # matched in any case, answered as the service spells it
        assert seen.provisioning_state == "Succeeded"
        assert seen.scoring_uri.endswith("/onlineEndpoints/trip-endpoint/score")
        assert seen.openapi_uri.endswith("/onlineEndpoints/trip-endpoint/swagger.json")
        assert seen.identity is not None and seen.identity.type.lower() == "system_assigned"
        assert seen.traffic == {} and seen.mirror_traffic == {}


def test_a_deployment_round_trips(ml_client: Any, project: Path) -> None:
    ml_client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="trip-dep", auth_mode="key")).result()
    liveness = ProbeSettings(initial_delay=3, period=4, timeout=2, success_threshold=1, failure_threshold=5)
    readiness = ProbeSettings(initial_delay=1, period=2, timeout=3, success_threshold=1, failure_threshold=60)
    sent = ManagedOnlineDeployment(
        name="blue", endpoint_name="trip-dep", description="a deployment for the round trip", tags={"ring": "0"},
        properties={"owner": "ml"}, model=Model(path=str(project / "model")),
        environment=Environment(conda_file=str(project / "env.yml"),
                                image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"),
        code_configuration=CodeConfiguration(code=str(project / "src"), scoring_script="score.py"),
        environment_variables={"GREETING": "hi", "WORKERS": "2"}, instance_type="Standard_DS3_v2", instance_count=2,
        # Whole seconds: the client reads durations back as int(seconds) x 1000, so 700 ms would read 0 (on Azure too).
        request_settings=OnlineRequestSettings(request_timeout_ms=9000, max_concurrent_requests_per_instance=3,
                                               max_queue_wait_ms=2000),
        liveness_probe=liveness, readiness_probe=readiness, app_insights_enabled=True,
        egress_public_network_access="disabled")
    created = ml_client.online_deployments.begin_create_or_update(sent).result()
    listed = next(d for d in ml_client.online_deployments.list(endpoint_name="trip-dep") if d.name == "blue")
    for seen in (created, ml_client.online_deployments.get(name="blue", endpoint_name="trip-dep"), listed):
        assert (seen.name, seen.endpoint_name) == ("blue", "trip-dep")
        assert seen.description == "a deployment for the round trip" and seen.tags == {"ring": "0"}
        assert seen.properties.get("owner") == "ml"
        assert seen.environment_variables == {"GREETING": "hi", "WORKERS": "2"}
        assert (seen.instance_type, seen.instance_count) == ("Standard_DS3_v2", 2)
        settings = seen.request_settings
        assert (settings.request_timeout_ms, settings.max_concurrent_requests_per_instance,
                settings.max_queue_wait_ms) == (9000, 3, 2000)
        for got, wanted in ((seen.liveness_probe, liveness), (seen.readiness_probe, readiness)):
            assert (got.initial_delay, got.period, got.timeout, got.success_threshold, got.failure_threshold) == (
                wanted.initial_delay, wanted.period, wanted.timeout, wanted.success_threshold,
                wanted.failure_threshold)
        assert seen.app_insights_enabled is True and seen.egress_public_network_access == "Disabled"
        assert seen.scale_settings is not None and seen.scale_settings.type == "default"
        assert seen.model.endswith("/versions/1") and "/models/" in seen.model
        assert "/environments/" in seen.environment and "/codes/" in seen.code_configuration.code
        assert seen.code_configuration.scoring_script == "score.py"
        assert seen.provisioning_state == "Succeeded"
