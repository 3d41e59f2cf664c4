"""Differential tests: the same inputs go to the real azureml-core 1.61 classes and to ours.

For every case we compare what a user can observe: the exception class name and ``.message``
(``str()`` for non-Azure exceptions), DeprecationWarnings (category + text), log records of the
SDK/facade loggers (level + text), printed output and the resulting attributes or payloads.
None of the real calls exercised here touches the network.
"""
from __future__ import annotations

import importlib
import json
import logging
import types
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

# The real SDK's vendored ruamel emits PendingDeprecationWarnings on every YAML load/dump.
# Configs built outside ``observe`` (as test inputs) emit the InferenceConfig DeprecationWarnings too.
pytestmark = [
    pytest.mark.parity,
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]


def _real(module: str) -> types.ModuleType:
    mod = importlib.import_module(module)
    # The fake_azure import hook aliases azureml.core to the facade; these tests need the real SDK.
    assert mod.__name__.startswith("azureml"), f"{module} resolved to {mod.__name__}"
    return mod


R_CD = _real("azureml.core.conda_dependencies")
R_ENV = _real("azureml.core.environment")
R_MODEL = _real("azureml.core.model")
R_REG = _real("azureml.core.container_registry")
R_WS = _real("azureml.core.webservice.webservice")
R_AKS = _real("azureml.core.webservice.aks")
R_ACI = _real("azureml.core.webservice.aci")
R_LOCAL = _real("azureml.core.webservice.local")
R_UNKNOWN = _real("azureml.core.webservice.unknown_webservice")
R_UTIL = _real("azureml._model_management._util")
R_TRACKING = _real("azureml._base_sdk_common.tracking")

from fake_azure.core import conda_dependencies as F_CD  # noqa: E402 - the real SDK loads first
from fake_azure.core import container_registry as F_REG  # noqa: E402 - the real SDK loads first
from fake_azure.core import environment as F_ENV  # noqa: E402 - the real SDK loads first
from fake_azure.core import inference_config as F_IC  # noqa: E402 - the real SDK loads first
from fake_azure.core.webservice import aci as F_ACI  # noqa: E402 - the real SDK loads first
from fake_azure.core.webservice import aks as F_AKS  # noqa: E402 - the real SDK loads first
from fake_azure.core.webservice import local as F_LOCAL  # noqa: E402 - the real SDK loads first
from fake_azure.core.webservice import unknown_webservice as F_UNKNOWN  # noqa: E402 - the real SDK loads first
from fake_azure.core.webservice import webservice as F_WS  # noqa: E402 - the real SDK loads first

# --------------------------------------------------------------------------------------------------
# Outcome capture
# --------------------------------------------------------------------------------------------------

class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname, record.getMessage()))


@dataclass
class Outcome:
    value: Any = None
    error: tuple[str, str] | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)
    logs: list[tuple[str, str]] = field(default_factory=list)


def observe(fn: Callable[[], Any], logger_name: str) -> Outcome:
    """Run ``fn`` and record its result or exception, warnings and the records of ``logger_name``."""
    handler = _Collect()
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    outcome = Outcome()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                outcome.value = fn()
            except Exception as exc:  # the exception IS the observable outcome here
                outcome.error = (type(exc).__name__, getattr(exc, "message", str(exc)))
        outcome.warnings = [(w.category.__name__, str(w.message)) for w in caught
                            if issubclass(w.category, (DeprecationWarning, FutureWarning, UserWarning))
                            and "FileType Enum" not in str(w.message)]
    finally:
        logger.removeHandler(handler)
    outcome.logs = handler.records
    return outcome


def both(real_fn: Callable[[], Any], fake_fn: Callable[[], Any]) -> tuple[Outcome, Outcome]:
    real = observe(real_fn, "azureml")
    fake = observe(fake_fn, "fake_azure")
    assert fake.error == real.error
    assert fake.warnings == real.warnings
    assert fake.logs == real.logs
    return real, fake


def plain(data: Any) -> Any:
    """ruamel/OrderedDict structures -> plain JSON data."""
    return json.loads(json.dumps(data))


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Real payload builders merge git tracking info of the CWD; our facade deliberately sends none.
    monkeypatch.setattr(R_TRACKING.global_tracking_info_registry, "gather_all", lambda: {})
    monkeypatch.chdir(tmp_path)


# --------------------------------------------------------------------------------------------------
# AKS deployment configuration
# --------------------------------------------------------------------------------------------------

AKS_CASES: list[dict[str, Any]] = [
    {},
    {"autoscale_enabled": False, "num_replicas": 3, "cpu_cores": 2, "memory_gb": 4},
    {"cpu_cores": 0},
    {"cpu_cores": -1},
    {"cpu_cores": 0.1, "memory_gb": 0.5},
    {"cpu_cores": 0.5, "cpu_cores_limit": 0.25},
    {"cpu_cores": 0.5, "cpu_cores_limit": 0.5},
    {"cpu_cores_limit": 0.1},
    {"cpu_cores": 0, "cpu_cores_limit": -1},
    {"memory_gb": 0},
    {"memory_gb": 2, "memory_gb_limit": 1},
    {"memory_gb_limit": 1},
    {"gpu_cores": -1},
    {"gpu_cores": 0},
    {"gpu_cores": 1},
    {"period_seconds": 0},
    {"initial_delay_seconds": 0},
    {"timeout_seconds": -2},
    {"success_threshold": 0},
    {"failure_threshold": 0},
    {"period_seconds": 0, "initial_delay_seconds": 0, "timeout_seconds": 0, "success_threshold": 0,
     "failure_threshold": 0},
    {"namespace": "Bad_NS"},
    {"namespace": ""},
    {"namespace": "-abc"},
    {"namespace": "abc-"},
    {"namespace": "a" * 63},
    {"namespace": "a" * 64},
    {"namespace": "team-a-01"},
    {"scoring_timeout_ms": 0},
    {"scoring_timeout_ms": 60000},
    {"replica_max_concurrent_requests": 0},
    {"max_request_wait_time": -5},
    {"num_replicas": 0},
    {"num_replicas": -1},
    {"autoscale_enabled": True, "num_replicas": 2},
    {"autoscale_enabled": True, "autoscale_min_replicas": 0, "autoscale_max_replicas": 0},
    {"autoscale_enabled": True, "autoscale_min_replicas": 5, "autoscale_max_replicas": 2},
    {"autoscale_enabled": True, "autoscale_min_replicas": 2, "autoscale_max_replicas": 5,
     "autoscale_refresh_seconds": 1, "autoscale_target_utilization": 70},
    {"autoscale_enabled": True, "autoscale_refresh_seconds": 0, "autoscale_target_utilization": 0},
    {"autoscale_enabled": 1, "num_replicas": 1},
    {"autoscale_enabled": False},
    {"autoscale_enabled": False, "num_replicas": 0},
    {"autoscale_enabled": 0},
    {"autoscale_min_replicas": 2},
    {"num_replicas": 2, "autoscale_max_replicas": 5},
    {"autoscale_target_utilization": 70, "autoscale_refresh_seconds": 3},
    {"autoscale_min_replicas": 0},
    {"autoscale_enabled": False, "num_replicas": 2, "autoscale_min_replicas": 1, "autoscale_max_replicas": 3,
     "autoscale_refresh_seconds": 1, "autoscale_target_utilization": 50},
    {"auth_enabled": True, "token_auth_enabled": True},
    {"auth_enabled": False, "token_auth_enabled": True},
    {"auth_enabled": 0, "token_auth_enabled": 1},
    {"cpu_cores": "2"},
    {"num_replicas": "3"},
    {"cpu_cores": -1, "cpu_cores_limit": -2, "memory_gb": -1, "memory_gb_limit": -2, "gpu_cores": -1,
     "period_seconds": -1, "initial_delay_seconds": -1, "timeout_seconds": -1, "success_threshold": -1,
     "failure_threshold": -1, "namespace": "NS", "scoring_timeout_ms": -1, "replica_max_concurrent_requests": -1,
     "max_request_wait_time": -1, "num_replicas": -1, "autoscale_enabled": True, "autoscale_min_replicas": -1,
     "autoscale_max_replicas": -2, "autoscale_refresh_seconds": -1, "autoscale_target_utilization": -1,
     "auth_enabled": True, "token_auth_enabled": True},
    {"cpu_cores": -1, "memory_gb": -1, "autoscale_enabled": False, "autoscale_min_replicas": 1,
     "autoscale_max_replicas": 2, "autoscale_refresh_seconds": 1, "autoscale_target_utilization": 1,
     "auth_enabled": True, "token_auth_enabled": True},
    {"tags": {"a": "b"}, "properties": {"p": "q"}, "description": "d", "primary_key": "k1", "secondary_key": "k2",
     "compute_target_name": "aks-gpu", "blobfuse_enabled": False, "collect_model_data": True,
     "enable_app_insights": True, "gpu_cores": 1},
]


