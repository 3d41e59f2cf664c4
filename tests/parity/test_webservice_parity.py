"""Client-side Webservice/Model.deploy behaviour compared with the real azureml-core 1.61 (no network).

Both sides get the same stub workspace and the same service payloads; anything that would talk to
a server is replaced on both sides by the same canned answer (the SDK's own code path runs).
"""
from __future__ import annotations

import importlib
import types
import warnings
from functools import partial
from typing import Any, Callable

import pytest

pytestmark = [
    pytest.mark.parity,
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]


def _real(module: str) -> types.ModuleType:
    mod = importlib.import_module(module)
    assert mod.__name__.startswith("azureml"), f"{module} resolved to {mod.__name__}"
    return mod


R_MODEL = _real("azureml.core.model")
R_WS = _real("azureml.core.webservice.webservice")
R_AKS = _real("azureml.core.webservice.aks")
R_ACI = _real("azureml.core.webservice.aci")

from fake_azure.core import model as F_MODEL  # noqa: E402 - the real SDK loads first
from fake_azure.core.webservice import aci as F_ACI  # noqa: E402 - the real SDK loads first
from fake_azure.core.webservice import aks as F_AKS  # noqa: E402 - the real SDK loads first
from fake_azure.core.webservice import webservice as F_WS  # noqa: E402 - the real SDK loads first


def _outcome(fn: Callable[[], Any]) -> tuple[Any, Any]:
    """(exception class name and message, or None; the return value)."""
    try:
        return None, fn()
    except Exception as exc:  # comparing whatever both raise
        return (type(exc).__name__, getattr(exc, "message", str(exc))), None


def _same_error(real_fn: Callable[[], Any], fake_fn: Callable[[], Any]) -> tuple[str, str]:
    real, _ = _outcome(real_fn)
    fake, _ = _outcome(fake_fn)
    assert real is not None, "the real SDK did not raise"
    assert fake == real
    return real


class _Auth:
    def get_authentication_header(self) -> dict[str, str]:
        return {}


def _stub_workspace() -> Any:
    return types.SimpleNamespace(name="ws", _auth_object=_Auth(), _auth=None,
                                 _settings=types.SimpleNamespace(poll_interval=0))


