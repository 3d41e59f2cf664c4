"""One catalog of Azure error payloads (emulator/error_catalog.py): operation errors and HTTP bodies are
built from it, no other module writes one out, and internal exceptions are not HTTP errors."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from emulator import error_catalog
from emulator.errors import Conflict, EmulatorError, NotFound

ROOT = Path(__file__).resolve().parents[2]


def _payload_literals(path: Path) -> list[int]:
    """Lines of dict literals shaped like an Azure error: a "code" key beside "message" or "statusCode"
    (a JSON schema of one, whose "code" maps to a dict, is not a payload)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Dict):
            keyed = {k.value: v for k, v in zip(node.keys, node.values)
                     if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            if "code" in keyed and not isinstance(keyed["code"], ast.Dict) and keyed.keys() & {"message", "statusCode"}:
                lines.append(node.lineno)
    return lines


def test_no_module_but_the_catalog_writes_out_an_azure_error_payload() -> None:
    found = {}
    for path in sorted((ROOT / "emulator").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative == "emulator/error_catalog.py":
            continue
        if lines := _payload_literals(path):
            found[relative] = lines
    assert found == {}


def test_the_scan_sees_a_payload_literal(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('ERROR = {"code": "X", "statusCode": 400, "message": "m"}\nOTHER = {"code": 1}\n'
                      'SCHEMA = {"code": {"type": "string"}, "message": {"type": "string"}}\n')
    assert _payload_literals(sample) == [1]


def test_an_http_error_from_the_catalog_renders_its_payload_exactly() -> None:
    error = error_catalog.service_exists("svc", "ws1")
    raised = Conflict.of(error)
    assert (raised.status_code, raised.code) == (409, "Conflict")
    assert raised.to_body() == error.envelope() == {"error": error.payload()}
    assert raised.to_body()["error"]["details"] == [
        {"code": "ServiceExists", "message": "A service named svc already exists in workspace ws1."}]


def test_payload_keys_come_in_azures_order_and_optional_parts_stay_out() -> None:
    assert list(error_catalog.replica_start_failed("r1", "boom").payload()) == ["code", "statusCode", "message"]
    assert error_catalog.operation_cancelled("replaced").payload() == {"code": "OperationCancelled",
                                                                       "message": "replaced"}
    assert list(error_catalog.unschedulable("0/3 nodes").payload()) == ["code", "statusCode", "message", "details"]
    assert NotFound("gone").to_body() == {"error": {"code": "NotFound", "statusCode": 404, "message": "gone"}}


def test_the_deploy_engines_operation_errors_are_the_catalogs() -> None:
    from emulator.deploy import failures

    assert failures.ABANDONED_ERROR == error_catalog.deployment_cancelled().payload()
    port_in_use = error_catalog.port_in_use(8890, "bound").payload()
    assert failures.local_port_in_use_error(8890, OSError("bound")) == port_in_use
    start_failed = error_catalog.replica_start_failed("r1", "boom").payload()
    assert failures.replica_start_failed_error("r1", "boom") == start_failed


def test_operation_errors_of_the_resource_modules_are_the_catalogs() -> None:
    from emulator.resources.services import service as services
    from emulator.scheduler import Unschedulable

    assert services.crash_loop_error("svc") == error_catalog.crash_loop_back_off("svc").payload()
    assert "fake-azure/svc" in services.crash_loop_error("svc")["details"][0]["message"]
    assert services.unschedulable_error(Unschedulable("0/3 nodes are available", 1)) == \
        error_catalog.unschedulable("0/3 nodes are available").payload()


def test_every_catalog_payload_is_json_and_has_a_code_and_a_message() -> None:
    errors = [error_catalog.deployment_cancelled(), error_catalog.container_crashed(),
              error_catalog.deployment_timed_out(), error_catalog.port_in_use(8890, "bound"),
              error_catalog.environment_build_failed("pip"), error_catalog.gpu_unavailable(),
              error_catalog.deployment_internal_error("svc", ValueError("bug")), error_catalog.provisioning_fault(),
              error_catalog.vm_size_not_supported("Standard_X", "sub", "eastus", "Standard_NC6"),
              error_catalog.fast_prod_too_small(12, 1, "Standard_D3_v2", 4),
              error_catalog.http_refusal(431, "too long", "BadRequest"),
              error_catalog.operation_in_progress("svc", "update", "op1")]
    for error in errors:
        payload = json.loads(json.dumps(error.payload()))
        assert payload["code"] and payload["message"] and payload["statusCode"] >= 400, payload
    assert error_catalog.http_refusal(431, "x", "BadRequest").code == "RequestHeaderFieldsTooLarge"
    assert error_catalog.http_refusal(418, "x", "HttpError").code == "HttpError"


@pytest.mark.parametrize("internal", [
    "emulator.daemon:DaemonError", "emulator.environments:EnvironmentBuildError", "emulator.environments:SpecError",
    "emulator.environments:BuildFailed", "emulator.store:StoreVersionError", "emulator.scheduler:Unschedulable",
    "emulator.progress:ProgressPolicyError", "emulator.runtimes.base:RuntimeErrorBase",
])
def test_internal_exceptions_are_not_http_errors(internal: str) -> None:
    import importlib

    module, name = internal.split(":")
    cls = getattr(importlib.import_module(module), name)
    assert not issubclass(cls, EmulatorError)


def test_internal_exceptions_keep_their_message() -> None:
    from emulator.daemon import DaemonError
    from emulator.environments import SpecError

    assert DaemonError("could not start").message == "could not start"
    assert SpecError("python=2.7: no").message == "python=2.7: no"