def _aks_attrs(config: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(config).items() if k != "_webservice_type"}


@pytest.mark.parametrize("kwargs", AKS_CASES, ids=[str(i) for i in range(len(AKS_CASES))])
def test_aks_deploy_configuration(kwargs: dict[str, Any]) -> None:
    real, fake = both(lambda: R_AKS.AksWebservice.deploy_configuration(**kwargs),
                      lambda: F_AKS.AksWebservice.deploy_configuration(**kwargs))
    if real.error is None:
        assert type(fake.value).__name__ == "AksServiceDeploymentConfiguration"
        assert _aks_attrs(fake.value) == _aks_attrs(real.value)
        assert fake.value._webservice_type is F_AKS.AksWebservice


def test_aks_error_lines_accumulate_in_sdk_order() -> None:
    # One explicit anchor so that a change in both implementations is still noticed.
    real, _ = both(lambda: R_AKS.AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=0),
                   lambda: F_AKS.AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=0))
    assert real.error == ("WebserviceException",
                          "Invalid configuration, num_replicas must be greater than zero.\n"
                          "Invalid configuration, autoscale disabled but num_replicas not provided.\n")


AKS_PAYLOAD_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"autoscale_enabled": False, "num_replicas": 3, "cpu_cores": 2, "memory_gb": 4}, {}),
    ({"autoscale_enabled": True, "autoscale_min_replicas": 1, "autoscale_max_replicas": 4,
      "autoscale_refresh_seconds": 2, "autoscale_target_utilization": 60}, {"overwrite": True}),
    ({"gpu_cores": 1, "cpu_cores": 1, "cpu_cores_limit": 2, "memory_gb": 2, "memory_gb_limit": 8,
      "scoring_timeout_ms": 5000, "replica_max_concurrent_requests": 2, "max_request_wait_time": 100,
      "namespace": "ns1", "period_seconds": 5, "initial_delay_seconds": 30, "timeout_seconds": 2,
      "success_threshold": 1, "failure_threshold": 5}, {"deployment_target": types.SimpleNamespace(name="aks-gpu")}),
    ({"collect_model_data": True, "enable_app_insights": False, "blobfuse_enabled": False,
      "auth_enabled": False, "token_auth_enabled": True}, {}),
    ({"collect_model_data": False, "blobfuse_enabled": True, "auth_enabled": True}, {"overwrite": False}),
    ({"primary_key": "pk", "secondary_key": "sk", "tags": {"t": "1"}, "properties": {"p": "1"},
      "description": "desc", "compute_target_name": "ignored-in-payload"}, {}),
    ({"secondary_key": "sk-only"}, {}),
]


@pytest.mark.parametrize("kwargs,build_kwargs", AKS_PAYLOAD_CASES, ids=[str(i) for i in range(len(AKS_PAYLOAD_CASES))])
def test_aks_create_payload(kwargs: dict[str, Any], build_kwargs: dict[str, Any]) -> None:
    image_request = {"driverProgram": "main.py", "assets": [], "modelIds": ["m:1"], "environment": None}
    real, fake = both(
        lambda: R_AKS.AksWebservice.deploy_configuration(**kwargs)._build_create_payload(
            "svc", image_request, **build_kwargs),
        lambda: F_AKS.AksWebservice.deploy_configuration(**kwargs)._build_create_payload(
            "svc", image_request, **build_kwargs))
    assert real.error is None
    assert fake.value == real.value


@pytest.mark.parametrize("kwargs", [
    {"cpu_cores": 2, "memory_gb": 4, "num_replicas": 3, "autoscale_enabled": False},
    {"cpu_cores": 1, "gpu_cores": 1, "memory_gb": 1.5},
    {"gpu_cores": 0},
    {},
])
def test_aks_print_deploy_configuration(kwargs: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    R_AKS.AksWebservice.deploy_configuration(**kwargs).print_deploy_configuration()
    real_out = capsys.readouterr().out
    F_AKS.AksWebservice.deploy_configuration(**kwargs).print_deploy_configuration()
    assert capsys.readouterr().out == real_out


ENDPOINT_CASES: list[dict[str, Any]] = [
    {},
    {"version_name": "v1", "traffic_percentile": 20},
    {"version_name": "Bad_Version"},
    {"version_name": "ab"},
    {"traffic_percentile": 101},
    {"traffic_percentile": -1},
    {"traffic_percentile": 0},
    {"cpu_cores": 0, "traffic_percentile": 200},
    {"num_replicas": 2, "auth_enabled": True, "namespace": "ns", "enable_app_insights": True,
     "primary_key": "a", "secondary_key": "b", "tags": {"x": "y"}, "version_name": "blue"},
]


@pytest.mark.parametrize("kwargs", ENDPOINT_CASES, ids=[str(i) for i in range(len(ENDPOINT_CASES))])
def test_aks_endpoint_configuration_and_payload(kwargs: dict[str, Any]) -> None:
    real, fake = both(lambda: R_AKS.AksEndpoint.deploy_configuration(**kwargs),
                      lambda: F_AKS.AksEndpoint.deploy_configuration(**kwargs))
    if real.error is None:
        assert _aks_attrs(fake.value) == _aks_attrs(real.value)
        for overwrite in (False, True):
            real_payload = real.value._build_create_payload("endpoint", {"assets": []}, overwrite=overwrite)
            assert fake.value._build_create_payload("endpoint", {"assets": []}, overwrite=overwrite) == real_payload


# --------------------------------------------------------------------------------------------------
# AKS update validation
# --------------------------------------------------------------------------------------------------

class _Reached(Exception):
    """Raised where the real update() would start talking to the service."""


def _real_bare_aks(state: dict[str, Any]) -> Any:
    service = R_WS.Webservice.__new__(R_AKS.AksWebservice, None, None)
    service._auth = types.SimpleNamespace(get_authentication_header=lambda: {})
    service.name = "svc"
    service.compute_type = "AKS"
    service.workspace = None
    service._mms_endpoint = "http://mms.invalid/services/svc"
    for key, value in state.items():
        setattr(service, key, value)
    return service


def _model(framework: str) -> Any:
    return types.SimpleNamespace(model_framework=framework, id="m:1")


_CURRENT_DEFAULT = {"environment": object(), "image": None, "auth_enabled": True, "token_auth_enabled": False,
                    "container_resource_requirements": None}
_RES = dict(cpu=1, memory_in_gb=2, cpu_limit=2, memory_in_gb_limit=4)

UPDATE_CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({"num_replicas": 2}, {}),
    ({"num_replicas": 0}, {}),
    ({"cpu_cores": 0}, {}),
    ({"cpu_cores": 3}, {"container_resource_requirements": _RES}),
    ({"cpu_cores": 1.5}, {"container_resource_requirements": _RES}),
    ({"cpu_cores_limit": 0}, {}),
    ({"cpu_cores": 2, "cpu_cores_limit": 1}, {}),
    ({"cpu_cores_limit": 0.5}, {"container_resource_requirements": _RES}),
    ({"memory_gb": 0}, {}),
    ({"memory_gb": 8}, {"container_resource_requirements": _RES}),
    ({"memory_gb_limit": 0, "memory_gb": 4}, {}),
    ({"memory_gb_limit": 1, "memory_gb": 4}, {}),
    ({"memory_gb_limit": 1}, {"container_resource_requirements": _RES}),
    ({"gpu_cores": -1}, {}),
    ({"gpu_cores": 0}, {}),
    ({"gpu_cores": 1}, {}),
    ({"scoring_timeout_ms": 0, "replica_max_concurrent_requests": 0, "max_request_wait_time": 0}, {}),
    ({"period_seconds": 0, "timeout_seconds": 0, "initial_delay_seconds": 0, "success_threshold": 0,
      "failure_threshold": 0}, {}),
    ({"namespace": "Bad"}, {}),
    ({"autoscale_enabled": True, "num_replicas": 3}, {}),
    ({"autoscale_enabled": True, "autoscale_min_replicas": 4, "autoscale_max_replicas": 2,
      "autoscale_refresh_seconds": 0, "autoscale_target_utilization": 0}, {}),
    ({"autoscale_enabled": True, "autoscale_min_replicas": 0, "autoscale_max_replicas": -1}, {}),
    ({"autoscale_enabled": False}, {}),
    ({"autoscale_enabled": False, "num_replicas": 2}, {}),
    ({"autoscale_min_replicas": 1, "autoscale_max_replicas": 2, "autoscale_refresh_seconds": 1,
      "autoscale_target_utilization": 1}, {}),
    ({"token_auth_enabled": True, "auth_enabled": True}, {}),
    ({"token_auth_enabled": True}, {}),
    ({"token_auth_enabled": True}, {"auth_enabled": False}),
    ({"token_auth_enabled": True, "auth_enabled": False}, {}),
    ({"auth_enabled": True}, {"auth_enabled": False, "token_auth_enabled": True}),
    ({"auth_enabled": True, "token_auth_enabled": False}, {"auth_enabled": False, "token_auth_enabled": True}),
    ({"image": object()}, {}),
    ({"image": object(), "inference_config": types.SimpleNamespace(environment=object())}, {"image": object()}),
    ({"inference_config": types.SimpleNamespace(environment=object())}, {"image": object(), "environment": None}),
    ({"models": [_model("Custom")]}, {}),
    ({"models": [_model("Onnx")]}, {}),
    ({"models": [_model("Onnx"), _model("Onnx")]}, {}),
    ({"models": []}, {}),
    ({"tags": {}}, {}),
    ({"properties": {"a": "b"}}, {}),
    ({"description": ""}, {}),
    ({"collect_model_data": False}, {}),
    ({"enable_app_insights": False}, {}),
    ({"cpu_cores": -1, "memory_gb": -1, "gpu_cores": -1, "num_replicas": -1, "autoscale_enabled": False,
      "autoscale_min_replicas": 2, "token_auth_enabled": True, "auth_enabled": True, "namespace": "X"}, {}),
    ({"is_migration": True}, {}),
]


