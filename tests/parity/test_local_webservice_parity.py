"""LocalWebservice compared with the real azureml-core 1.61 where no Docker is needed: signatures,
state constants, the ``_in_state`` guard texts and the NotImplementedError texts."""
from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable

import pytest

pytestmark = pytest.mark.parity

R_LOCAL = importlib.import_module("azureml.core.webservice.local")
assert R_LOCAL.__name__.startswith("azureml")

from fake_azure.core.webservice import local as F_LOCAL  # noqa: E402 - the real SDK loads first

METHODS = ["__init__", "delete", "deploy_configuration", "deploy_to_cloud", "deserialize", "get_keys", "get_logs",
           "get_token", "list", "regen_key", "reload", "run", "serialize", "update", "update_deployment_state",
           "wait_for_deployment", "_deploy"]


def _signature(obj: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(inspect.unwrap(obj)).parameters.values()]


@pytest.mark.parametrize("method", METHODS)
def test_method_signatures(method: str) -> None:
    real = inspect.getattr_static(R_LOCAL.LocalWebservice, method)
    fake = inspect.getattr_static(F_LOCAL.LocalWebservice, method)
    assert type(fake) is type(real)  # staticmethod / classmethod / function alike
    assert _signature(getattr(F_LOCAL.LocalWebservice, method)) == _signature(getattr(R_LOCAL.LocalWebservice,
                                                                                      method))


@pytest.mark.parametrize("prop", ["port", "scoring_uri", "swagger_uri"])
def test_properties(prop: str) -> None:
    assert isinstance(inspect.getattr_static(R_LOCAL.LocalWebservice, prop), property)
    assert isinstance(inspect.getattr_static(F_LOCAL.LocalWebservice, prop), property)


def test_constants() -> None:
    for name in ["STATE_DELETED", "STATE_DEPLOYING", "STATE_FAILED", "STATE_RUNNING", "STATE_UNKNOWN",
                 "_webservice_type"]:
        assert getattr(F_LOCAL.LocalWebservice, name) == getattr(R_LOCAL.LocalWebservice, name)


def _outcome(call: Callable[[], Any]) -> tuple[str, str]:
    try:
        call()
    except Exception as exc:  # the comparison is the point
        return type(exc).__name__, getattr(exc, "message", None) or str(exc)
    return "no error", ""


def _bare(module: Any, state: str | None) -> Any:
    service = module.LocalWebservice.__new__(module.LocalWebservice)
    service.state = state
    service.name = "local-svc"
    return service


GUARDED: list[tuple[str, tuple, list[str | None]]] = [
    # (method, args, states that the guard refuses)
    ("run", ("{}",), ["failed", "deleted", "unknown", None]),
    ("wait_for_deployment", (), ["failed", "deleted", "unknown", None]),
    ("delete", (), ["deleted", "unknown", None]),
    ("get_logs", (), ["deleted", "unknown", None]),
    ("reload", (), ["deleted", "unknown", None]),
    ("update", (), ["deleted", None]),
]


@pytest.mark.parametrize("method,args,state", [(m, a, s) for m, a, states in GUARDED for s in states])
def test_in_state_guards(method: str, args: tuple, state: str | None) -> None:
    real = _outcome(lambda: getattr(_bare(R_LOCAL, state), method)(*args))
    fake = _outcome(lambda: getattr(_bare(F_LOCAL, state), method)(*args))
    assert real == ("WebserviceException", f"Cannot call {method}() when service is {state}.")
    assert fake == real


@pytest.mark.parametrize("call", [
    lambda m: m.LocalWebservice.get_keys(None),
    lambda m: m.LocalWebservice.regen_key(None, "Primary"),
    lambda m: m.LocalWebservice.get_token(None),
    lambda m: m.LocalWebservice.deserialize(None, {}),
], ids=["get_keys", "regen_key", "get_token", "deserialize"])
def test_not_implemented_texts(call: Callable[[Any], Any]) -> None:
    real = _outcome(lambda: call(R_LOCAL))
    assert real[0] == "NotImplementedError"
    assert _outcome(lambda: call(F_LOCAL)) == real


def test_deploy_rejects_other_configs() -> None:
    """``LocalWebservice._deploy`` with a non-local deployment config: the SDK's text, before any Docker call."""
    from azureml.core.webservice import AciWebservice as RealAci

    from fake_azure.core.webservice import AciWebservice as FakeAci

    real = _outcome(lambda: R_LOCAL.LocalWebservice._deploy(None, "local-svc", [], None,
                                                             RealAci.deploy_configuration()))
    fake = _outcome(lambda: F_LOCAL.LocalWebservice._deploy(None, "local-svc", [], None,
                                                             FakeAci.deploy_configuration()))
    assert real[0] == "WebserviceException" and fake == real