@pytest.fixture(autouse=True)
def _no_mms(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK builds MMS URLs from the workspace's service context; the stub has none.
    monkeypatch.setattr(R_WS, "_get_mms_url", lambda workspace: "https://mms.invalid/ws")
    monkeypatch.setattr(R_AKS, "_get_mms_url", lambda workspace: "https://mms.invalid/ws", raising=False)


def _aks_payload(**overrides: Any) -> dict[str, Any]:
    payload = {
        "name": "svc-one", "description": "d", "kvTags": {"a": "1"}, "properties": {"p": "q"},
        "state": "Transitioning", "createdTime": "2026-01-02T03:04:05.123456+00:00",
        "updatedTime": "2026-01-02T03:05:05+00:00", "error": None, "computeType": "AKS", "computeName": "aks-gpu",
        "scoringUri": "http://127.0.0.1:8123/api/v1/service/svc-one/score", "authEnabled": True,
        "aadAuthEnabled": False, "appInsightsEnabled": False, "numReplicas": 1,
        "autoScaler": {"autoscaleEnabled": True, "minReplicas": 1, "maxReplicas": 10,
                       "refreshPeriodInSeconds": 1, "targetUtilization": 70},
        "containerResourceRequirements": {"cpu": 0.1, "cpuLimit": None, "memoryInGB": 0.5,
                                          "memoryInGBLimit": None, "gpu": 1},
        "maxConcurrentRequestsPerContainer": 1, "maxQueueWaitMs": 500, "scoringTimeoutMs": 60000,
        "livenessProbeRequirements": {"periodSeconds": 10, "initialDelaySeconds": 310, "timeoutSeconds": 2,
                                      "successThreshold": 1, "failureThreshold": 3},
        "dataCollection": {"eventHubEnabled": False, "storageEnabled": False},
        "deploymentStatus": {"desiredReplicas": 1, "updatedReplicas": 0, "availableReplicas": 0, "error": None},
        "imageId": None, "imageDigest": None, "createdBy": {"userName": "me"},
        "namespace": "azureml-ws", "isDefault": None, "trafficPercentile": None, "type": None,
    }
    payload.update(overrides)
    return payload


def _real_aks(payload: dict[str, Any]) -> Any:
    return R_AKS.AksWebservice.deserialize(_stub_workspace(), payload)


def _fake_aks(payload: dict[str, Any]) -> Any:
    return F_AKS.AksWebservice.deserialize(_stub_workspace(), payload)


# --- Model.deploy: the name check runs before any request --------------------------------------------

@pytest.mark.parametrize("name", ["ab", "Abc", "1abc", "abc-", "my_svc", "tf.mnist", "a" * 33])
def test_deploy_rejects_bad_service_names_before_any_request(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        _same_error(lambda: R_MODEL.Model.deploy(None, name, []), lambda: F_MODEL.Model.deploy(None, name, []))


def test_deploy_future_warning_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    caught = {}
    for side, model in (("real", R_MODEL.Model), ("fake", F_MODEL.Model)):
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            _outcome(partial(model.deploy, None, "Bad", []))
        caught[side] = [(r.category, str(r.message)) for r in records if r.category is FutureWarning]
    assert caught["fake"] == caught["real"] and len(caught["real"]) == 1


def test_deploy_without_inference_config_gives_the_sdk_no_code_errors() -> None:
    model = types.SimpleNamespace(id="m:1", model_framework="Custom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for models in ([], [model, model], [model]):
            _same_error(partial(R_MODEL.Model.deploy, None, "good-name", models),
                        partial(F_MODEL.Model.deploy, None, "good-name", models))


# --- regen_key / list argument errors ----------------------------------------------------------------

@pytest.mark.parametrize("key", ["", None, "tertiary", "PRIMARYKEY"])
def test_regen_key_argument_errors(key: Any) -> None:
    real_self = types.SimpleNamespace(_auth=_Auth())
    fake_self = types.SimpleNamespace(_auth=None)
    _same_error(lambda: R_WS.Webservice.regen_key(real_self, key), lambda: F_WS.Webservice.regen_key(fake_self, key))


@pytest.mark.parametrize("compute_type", ["VM", "aml", "kubernetes"])
def test_list_rejects_unknown_compute_type(compute_type: str) -> None:
    _same_error(lambda: R_WS.Webservice.list(_stub_workspace(), compute_type=compute_type),
                lambda: F_WS.Webservice.list(_stub_workspace(), compute_type=compute_type))


# --- payload -> object --------------------------------------------------------------------------------

_AKS_ATTRIBUTES = ["name", "compute_type", "state", "error", "auth_enabled", "token_auth_enabled", "created_time",
                   "updated_time", "description", "tags", "properties", "created_by", "image_id", "image_digest",
                   "enable_app_insights", "compute_name", "max_concurrent_requests_per_container",
                   "max_request_wait_time", "num_replicas", "scoring_timeout_ms", "scoring_uri", "swagger_uri",
                   "is_default", "traffic_percentile", "version_type", "deployment_status", "namespace", "models",
                   "environment"]


@pytest.mark.parametrize("scoring_uri", [
    "http://127.0.0.1:8123/api/v1/service/svc-one/score", "http://localhost/score", None, ""])
def test_aks_attributes_and_swagger_uri(scoring_uri: str | None) -> None:
    payload = _aks_payload(scoringUri=scoring_uri)
    real, fake = _real_aks(payload), _fake_aks(payload)
    for attribute in _AKS_ATTRIBUTES:
        assert getattr(fake, attribute) == getattr(real, attribute), attribute
    for attribute in ("autoscaler", "container_resource_requirements", "liveness_probe_requirements",
                      "data_collection"):
        assert getattr(fake, attribute).serialize() == getattr(real, attribute).serialize(), attribute
    assert type(fake).__name__ == type(real).__name__


def test_aks_payload_validation_errors() -> None:
    for missing in ("scoringUri", "autoScaler", "aadAuthEnabled", "computeType"):
        payload = _aks_payload()
        del payload[missing]
        _same_error(partial(_real_aks, payload), partial(_fake_aks, payload))
    _same_error(lambda: _real_aks(_aks_payload(computeType="ACI")), lambda: _fake_aks(_aks_payload(computeType="ACI")))


def test_aks_serialize_and_repr() -> None:
    payload = _aks_payload()
    real, fake = _real_aks(payload), _fake_aks(payload)
    fake.workspace = real.workspace
    assert fake.serialize() == real.serialize()
    assert repr(fake) == repr(real)


def test_aci_attributes() -> None:
    payload = {"name": "aci-one", "description": None, "kvTags": None, "properties": {}, "state": "Healthy",
               "createdTime": "2026-01-02T03:04:05+00:00", "computeType": "ACI", "appInsightsEnabled": False,
               "authEnabled": False, "cname": None, "containerResourceRequirements": {"cpu": 0.1, "memoryInGB": 0.5},
               "location": "westeurope", "publicIp": None, "scoringUri": "http://127.0.0.1:1/score",
               "sslCertificate": None, "sslEnabled": False, "sslKey": None}
    real = R_ACI.AciWebservice.deserialize(_stub_workspace(), payload)
    fake = F_ACI.AciWebservice.deserialize(_stub_workspace(), payload)
    for attribute in ("name", "state", "scoring_uri", "swagger_uri", "location", "ssl_enabled", "auth_enabled",
                      "token_auth_enabled", "models", "environment"):
        assert getattr(fake, attribute) == getattr(real, attribute), attribute
    fake.workspace = real.workspace
    assert fake.serialize() == real.serialize()
    _same_error(real.get_token, fake.get_token)


# --- wait_for_deployment ------------------------------------------------------------------------------

_GPU_ERROR = {"code": "KubernetesError", "statusCode": 400, "message": "Kubernetes Deployment Error",
              "details": [{"code": "Unschedulable",
                           "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."},
                          {"code": "DeploymentFailed",
                           "message": "Couldn't schedule because the kubernetes cluster didn't have available "
                                      "resources after trying for 00:05:00.\nYou can address this error by either "
                                      "adding more nodes."}]}


def _with_operation(service: Any, state: str, error: Any, operation: dict[str, Any], service_state: str,
                    service_error: Any = None) -> Any:
    service._operation_endpoint = "https://mms.invalid/ws/operations/op-123"
    service._wait_for_operation_to_complete = lambda show_output, timeout_sec: (state, error, operation)

    def refresh() -> None:
        service.state, service.error = service_state, service_error
    service.update_deployment_state = refresh
    return service


@pytest.mark.parametrize("state,error,operation,service_error", [
    ("Failed", _GPU_ERROR, {"operationDetails": {"subOperationType": "DeployService"}}, None),
    ("Failed", None, {"operationDetails": {"subOperationType": "BuildEnvironment"}, "operationLog": "http://log"},
     {"code": "X", "message": "service says \\\"no\\\""}),
    ("TimedOut", None, {}, None),
    ("Cancelled", {"message": "caf\u00e9 \\n quoted"}, {"operationDetails": {}}, None),
])
def test_wait_for_deployment_failure_message(state: str, error: Any, operation: dict, service_error: Any) -> None:
    real = _with_operation(_real_aks(_aks_payload()), state, error, operation, "Failed", service_error)
    fake = _with_operation(_fake_aks(_aks_payload()), state, error, operation, "Failed", service_error)
    message = _same_error(lambda: real.wait_for_deployment(), lambda: fake.wait_for_deployment())[1]
    assert message.startswith("Service deployment polling reached non-successful terminal state, current service "
                              "state: Failed\nOperation ID: op-123\n")


def test_wait_for_deployment_success_output(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for service in (_real_aks(_aks_payload()), _fake_aks(_aks_payload())):
        _with_operation(service, "Succeeded", None, {}, "Healthy").wait_for_deployment(show_output=True)
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert outputs[1].endswith('AKS service creation operation finished, operation "Succeeded"\n')


def test_wait_for_deployment_without_operation() -> None:
    real, fake = _real_aks(_aks_payload()), _fake_aks(_aks_payload())
    for service in (real, fake):
        service.update_deployment_state = lambda: None
    _same_error(real.wait_for_deployment, fake.wait_for_deployment)


def test_wait_for_deployment_timeout_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(R_WS.time, "sleep", lambda seconds: None)
    services = []
    for service in (_real_aks(_aks_payload()), _fake_aks(_aks_payload())):
        service._operation_endpoint = "https://mms.invalid/ws/operations/op-1"
        service._get_operation_state = lambda show_output=False, offset=0: ("Running", None, {})
        service._poll_operation = lambda *args, **kwargs: ("Running", None, {})  # the facade's long poll
        service.update_deployment_state = lambda: None
        services.append(service)
    message = _same_error(lambda: services[0].wait_for_deployment(timeout_sec=1e-9),
                          lambda: services[1].wait_for_deployment(timeout_sec=1e-9))[1]
    assert message.startswith("Deployment polling exceeded timeout override of 1e-09s. Current status: Running\n")


def test_run_without_scoring_uri() -> None:
    payload = _aks_payload(scoringUri=None, state="Failed", error={"code": "E"})
    real, fake = _real_aks(payload), _fake_aks(payload)
    _same_error(lambda: real.run("{}"), lambda: fake.run("{}"))


def test_update_without_parameters_and_bad_values() -> None:
    real, fake = _real_aks(_aks_payload()), _fake_aks(_aks_payload())
    _same_error(real.update, fake.update)
    _same_error(lambda: real.update(cpu_cores=-1, num_replicas=0), lambda: fake.update(cpu_cores=-1, num_replicas=0))


def test_tag_helpers_print_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for service in (_real_aks(_aks_payload()), _fake_aks(_aks_payload())):
        tags = service._add_tags({"a": "2", "b": "3"})
        removed = service._remove_tags(["a", "zz"])
        props = service._add_properties({"p": "r"})
        outputs.append((tags, removed, props, capsys.readouterr().out))
    assert outputs[0] == outputs[1]