@pytest.mark.parametrize("kwargs,state", UPDATE_CASES, ids=[str(i) for i in range(len(UPDATE_CASES))])
def test_aks_update_validation(kwargs: dict[str, Any], state: dict[str, Any],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    current = dict(_CURRENT_DEFAULT, **state)
    real_resources = current["container_resource_requirements"]
    fake_current = dict(current)
    if real_resources is not None:
        current["container_resource_requirements"] = R_WS.ContainerResourceRequirements(**real_resources)
        fake_current["container_resource_requirements"] = F_WS.ContainerResourceRequirements(**real_resources)

    def stop(*_: Any, **__: Any) -> None:
        raise _Reached()

    def real_update() -> str:
        try:
            _real_bare_aks(current).update(**kwargs)
        except _Reached:
            return "reached the service call"
        return "returned"

    monkeypatch.setattr(R_WS.Webservice, "_check_for_webservice", staticmethod(stop))
    real, fake = both(
        real_update,
        lambda: F_AKS.AksWebservice._validate_update_args(**kwargs, current=types.SimpleNamespace(**fake_current)))
    if fake.error is None:
        # The real update() got past every client-side check exactly when ours lets it proceed.
        assert real.value == "reached the service call"
        assert fake.value is True


def test_aks_update_validation_error_text() -> None:
    with pytest.raises(F_AKS.WebserviceException) as info:
        F_AKS.AksWebservice._validate_update_args(token_auth_enabled=True,
                                                  current=types.SimpleNamespace(auth_enabled=True))
    assert info.value.message == ("Error, cannot set token_auth_enabled without disabling key auth "
                                  "(set auth_enabled to False).\n")


def test_aks_instance_validate_update_matches_sdk() -> None:
    names = ["image", "autoscale_enabled", "autoscale_min_replicas", "autoscale_max_replicas",
             "autoscale_refresh_seconds", "autoscale_target_utilization", "collect_model_data", "cpu_cores",
             "memory_gb", "enable_app_insights", "scoring_timeout_ms", "replica_max_concurrent_requests",
             "max_request_wait_time", "num_replicas", "tags", "properties", "description", "models",
             "inference_config", "gpu_cores", "period_seconds", "initial_delay_seconds", "timeout_seconds",
             "success_threshold", "failure_threshold", "namespace", "auth_enabled", "token_auth_enabled",
             "cpu_cores_limit", "memory_gb_limit"]
    args = dict.fromkeys(names)
    args.update(cpu_cores=0, autoscale_enabled=False, token_auth_enabled=True)
    fake_service = F_AKS.AksWebservice()
    for key, value in _CURRENT_DEFAULT.items():
        setattr(fake_service, key, value)
    both(lambda: _real_bare_aks(_CURRENT_DEFAULT)._validate_update(**args),
         lambda: fake_service._validate_update(**args))


# --------------------------------------------------------------------------------------------------
# ACI and Local deployment configurations
# --------------------------------------------------------------------------------------------------

def _aci_cases(tmp: Path) -> list[dict[str, Any]]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    cert.write_text("CERT")
    key.write_text("KEY")
    missing = str(tmp / "missing.pem")
    return [
        {},
        {"cpu_cores": 1, "memory_gb": 2},
        {"cpu_cores": 0},
        {"cpu_cores": -1, "memory_gb": -1},
        {"memory_gb": 0},
        {"ssl_enabled": True},
        {"ssl_enabled": True, "ssl_cert_pem_file": str(cert), "ssl_key_pem_file": str(key)},
        {"ssl_enabled": True, "ssl_cert_pem_file": missing, "ssl_key_pem_file": str(key), "ssl_cname": "a.b"},
        {"ssl_enabled": True, "ssl_cert_pem_file": str(cert), "ssl_key_pem_file": missing, "ssl_cname": "a.b"},
        {"ssl_enabled": True, "ssl_cert_pem_file": str(cert), "ssl_key_pem_file": str(key), "ssl_cname": "a.b"},
        {"ssl_enabled": False, "ssl_cert_pem_file": missing},
        {"cmk_vault_base_url": "https://kv"},
        {"cmk_key_name": "k", "cmk_key_version": "1"},
        {"cmk_vault_base_url": "https://kv", "cmk_key_name": "k", "cmk_key_version": "1"},
        {"vnet_name": "v"},
        {"subnet_name": "s"},
        {"vnet_name": "v", "subnet_name": "s"},
        {"cpu_cores": 0, "cmk_key_name": "k", "vnet_name": "v"},
        {"auth_enabled": True, "enable_app_insights": False, "collect_model_data": True, "dns_name_label": "lbl",
         "location": "westeurope", "tags": {"a": "1"}, "properties": {"b": "2"}, "description": "d",
         "primary_key": "p", "secondary_key": "s"},
        {"cpu_cores": "1"},
    ]


@pytest.mark.parametrize("index", range(20))
def test_aci_deploy_configuration_and_payload(index: int, tmp_path: Path) -> None:
    kwargs = _aci_cases(tmp_path)[index]
    real, fake = both(lambda: R_ACI.AciWebservice.deploy_configuration(**kwargs),
                      lambda: F_ACI.AciWebservice.deploy_configuration(**kwargs))
    if real.error is None:
        assert {k: v for k, v in vars(fake.value).items() if k != "_webservice_type"} == \
            {k: v for k, v in vars(real.value).items() if k != "_webservice_type"}
        for overwrite in (False, True):
            assert fake.value._build_create_payload("aci-svc", {"assets": []}, overwrite=overwrite) == \
                real.value._build_create_payload("aci-svc", {"assets": []}, overwrite=overwrite)


def test_aci_cmk_message_keeps_sdk_whitespace() -> None:
    real, fake = both(lambda: R_ACI.AciWebservice.deploy_configuration(cmk_key_name="k"),
                      lambda: F_ACI.AciWebservice.deploy_configuration(cmk_key_name="k"))
    assert fake.error is not None and " " * 30 + "all are empty/null" in fake.error[1]


def test_aci_ssl_payload_read_error(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("C")
    key.write_text("K")
    real_config = R_ACI.AciWebservice.deploy_configuration(ssl_enabled=True, ssl_cert_pem_file=str(cert),
                                                           ssl_key_pem_file=str(key), ssl_cname="x")
    fake_config = F_ACI.AciWebservice.deploy_configuration(ssl_enabled=True, ssl_cert_pem_file=str(cert),
                                                           ssl_key_pem_file=str(key), ssl_cname="x")
    key.unlink()
    real, _ = both(lambda: real_config._build_create_payload("s", None),
                   lambda: fake_config._build_create_payload("s", None))
    assert real.error is not None and real.error[1].startswith("Error occurred attempting to read SSL key pem file")


@pytest.mark.parametrize("kwargs", [{"cpu_cores": 1, "memory_gb": 2}, {"memory_gb": 0.5}, {}])
def test_aci_print_deploy_configuration(kwargs: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    R_ACI.AciWebservice.deploy_configuration(**kwargs).print_deploy_configuration()
    real_out = capsys.readouterr().out
    F_ACI.AciWebservice.deploy_configuration(**kwargs).print_deploy_configuration()
    assert capsys.readouterr().out == real_out


@pytest.mark.parametrize("port", [None, 0, 1, 8890, 65535, 65536, -1, "8080", 8080.0, True, False, ""])
def test_local_deploy_configuration(port: Any) -> None:
    real, fake = both(lambda: R_LOCAL.LocalWebservice.deploy_configuration(port=port),
                      lambda: F_LOCAL.LocalWebservice.deploy_configuration(port=port))
    if real.error is None:
        assert fake.value.port == real.value.port
        assert fake.value._webservice_type is F_LOCAL.LocalWebservice


@pytest.mark.parametrize("real_call,fake_call", [
    (lambda: R_ACI.AciWebservice.get_token(None), lambda: F_ACI.AciWebservice.get_token(None)),
    (lambda: R_LOCAL.LocalWebservice.get_keys(None), lambda: F_LOCAL.LocalWebservice.get_keys(None)),
    (lambda: R_LOCAL.LocalWebservice.get_token(None), lambda: F_LOCAL.LocalWebservice.get_token(None)),
    (lambda: R_LOCAL.LocalWebservice.regen_key(None, "Primary"),
     lambda: F_LOCAL.LocalWebservice.regen_key(None, "Primary")),
    (lambda: R_LOCAL.LocalWebservice.deserialize(None, {}), lambda: F_LOCAL.LocalWebservice.deserialize(None, {})),
    (lambda: R_UNKNOWN.UnknownWebservice.run(None, "x"), lambda: F_UNKNOWN.UnknownWebservice.run(None, "x")),
    (lambda: R_UNKNOWN.UnknownWebservice.update(None, 1), lambda: F_UNKNOWN.UnknownWebservice.update(None, 1)),
    (lambda: R_UNKNOWN.UnknownWebservice.get_token(None), lambda: F_UNKNOWN.UnknownWebservice.get_token(None)),
    (lambda: R_UNKNOWN.UnknownWebservice._deploy(None, "n", None, None, None),
     lambda: F_UNKNOWN.UnknownWebservice._deploy(None, "n", None, None, None)),
], ids=["aci-token", "local-keys", "local-token", "local-regen", "local-deserialize", "unknown-run",
        "unknown-update", "unknown-token", "unknown-deploy"])
def test_unsupported_operations(real_call: Callable[[], Any], fake_call: Callable[[], Any]) -> None:
    real, _ = both(real_call, fake_call)
    assert real.error is not None and real.error[0] == "NotImplementedError"


@pytest.mark.parametrize("name", ["abc", "aks-gpu-svc-01", "a" * 32, "ab", "Abc", "1abc", "abc-", "my_svc",
                                  "tf.mnist", "a" * 33, "a-b", "a--b", "", "abc\n"])
def test_webservice_name_validation(name: str) -> None:
    both(lambda: R_UTIL.webservice_name_validation(name), lambda: F_WS.Webservice._check_name(name))


# --------------------------------------------------------------------------------------------------
# Payload helper classes
# --------------------------------------------------------------------------------------------------

HELPER_PAYLOADS = [
    ("ContainerResourceRequirements", {"cpu": 1, "cpuLimit": 2, "memoryInGB": 3, "memoryInGBLimit": 4, "gpu": 1}),
    ("ContainerResourceRequirements", {"cpu": 1, "memoryInGB": 3, "memoryInGBLimit": 4, "gpu": 1}),
    ("LivenessProbeRequirements", {"periodSeconds": 10, "initialDelaySeconds": 310, "timeoutSeconds": 2,
                                   "failureThreshold": 3, "successThreshold": 1}),
    ("LivenessProbeRequirements", None),
    ("LivenessProbeRequirements", {"periodSeconds": 10}),
    ("AutoScaler", {"autoscaleEnabled": True, "maxReplicas": 10, "minReplicas": 1, "refreshPeriodInSeconds": 1,
                    "targetUtilization": 70}),
    ("AutoScaler", {"autoscaleEnabled": True}),
    ("DataCollection", {"eventHubEnabled": False, "storageEnabled": True}),
    ("DataCollection", {"storageEnabled": True}),
    ("WebServiceAccessToken", {"accessToken": "t", "tokenType": "Bearer", "refreshAfter": 1700000000,
                               "expiryOn": 1700043200}),
    ("WebServiceAccessToken", {"accessToken": "t"}),
]


@pytest.mark.parametrize("module_pair", [(R_WS, F_WS), (R_AKS, F_AKS)], ids=["webservice", "aks"])
@pytest.mark.parametrize("cls_name,payload", HELPER_PAYLOADS,
                         ids=[f"{c}-{i}" for i, (c, _) in enumerate(HELPER_PAYLOADS)])
def test_payload_helpers_round_trip(module_pair: tuple[Any, Any], cls_name: str, payload: Any) -> None:
    real_module, fake_module = module_pair
    if cls_name == "WebServiceAccessToken" and real_module is R_AKS:
        cls_name = "AksServiceAccessToken"
    real, fake = both(lambda: getattr(real_module, cls_name).deserialize(payload),
                      lambda: getattr(fake_module, cls_name).deserialize(payload))
    if real.error is None:
        assert fake.value.serialize() == real.value.serialize()
        assert vars(fake.value) == vars(real.value)


@pytest.mark.parametrize("cls_name,payload", [
    ("ContainerResourceRequirements", {"cpu": 1, "memoryInGB": 2}),
    ("ContainerResourceRequirements", {"cpu": 1}),
    ("EncryptionProperties", {"vaultBaseUrl": "u", "keyName": "k", "keyVersion": "v"}),
    ("EncryptionProperties", {"vaultBaseUrl": "u"}),
    ("VnetConfiguration", {"vnetName": "v", "subnetName": "s"}),
    ("VnetConfiguration", {"subnetName": "s"}),
])
def test_aci_payload_helpers(cls_name: str, payload: dict[str, Any]) -> None:
    real, fake = both(lambda: getattr(R_ACI, cls_name).deserialize(payload),
                      lambda: getattr(F_ACI, cls_name).deserialize(payload))
    if real.error is None:
        assert fake.value.serialize() == real.value.serialize()
    assert F_ACI.EncryptionProperties.deserialize(None) is R_ACI.EncryptionProperties.deserialize(None) is None


def test_validate_image() -> None:
    cases = [None,
             types.SimpleNamespace(creation_state="Failed", id="img:1", image_flavor="WebApiContainer"),
             types.SimpleNamespace(creation_state="Succeeded", id="img:1", image_flavor="IoTContainer"),
             types.SimpleNamespace(creation_state="Succeeded", id="img:1", image_flavor="AccelContainer")]
    for image in cases:
        both(partial(R_AKS.AksServiceDeploymentConfiguration.validate_image, image),
             partial(F_AKS.AksServiceDeploymentConfiguration.validate_image, image))


# --------------------------------------------------------------------------------------------------
# CondaDependencies
# --------------------------------------------------------------------------------------------------

def _cd_state(cd: Any) -> dict[str, Any]:
    return {
        "doc": yaml.safe_load(cd.serialize_to_string()),
        "as_dict": cd.as_dict(),
        "pip": list(cd.pip_packages),
        "pip_options": list(cd.pip_options),
        "conda": list(cd.conda_packages),
        "channels": list(cd.conda_channels),
        "python": cd.get_python_version(),
    }


CREATE_CASES: list[dict[str, Any]] = [
    {},
    {"pip_packages": ["numpy"]},
    {"pip_packages": ["azureml-defaults", "numpy==1.26.4", "torch>=2.0"]},
    {"pip_packages": ["azureml-defaults[extra]", "e"]},
    {"pip_packages": ["e", "z[x]>=1"], "pin_sdk_version": False},
    {"pip_packages": []},
    {"pip_indexurl": "https://my.index/simple", "pip_packages": ["numpy"]},
    {"conda_packages": ["scikit-learn", "numpy=1.26"]},
    {"conda_packages": ["python=3.9"]},
    {"python_version": "3.9"},
    {"python_version": "3.10.18"},
    {"pip_packages": ["numpy", "numpy==2.0"], "conda_packages": ["pip", "pip"]},
    {"python_version": None},
    {"pip_packages": ["--index-url x"]},
]


@pytest.mark.parametrize("kwargs", CREATE_CASES, ids=[str(i) for i in range(len(CREATE_CASES))])
def test_conda_dependencies_create(kwargs: dict[str, Any]) -> None:
    real, fake = both(lambda: R_CD.CondaDependencies.create(**kwargs), lambda: F_CD.CondaDependencies.create(**kwargs))
    if real.error is None:
        assert _cd_state(fake.value) == _cd_state(real.value)


def test_create_keeps_unpinned_azureml_defaults() -> None:
    real = R_CD.CondaDependencies.create(pip_packages=["numpy"])
    fake = F_CD.CondaDependencies.create(pip_packages=["numpy"])
    assert _cd_state(fake) == _cd_state(real)
    assert list(F_CD.CondaDependencies.create().pip_packages) == ["azureml-defaults"]
    assert F_CD.CondaDependencies.sdk_origin_url() == R_CD.CondaDependencies.sdk_origin_url()
    assert F_CD.CondaDependencies._sdk_scope() == R_CD.CondaDependencies._sdk_scope()


CONDA_FILES = {
    "full": "name: myenv\nchannels:\n  - conda-forge\n  - defaults\ndependencies:\n  - python=3.9.12\n"
            "  - numpy\n  - pip\n  - pip:\n    - azureml-defaults\n    - --extra-index-url https://x/simple\n"
            "    - torch==2.1.0\n",
    "no_python": "name: nopy\ndependencies:\n  - scikit-learn\n  - pip:\n    - azureml-defaults\n",
    "no_deps": "name: only-name\n",
    "python_range": "dependencies:\n  - python>=3.8\n  - python-dateutil\n",
    "dupes": "dependencies:\n  - python=3.8\n  - a\n  - b\n  - a\n  - pip:\n    - x\n    - y\n    - x==1\n"
             "channels:\n  - c1\n  - c2\n  - c1\n",
    "variables": "name: v\nvariables:\n  FOO: bar\nprefix: /opt/env\ndependencies:\n  - python=3.11\n",
    "bad_key": "name: bad\nfoo: 1\n",
    "list": "- a\n- b\n",
    "empty": "",
    "pipx": "dependencies:\n  - python=3.10\n  - pipx\n  - pillow\n  - {other: [1]}\n",
    "wheel": "dependencies:\n  - python=3.10\n  - pip:\n    - https://host/pkgs/my_pkg-1.0-py3-none-any.whl\n",
}


@pytest.mark.parametrize("name", sorted(CONDA_FILES))
def test_conda_dependencies_from_file(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.yml"
    path.write_text(CONDA_FILES[name])
    real, fake = both(lambda: R_CD.CondaDependencies(str(path)), lambda: F_CD.CondaDependencies(str(path)))
    if real.error is None:
        assert _cd_state(fake.value) == _cd_state(real.value)


OPERATIONS: dict[str, list[tuple[str, tuple[Any, ...]]]] = {
    "pip": [("add_pip_package", ("numpy==1.0",)), ("add_pip_package", ("numpy>=2",)),
            ("add_pip_package", ("torch[cuda]",)), ("remove_pip_package", ("torch",)),
            ("remove_pip_package", ("not-there",)), ("add_pip_package", ("--bad",)),
            ("remove_pip_package", ("-x",))],
    "conda": [("add_conda_package", ("scipy",)), ("add_conda_package", ("scipy",)),
              ("add_conda_package", ("python=3.11",)), ("remove_conda_package", ("scipy",)),
              ("remove_conda_package", ("python=3.11",)), ("remove_conda_package", ("missing",)),
              ("add_conda_package", ("python",))],
    "options": [("set_pip_option", ("--index-url https://a",)), ("set_pip_option", ("--index-url https://b",)),
                ("set_pip_option", ("--pre",)), ("remove_pip_option", ("--index-url",)),
                ("set_pip_option", ("no-dash",)), ("remove_pip_option", ("nodash",)),
                ("set_pip_index_url", ("--extra-index-url https://c",))],
    "channels": [("add_channel", ("pytorch",)), ("add_channel", ("pytorch",)), ("remove_channel", ("anaconda",)),
                 ("remove_channel", ("nope",))],
    "python": [("set_python_version", ("3.8.13",)), ("set_python_version", ("3.11",)),
               ("get_python_version", ()), ("remove_conda_package", ("python=3.11",))],
    "frameworks": [("add_tensorflow_pip_package", ("gpu",)), ("add_tensorflow_pip_package", ("cpu", "2.12.0")),
                   ("add_tensorflow_conda_package", ()), ("add_cntk_package", ("gpu",)),
                   ("add_cntk_package", ("tpu",)), ("_pin_sdk_packages", ())],
    "requirements": [("set_pip_requirements", (["a==1", "", "# c", "--pre"],)), ("add_pip_package", ("b",)),
                     ("get_default_number_of_packages", ())],
}


@pytest.mark.parametrize("start", ["default", "file"])
@pytest.mark.parametrize("ops", sorted(OPERATIONS))
def test_conda_dependencies_operations(ops: str, start: str, tmp_path: Path) -> None:
    path = tmp_path / "env.yml"
    path.write_text(CONDA_FILES["dupes"] if start == "file" else CONDA_FILES["full"])
    real_cd = R_CD.CondaDependencies(str(path)) if start == "file" else R_CD.CondaDependencies()
    fake_cd = F_CD.CondaDependencies(str(path)) if start == "file" else F_CD.CondaDependencies()
    for method, args in OPERATIONS[ops]:
        # both() calls them at once; the defaults bind this iteration's method and args all the same.
        real, fake = both(lambda method=method, args=args: getattr(real_cd, method)(*args),
                          lambda method=method, args=args: getattr(fake_cd, method)(*args))
        assert fake.value == real.value, (method, args)
        assert _cd_state(fake_cd) == _cd_state(real_cd), (method, args)


@pytest.mark.parametrize("items,remove", [
    (["a", "b", "a"], "a"), (["a", "a", "b"], "a"), (["a", "a", "a"], "a"), (["b", "a"], "a")])
def test_duplicate_removal_matches_ruamel_semantics(items: list[str], remove: str, tmp_path: Path) -> None:
    path = tmp_path / "dup.yml"
    path.write_text(yaml.safe_dump({"dependencies": ["python=3.9", *items], "channels": list(items)}))
    real_cd, fake_cd = R_CD.CondaDependencies(str(path)), F_CD.CondaDependencies(str(path))
    for cd in (real_cd, fake_cd):
        cd.remove_conda_package(remove)
        cd.remove_channel(remove)
    assert _cd_state(fake_cd) == _cd_state(real_cd)


def test_merge_requirements() -> None:
    reqs = ["numpy>=1", "numpy<2", "torch", "torch==2.1", "pkg[extra]>1"]
    assert F_CD.CondaDependencies.merge_requirements(reqs) == R_CD.CondaDependencies.merge_requirements(reqs)


def test_save_and_cross_load(tmp_path: Path) -> None:
    real_cd = R_CD.CondaDependencies.create(pip_packages=["numpy"], conda_packages=["scipy"])
    fake_cd = F_CD.CondaDependencies.create(pip_packages=["numpy"], conda_packages=["scipy"])
    real_path, fake_path = tmp_path / "real.yml", tmp_path / "fake.yml"
    real, fake = both(lambda: real_cd.save(str(real_path)), lambda: fake_cd.save(str(fake_path)))
    assert (real.value, fake.value) == (str(real_path), str(fake_path))
    # Each implementation reads the other's file to the same document.
    assert _cd_state(F_CD.CondaDependencies(str(real_path))) == _cd_state(R_CD.CondaDependencies(str(fake_path)))
    both(lambda: real_cd.save(str(tmp_path)), lambda: fake_cd.save(str(tmp_path)))
    both(lambda: real_cd.save(str(tmp_path / "no" / "x.yml")), lambda: fake_cd.save(str(tmp_path / "no" / "x.yml")))
    nopy = {"name": "x", "dependencies": ["numpy"]}
    both(lambda: R_CD.CondaDependencies(_underlying_structure=dict(nopy)).save(str(tmp_path / "n.yml")),
         lambda: F_CD.CondaDependencies(_underlying_structure=dict(nopy)).save(str(tmp_path / "n.yml")))
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / ".azureml").mkdir()
    real, fake = both(lambda: real_cd.save_to_file(str(tmp_path / "proj")),
                      lambda: fake_cd.save_to_file(str(tmp_path / "proj")))
    assert fake.value == real.value == ".azureml/auto_conda_dependencies.yml"


# --------------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------------

def _env_attrs(env: Any) -> dict[str, Any]:
    python, docker = env.python, env.docker
    return {
        "name": env.name, "version": env.version, "inferencing_stack_version": env.inferencing_stack_version,
        "environment_variables": env.environment_variables, "asset_id": env.asset_id, "r": env.r,
        "interpreter_path": python.interpreter_path, "user_managed": python.user_managed_dependencies,
        "conda_file": python.conda_dependencies_file,
        "conda": python.conda_dependencies.as_dict() if python.conda_dependencies else None,
        "base_image": docker.base_image, "base_dockerfile": docker.base_dockerfile, "enabled": docker.enabled,
        "arguments": docker.arguments, "shm_size": docker.shm_size, "shared_volumes": docker.shared_volumes,
        "registry": (docker.base_image_registry.address, docker.base_image_registry.username,
                     docker.base_image_registry.password),
        "platform": (docker.platform.os, docker.platform.architecture), "str": str(env),
    }


def _real_dict(env: Any) -> Any:
    return plain(R_ENV.Environment._serialize_to_dict(env))


def _fake_dict(env: Any) -> Any:
    data = env._serialize_to_dict()
    data["docker"].pop("gpuSupport", None)
    return data


def _env_builders(tmp: Path) -> dict[str, tuple[Callable[[Any], Any], ...]]:
    conda = tmp / "env.yml"
    conda.write_text(CONDA_FILES["full"])
    nopy = tmp / "nopy.yml"
    nopy.write_text(CONDA_FILES["no_python"])
    bad = tmp / "bad.yml"
    bad.write_text(CONDA_FILES["bad_key"])
    reqs = tmp / "requirements.txt"
    reqs.write_text("numpy==1.26.4\n\n# comment\n--extra-index-url https://x\ntorch\n")
    dockerfile = tmp / "Dockerfile"
    dockerfile.write_text("FROM ubuntu:22.04\nRUN echo hi\n")

    def customized(E: Any) -> Any:
        env = E.Environment("custom")
        env.docker.base_image = "myregistry.azurecr.io/img:1"
        env.docker.base_image_registry.address = "myregistry.azurecr.io"
        env.docker.base_image_registry.username = "u"
        env.docker.base_image_registry.password = "p"
        env.docker.arguments = ["--ipc=host"]
        env.docker.shm_size = "8g"
        env.docker.enabled = True
        env.docker.shared_volumes = False
        env.environment_variables = {"A": "1"}
        env.inferencing_stack_version = "latest"
        env.python.user_managed_dependencies = True
        env.python.interpreter_path = "/usr/bin/python3"
        env.python.conda_dependencies_file = "deps.yml"
        env.version = "3"
        return env

    def dockerfile_then_image(E: Any) -> Any:
        env = E.Environment("swap")
        env.docker.base_dockerfile = "FROM scratch"
        env.docker.base_image = "ubuntu:22.04"
        env.docker.base_dockerfile = str(dockerfile)
        return env

    return {
        "default": (lambda E: E.Environment("myenv"),),
        "skip_defaults": (lambda E: E.Environment("bare", _skip_defaults=True),),
        "none_name": (lambda E: E.Environment(None),),
        "int_name": (lambda E: E.Environment(123),),
        "conda_spec": (lambda E: E.Environment.from_conda_specification("conda-env", str(conda)),),
        "conda_spec_no_python": (lambda E: E.Environment.from_conda_specification("nopy", str(nopy)),),
        "conda_spec_bad": (lambda E: E.Environment.from_conda_specification("bad", str(bad)),),
        "conda_spec_missing": (lambda E: E.Environment.from_conda_specification("x", str(tmp / "nope.yml")),),
        "pip_reqs": (lambda E: E.Environment.from_pip_requirements("pip-env", str(reqs)),),
        "pip_reqs_version": (lambda E: E.Environment.from_pip_requirements("pip-env", str(reqs), "23.1"),),
        "docker_image": (lambda E: E.Environment.from_docker_image("img", "nvcr.io/nvidia/pytorch:23.10-py3"),),
        "docker_image_registry": (lambda E: E.Environment.from_docker_image(
            "img", "reg.io/x:1", container_registry=_registry(E), conda_specification=str(conda)),),
        "docker_image_both_specs": (lambda E: E.Environment.from_docker_image(
            "img", "reg.io/x:1", conda_specification=str(conda), pip_requirements=str(reqs)),),
        "dockerfile_text": (lambda E: E.Environment.from_dockerfile("df", "FROM ubuntu\n"),),
        "dockerfile_path": (lambda E: E.Environment.from_dockerfile("df", str(dockerfile),
                                                                    pip_requirements=str(reqs)),),
        "customized": (customized,),
        "dockerfile_then_image": (dockerfile_then_image,),
    }


def _registry(E: Any) -> Any:
    module = R_REG if E is R_ENV else F_REG
    registry = module.ContainerRegistry()
    registry.address, registry.username, registry.password = "reg.io", "user", "secret"
    return registry


ENV_BUILDERS = ["conda_spec", "conda_spec_bad", "conda_spec_missing", "conda_spec_no_python", "customized",
                "default", "docker_image", "docker_image_both_specs", "docker_image_registry", "dockerfile_path",
                "dockerfile_text", "dockerfile_then_image", "int_name", "none_name", "pip_reqs", "pip_reqs_version",
                "skip_defaults"]


def test_env_builder_table_is_complete(tmp_path: Path) -> None:
    assert sorted(_env_builders(tmp_path)) == ENV_BUILDERS


@pytest.mark.parametrize("builder", ENV_BUILDERS)
def test_environment_construction(builder: str, tmp_path: Path) -> None:
    build = _env_builders(tmp_path)[builder][0]
    real, fake = both(lambda: build(R_ENV), lambda: build(F_ENV))
    if real.error is None:
        assert _env_attrs(fake.value) == _env_attrs(real.value)
        assert _fake_dict(fake.value) == _real_dict(real.value)
        assert repr(fake.value) == json.dumps(_real_dict(real.value), indent=4, sort_keys=True)


@pytest.mark.parametrize("builder", ENV_BUILDERS)
def test_environment_cross_deserialization(builder: str, tmp_path: Path) -> None:
    build = _env_builders(tmp_path)[builder][0]
    real, fake = both(lambda: build(R_ENV), lambda: build(F_ENV))
    if real.error is not None:
        return  # both raised the same error: nothing to serialize
    real_env, fake_env = real.value, fake.value
    from_real = F_ENV.Environment._deserialize_from_dict(_real_dict(real_env))
    assert _fake_dict(from_real) == _real_dict(real_env)
    from_fake = R_ENV.Environment._deserialize_and_add_to_object(_fake_dict(fake_env))
    assert _real_dict(from_fake) == _fake_dict(fake_env)
    # Our own round trip keeps everything, including the recorded gpu_support request.
    fake_env.docker.gpu_support = True
    again = F_ENV.Environment._deserialize_from_dict(fake_env._serialize_to_dict())
    assert again._serialize_to_dict() == fake_env._serialize_to_dict()
    assert again._to_build_spec() == fake_env._to_build_spec()


def test_environment_clone_and_lookup_errors() -> None:
    real_env, fake_env = R_ENV.Environment("a"), F_ENV.Environment("a")
    real_env.version, fake_env.version = "2", "2"
    real, fake = both(lambda: real_env.clone("b"), lambda: fake_env.clone("b"))
    assert _fake_dict(fake.value) == _real_dict(real.value)
    both(lambda: real_env.clone(""), lambda: fake_env.clone(""))
    both(lambda: R_ENV.Environment.get(None, "a", version="1", label="prod"),
         lambda: F_ENV.Environment.get(None, "a", version="1", label="prod"))


@pytest.mark.parametrize("action", [
    "gpu_support_set", "gpu_support_get", "base_image_then_dockerfile", "dockerfile_then_image", "clear_image",
    "env_vars", "conda_file", "deprecated_setters", "unknown_attribute", "build_context",
])
def test_environment_setters(action: str) -> None:
    def act(E: Any) -> Any:
        env = E.Environment("e")
        if action == "gpu_support_set":
            env.docker.gpu_support = True
            return env.docker.base_image
        if action == "gpu_support_get":
            return env.docker.gpu_support
        if action == "base_image_then_dockerfile":
            env.docker.base_dockerfile = "FROM a"
            return env.docker.base_image, env.docker.base_dockerfile
        if action == "dockerfile_then_image":
            env.docker.base_dockerfile = "FROM a"
            env.docker.base_image = "b:1"
            return env.docker.base_image, env.docker.base_dockerfile
        if action == "clear_image":
            env.docker.base_image = ""
            return env.docker.base_image
        if action == "env_vars":
            env.environment_variables = {"X": "1"}
            return env.environment_variables
        if action == "conda_file":
            env.python.conda_dependencies_file = ""
            return env.python.conda_dependencies_file
        if action == "deprecated_setters":
            env.docker.enabled = True
            env.docker.shared_volumes = False
            env.docker.arguments = ["-v"]
            env.docker.shm_size = "1g"
            return env.docker.enabled, env.docker.shared_volumes, env.docker.arguments, env.docker.shm_size
        if action == "unknown_attribute":
            env.docker.base_imag = "typo"
            return None
        env.docker.build_context = {"location": "x"}
        env.docker.base_dockerfile = "FROM y"
        return env.docker.build_context, env.docker.base_dockerfile, env.docker.base_image

    if action == "unknown_attribute":
        # Same class and text; only the class path inside the message differs.
        real_outcome, fake_outcome = observe(lambda: act(R_ENV), "azureml"), observe(lambda: act(F_ENV), "fake_azure")
        assert real_outcome.error is not None and fake_outcome.error is not None
        assert fake_outcome.error[0] == real_outcome.error[0] == "AttributeError"
        assert fake_outcome.error[1].replace("fake_azure.", "azureml.") == real_outcome.error[1]
        return
    real, fake = both(lambda: act(R_ENV), lambda: act(F_ENV))
    assert fake.value == real.value


def test_from_existing_conda_environment_is_a_clear_user_error() -> None:
    with pytest.raises(F_ENV.UserErrorException) as info:
        F_ENV.Environment.from_existing_conda_environment("e", "myenv")
    assert "from_conda_specification" in info.value.message


# --------------------------------------------------------------------------------------------------
# InferenceConfig
# --------------------------------------------------------------------------------------------------

def _ic_tree(tmp: Path) -> None:
    (tmp / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    (tmp / "bad.py").write_text("def init(:\n")
    (tmp / "my-score.py").write_text("x = 1\n")
    (tmp / "class.py").write_text("x = 1\n")
    (tmp / "score.txt").write_text("x = 1\n")
    (tmp / "dir.py").mkdir()
    (tmp / "myenv.yml").write_text(CONDA_FILES["full"])
    (tmp / "nopy.yml").write_text(CONDA_FILES["no_python"])
    (tmp / "steps.docker").write_text("RUN echo hi\n")
    src = tmp / "src"
    (src / "sub").mkdir(parents=True)
    (src / "score.py").write_text("def init():\n    pass\n\ndef run(d):\n    return d\n")
    (src / "sub" / "score2.py").write_text("def init():\n    pass\n\ndef run(d):\n    return d\n")
    (src / "env.yml").write_text(CONDA_FILES["full"])
    (tmp / "link").symlink_to(src, target_is_directory=True)


def _env_arg(kind: str, E: Any) -> Any:
    if kind == "plain":
        return E.Environment("deploy-env")
    if kind == "no_defaults":
        env = E.Environment("deploy-env")
        env.python.conda_dependencies = (R_CD if E is R_ENV else F_CD).CondaDependencies.create(
            pip_packages=["numpy"])
        return env
    if kind == "both_docker":
        env = E.Environment("deploy-env")
        env.docker._base_dockerfile = "FROM x"
        return env
    if kind == "dockerfile_only":
        env = E.Environment("deploy-env")
        env.docker.base_dockerfile = "FROM x"
        return env
    raise AssertionError(kind)


IC_CASES: list[dict[str, Any]] = [
    {"entry_script": "score.py"},
    {"entry_script": None},
    {"entry_script": ""},
    {"entry_script": "missing.py"},
    {"entry_script": "score.py", "runtime": "python", "conda_file": "myenv.yml"},
    {"entry_script": "score.py", "runtime": "python", "conda_file": "myenv.yml", "enable_gpu": True},
    {"entry_script": "score.py", "runtime": "PYTHON"},
    {"entry_script": "score.py", "runtime": "spark-py"},
    {"entry_script": "score.py", "runtime": "python-slim"},
    {"entry_script": "score.py", "runtime": "java"},
    {"entry_script": "score.py", "cuda_version": "10.0"},
    {"entry_script": "score.py", "cuda_version": "11.0"},
    {"entry_script": "score.py", "cuda_version": "9.1", "enable_gpu": True},
    {"entry_script": "score.py", "enable_gpu": False, "cuda_version": ""},
    {"entry_script": "score.py", "base_image": "custom:1"},
    {"entry_script": "score.py", "base_image_registry": "address"},
    {"entry_script": "score.py", "conda_file": "missing.yml"},
    {"entry_script": "score.py", "extra_docker_file_steps": "steps.docker"},
    {"entry_script": "score.py", "extra_docker_file_steps": "missing.docker"},
    {"entry_script": "score.py", "source_directory": "src"},
    {"entry_script": "score.py", "source_directory": "link"},
    {"entry_script": "sub/score2.py", "source_directory": "src", "conda_file": "env.yml", "runtime": "python"},
    {"entry_script": "score.py", "source_directory": "nope"},
    {"entry_script": "other.py", "source_directory": "src"},
    {"entry_script": "score.py", "source_directory": "src", "conda_file": "myenv.yml"},
    {"entry_script": "bad.py"},
    {"entry_script": "my-score.py"},
    {"entry_script": "class.py"},
    {"entry_script": "score.txt"},
    {"entry_script": "dir.py"},
    {"entry_script": "bad.py", "runtime": "java"},
    {"entry_script": "score.py", "environment": "plain"},
    {"entry_script": "score.py", "environment": "plain", "source_directory": "src"},
    {"entry_script": "score.py", "environment": "no_defaults"},
    {"entry_script": "score.py", "environment": "both_docker"},
    {"entry_script": "score.py", "environment": "dockerfile_only"},
    {"entry_script": "score.py", "environment": "plain", "runtime": "python"},
    {"entry_script": "score.py", "environment": "plain", "enable_gpu": True},
    {"entry_script": "score.py", "environment": "plain", "base_image": "x"},
    {"entry_script": None, "environment": "plain", "runtime": "python"},
    {"entry_script": "score.py", "description": "my service"},
]


def _ic_kwargs(case: dict[str, Any], E: Any) -> dict[str, Any]:
    kwargs = dict(case)
    if "environment" in kwargs:
        kwargs["environment"] = _env_arg(kwargs["environment"], E)
    if kwargs.get("base_image_registry") == "address":
        registry = (R_REG if E is R_ENV else F_REG).ContainerRegistry()
        registry.address = "myacr.azurecr.io"
        kwargs["base_image_registry"] = registry
    return kwargs


def _ic_attrs(ic: Any) -> dict[str, Any]:
    return {
        "entry_script": ic.entry_script, "runtime": ic.runtime, "conda_file": ic.conda_file,
        "extra_docker_file_steps": ic.extra_docker_file_steps, "source_directory": ic.source_directory,
        "enable_gpu": ic.enable_gpu, "cuda_version": ic.cuda_version, "description": ic.description,
        "base_image": ic.base_image, "registry": ic.base_image_registry.address,
        "environment": ic.environment.name if ic.environment else None,
        "repr": repr(ic).split(", base_image_registry=")[0],
    }


@pytest.mark.parametrize("case", IC_CASES, ids=[str(i) for i in range(len(IC_CASES))])
def test_inference_config(case: dict[str, Any], tmp_path: Path) -> None:
    _ic_tree(tmp_path)
    real, fake = both(lambda: R_MODEL.InferenceConfig(**_ic_kwargs(case, R_ENV)),
                      lambda: F_IC.InferenceConfig(**_ic_kwargs(case, F_ENV)))
    if real.error is None:
        assert _ic_attrs(fake.value) == _ic_attrs(real.value)


def test_inference_config_doc_example_warnings(tmp_path: Path) -> None:
    _ic_tree(tmp_path)
    real, _ = both(
        lambda: R_MODEL.InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml",
                                        enable_gpu=True),
        lambda: F_IC.InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml",
                                     enable_gpu=True))
    assert [category for category, _ in real.warnings] == ["DeprecationWarning"] * 3


CONVERT_CASES: list[dict[str, Any]] = [
    {"entry_script": "score.py", "runtime": "python", "conda_file": "myenv.yml", "enable_gpu": True},
    {"entry_script": "score.py", "runtime": "python", "conda_file": "myenv.yml"},
    {"entry_script": "score.py", "runtime": "python", "conda_file": "nopy.yml", "cuda_version": "10.0"},
    {"entry_script": "score.py", "runtime": "python", "cuda_version": "9.0"},
    {"entry_script": "score.py", "runtime": "python", "cuda_version": "9.1"},
    {"entry_script": "score.py", "runtime": "python", "base_image": "my/base:1", "base_image_registry": "address"},
    {"entry_script": "score.py", "runtime": "python", "base_image": "my/base:1", "enable_gpu": True},
    {"entry_script": "score.py", "runtime": "python", "extra_docker_file_steps": "steps.docker"},
    {"entry_script": "score.py", "runtime": "spark-py"},
    {"entry_script": "score.py"},
    {"entry_script": "score.py", "conda_file": "myenv.yml"},
    {"entry_script": "score.py", "environment": "plain"},
    {"entry_script": "sub/score2.py", "source_directory": "src", "conda_file": "env.yml", "runtime": "python",
     "description": "d"},
]


def _converted(env: Any) -> dict[str, Any] | None:
    if env is None:
        return None
    attrs = _env_attrs(env)
    attrs.pop("str")
    return attrs


@pytest.mark.parametrize("case", CONVERT_CASES, ids=[str(i) for i in range(len(CONVERT_CASES))])
def test_convert_parts_to_environment(case: dict[str, Any], tmp_path: Path) -> None:
    _ic_tree(tmp_path)
    real_ic = R_MODEL.InferenceConfig(**_ic_kwargs(case, R_ENV))
    fake_ic = F_IC.InferenceConfig(**_ic_kwargs(case, F_ENV))
    real, fake = both(lambda: R_UTIL.convert_parts_to_environment("my-svc", real_ic),
                      lambda: fake_ic._convert_parts("my-svc"))
    (real_new, real_use_env), (fake_new, fake_use_env) = real.value, fake.value
    assert fake_use_env == real_use_env
    assert (fake_new is fake_ic) == (real_new is real_ic)
    assert _ic_attrs(fake_new) == _ic_attrs(real_new)
    assert _converted(fake_new.environment) == _converted(real_new.environment)
    environment = fake_ic._to_environment("my-svc")
    assert _converted(environment) == _converted(real_new.environment)
    if environment is not None and (case.get("enable_gpu") or case.get("cuda_version") in ("9.0", "10.0")):
        assert environment._to_build_spec()["gpu"] is True
        assert environment.docker.base_image in (F_ENV.DEFAULT_GPU_IMAGE, F_IC.CUDA_9_BASE_IMAGE)


@pytest.mark.parametrize("entry_script,source_directory", [
    ("score.py", "src"), ("sub/score2.py", "src"), ("score.py", None), ("src/sub/score2.py", None),
    ("score.py", "link"),
])
def test_entry_script_environment_variables(entry_script: str, source_directory: str | None, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _ic_tree(tmp_path)
    monkeypatch.setattr(R_MODEL, "upload_dependency", lambda *a, **k: ("https://blob/x", "asset-id"))
    monkeypatch.setattr(R_MODEL, "wrap_execution_script_with_source_directory", lambda *a, **k: "/tmp/main.py")
    real_ic = R_MODEL.InferenceConfig(entry_script=entry_script, source_directory=source_directory,
                                      environment=R_ENV.Environment("e"))
    real_ic._handle_assets(None, {"assets": []})
    expected = {k: v for k, v in real_ic.environment.environment_variables.items() if k.startswith("AZUREML_")}
    fake_ic = F_IC.InferenceConfig(entry_script=entry_script, source_directory=source_directory,
                                   environment=F_ENV.Environment("e"))
    assert fake_ic._entry_script_env() == expected
    assert "AZUREML_ENTRY_SCRIPT" in expected


# --------------------------------------------------------------------------------------------------
# Our build spec (no SDK counterpart; checked against the SDK-derived environment attributes)
# --------------------------------------------------------------------------------------------------

def test_build_spec_of_conda_environment(tmp_path: Path) -> None:
    (tmp_path / "env.yml").write_text(CONDA_FILES["full"])
    env = F_ENV.Environment.from_conda_specification("e", str(tmp_path / "env.yml"))
    assert env._to_build_spec() == {
        "python_version": "3.9.12",
        "pip": ["azureml-defaults", "torch==2.1.0"],
        "conda": ["numpy", "pip"],
        "channels": ["conda-forge", "defaults"],
        "base_image": F_ENV.DEFAULT_CPU_IMAGE,
        "gpu": False,
        "environment_variables": {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"},
    }


def test_build_spec_gpu_detection() -> None:
    env = F_ENV.Environment("g")
    env.docker.base_image = F_ENV.DEFAULT_GPU_IMAGE
    assert env._to_build_spec()["gpu"] is True
    env = F_ENV.Environment.from_dockerfile("d", "FROM x")
    spec = env._to_build_spec()
    assert (spec["gpu"], spec["base_image"]) == (False, F_ENV.DEFAULT_CPU_IMAGE)
    env.docker.gpu_support = True
    assert env._to_build_spec()["base_image"] == F_ENV.DEFAULT_GPU_IMAGE


def test_environment_workspace_operations_delegate_to_registry() -> None:
    calls: list[tuple[Any, ...]] = []

    class Registry:
        def register(self, env: Any) -> Any:
            calls.append(("register", env.name))
            return env

        def get(self, name: str, version: str | None = None, label: str | None = None) -> Any:
            calls.append(("get", name, version, label))
            return F_ENV.Environment(name)

        def label(self, name: str, version: str, labels: list[str]) -> None:
            calls.append(("label", name, version, labels))

        def list(self) -> list[Any]:
            calls.append(("list",))
            return [F_ENV.Environment("a"), F_ENV.Environment("b")]

    workspace = types.SimpleNamespace(_environments=Registry())
    env = F_ENV.Environment("a")
    env.version = "7"
    # The version warning is logged before the workspace is used, in the SDK as in ours.
    real = observe(_register_real, "azureml")
    fake = observe(lambda: env.register(workspace), "fake_azure")
    assert fake.logs == real.logs and len(fake.logs) == 1
    assert fake.value is env
    assert F_ENV.Environment.get(workspace, "a", version="2").name == "a"
    F_ENV.Environment.get(workspace, "a", label="prod")
    F_ENV.Environment.label(workspace, "a", "2", ["prod"])
    assert sorted(F_ENV.Environment.list(workspace)) == ["a", "b"]
    assert calls == [("register", "a"), ("get", "a", "2", None), ("get", "a", None, "prod"),
                     ("label", "a", "2", ["prod"]), ("list",)]


def _register_real() -> Any:
    env = R_ENV.Environment("a")
    env.version = "7"
    try:
        return env.register(types.SimpleNamespace())  # fails at the service call, after the warning
    except AttributeError:
        return None
