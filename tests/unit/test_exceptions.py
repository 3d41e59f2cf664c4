"""fake_azure.exceptions against the real azureml.exceptions: same classes, hierarchy, str(), .message, extras."""
from __future__ import annotations

import inspect
import json
import logging

import azureml.exceptions as real
import pytest

import fake_azure.exceptions as fake

# Classes constructed as Class(message, **kw).
MESSAGE_CLASSES = [
    "AzureMLException", "TrainingException", "ExperimentExecutionException", "ProjectSystemException",
    "SnapshotException", "WorkspaceException", "WorkspacePrivateEndpointException", "ComputeTargetException",
    "UserErrorException", "AuthenticationException", "RunConfigurationException", "WebserviceException",
    "ModelNotFoundException", "ModelPathNotFoundException", "ParallelRunException",
]
MESSAGES = ["boom", "ComputeTargetNotFound: Compute Target with name x not found in provided workspace",
            "multi\nline\twith \"quotes\" and ünïcödé", ""]


def _pair(name: str):
    return getattr(real, name), getattr(fake, name)


def test_public_names_match_the_sdk() -> None:
    assert sorted(fake.__all__) == sorted(real.__all__)
    for name in real.__all__:
        assert hasattr(fake, name), name


@pytest.mark.parametrize("name", MESSAGE_CLASSES + ["ActivityFailedException", "DatasetTimestampMissingError",
                                                    "DiscoveryUrlNotFoundException", "RunEnvironmentException",
                                                    "AzureMLAggregatedException"])
def test_hierarchy_matches_by_name(name: str) -> None:
    real_cls, fake_cls = _pair(name)
    real_bases = [c.__name__ for c in real_cls.__mro__ if c.__name__ in real.__all__ or c is real_cls]
    fake_bases = [c.__name__ for c in fake_cls.__mro__ if c.__name__ in fake.__all__ or c is fake_cls]
    assert fake_bases == real_bases
    assert issubclass(fake_cls, Exception)
    assert issubclass(fake_cls, fake.AzureMLException)


def test_model_not_found_is_not_a_webservice_exception() -> None:
    assert not issubclass(fake.ModelNotFoundException, fake.WebserviceException)
    assert issubclass(fake.AuthenticationException, fake.UserErrorException)


@pytest.mark.parametrize("name", MESSAGE_CLASSES + ["ActivityFailedException", "DatasetTimestampMissingError",
                                                    "DiscoveryUrlNotFoundException", "RunEnvironmentException"])
def test_constructor_signatures_match(name: str) -> None:
    real_cls, fake_cls = _pair(name)
    real_params = [(p.name, p.kind, p.default) for p in inspect.signature(real_cls.__init__).parameters.values()]
    fake_params = [(p.name, p.kind, p.default) for p in inspect.signature(fake_cls.__init__).parameters.values()]
    assert fake_params == real_params


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("name", MESSAGE_CLASSES)
def test_str_repr_and_message_match(name: str, message: str) -> None:
    real_cls, fake_cls = _pair(name)
    r, f = real_cls(message), fake_cls(message)
    assert str(f) == str(r)
    assert repr(f) == repr(r)
    assert f.message == r.message == message
    assert f.args == r.args
    assert f.inner_exception is None


def test_str_format_is_the_documented_one() -> None:
    exc = fake.ComputeTargetException("x")
    assert str(exc) == ('ComputeTargetException:\n\tMessage: x\n\tInnerException None\n\tErrorResponse \n'
                        '{\n    "error": {\n        "message": "x"\n    }\n}')


def test_user_error_has_its_code() -> None:
    f, r = fake.UserErrorException("bad"), real.UserErrorException("bad")
    assert str(f) == str(r)
    assert json.loads(str(f).split("ErrorResponse \n", 1)[1]) == {"error": {"code": "UserError", "message": "bad"}}


def test_authentication_exception_nests_codes_like_the_sdk() -> None:
    f, r = fake.AuthenticationException("no login"), real.AuthenticationException("no login")
    assert str(f) == str(r)
    body = json.loads(str(f).split("ErrorResponse \n", 1)[1])
    assert body == {"error": {"code": "UserError", "inner_error": {"code": "Authentication"}, "message": "no login"}}


def test_inner_exception_target_details_and_reference_code_in_str() -> None:
    kwargs = dict(inner_exception=ValueError("inner"), target="compute", details=[{"code": "X"}],
                  reference_code="ref-1")
    for name in ("ComputeTargetException", "UserErrorException", "AuthenticationException"):
        real_cls, fake_cls = _pair(name)
        with pytest.warns(DeprecationWarning, match="reference_code"):
            r = real_cls("msg", **kwargs)
        f = fake_cls("msg", **kwargs)
        assert str(f) == str(r), name
        assert f.inner_exception is kwargs["inner_exception"]


def test_message_and_inner_exception_are_settable() -> None:
    for cls in (fake.ComputeTargetException, real.ComputeTargetException):
        exc = cls("old")
        exc.message = "new"
        exc.inner_exception = KeyError("k")
        assert exc.message == "new"
        assert "Message: new" in str(exc)
        assert isinstance(exc.inner_exception, KeyError)
    assert str(fake.ComputeTargetException("a")) == str(real.ComputeTargetException("a"))


@pytest.mark.parametrize("status", [None, 400, 404, 409])
def test_webservice_exception_status_code(status) -> None:
    f = fake.WebserviceException("Received bad response", status_code=status)
    r = real.WebserviceException("Received bad response", status_code=status)
    assert f.status_code == r.status_code == status
    assert str(f) == str(r)


def test_webservice_exception_positional_status_code() -> None:
    assert fake.WebserviceException("m", 503).status_code == real.WebserviceException("m", 503).status_code == 503


@pytest.mark.parametrize("name, suffix", [("WebserviceException", "\n"), ("ModelNotFoundException", "\n"),
                                          ("ModelPathNotFoundException", "")])
def test_logger_receives_the_message_as_the_sdk_logs_it(name: str, suffix: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test-fake-azure-exceptions")
    for cls in _pair(name):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger=logger.name):
            cls("it failed", logger=logger)
        assert [r.getMessage() for r in caplog.records] == ["it failed" + suffix], cls


def test_a_logger_that_raises_is_swallowed() -> None:
    class Broken:
        def error(self, text):
            raise RuntimeError("logger down")

    for cls in (fake.WebserviceException, real.WebserviceException):
        assert cls("m", logger=Broken()).message == "m"


def test_workspace_exception_found_multiple() -> None:
    for name in ("WorkspaceException", "WorkspacePrivateEndpointException"):
        real_cls, fake_cls = _pair(name)
        assert fake_cls("m").found_multiple is real_cls("m").found_multiple is False
        assert fake_cls("m", found_multiple=True).found_multiple is True


def test_parallel_run_exception_extras() -> None:
    f = fake.ParallelRunException("m", code="Retry.Sleep", delay_seconds=3)
    r = real.ParallelRunException("m", code="Retry.Sleep", delay_seconds=3)
    assert (f.code, f.delay_seconds) == (r.code, r.delay_seconds) == ("Retry.Sleep", 3)
    assert str(f) == str(r)


@pytest.mark.parametrize("name, arg", [("ActivityFailedException", "step 3 failed"),
                                       ("DatasetTimestampMissingError", "no timestamp")])
def test_formatted_message_classes(name: str, arg: str) -> None:
    real_cls, fake_cls = _pair(name)
    assert fake_cls(arg).message == real_cls(arg).message
    assert str(fake_cls(arg)) == str(real_cls(arg))


def test_run_environment_exception_fixed_message() -> None:
    assert fake.RunEnvironmentException().message == real.RunEnvironmentException().message
    assert str(fake.RunEnvironmentException()) == str(real.RunEnvironmentException())


def test_discovery_url_not_found_message() -> None:
    assert (fake.DiscoveryUrlNotFoundException("history").message
            == real.DiscoveryUrlNotFoundException("history").message
            == "Could not load discovery key history, from environment variables.")
    assert str(fake.DiscoveryUrlNotFoundException("h")) == str(real.DiscoveryUrlNotFoundException("h"))


def test_aggregated_exception_joins_messages() -> None:
    f = fake.AzureMLAggregatedException(["one", "two"])
    r = real.AzureMLAggregatedException(["one", "two"])
    assert f.message == r.message == "one\ntwo"
    assert str(f) == str(r)


def test_repr_with_message_format_matches() -> None:
    kwargs = dict(message_format="bad {x}", message_parameters={"x": 1})
    with pytest.warns(Warning):  # the SDK warns these are deprecated
        r = real.ComputeTargetException("bad 1", **kwargs)
    f = fake.ComputeTargetException("bad 1", **kwargs)
    assert repr(f) == repr(r)
    assert '"message_format": "bad {x}"' in repr(f) and "message_format" not in str(f)


def test_str_with_message_format_matches() -> None:
    kwargs = dict(message_format="bad {x}", message_parameters={"x": 1})
    with pytest.warns(Warning):
        r = real.ComputeTargetException("bad 1", **kwargs)
    assert str(fake.ComputeTargetException("bad 1", **kwargs)) == str(r)


def test_exceptions_are_raisable_and_catchable_by_base() -> None:
    with pytest.raises(fake.AzureMLException) as info:
        raise fake.ComputeTargetException("x")
    assert info.value.message == "x"
    with pytest.raises(fake.UserErrorException):
        raise fake.AuthenticationException("y")


def test_compute_target_module_reexports_the_same_objects() -> None:
    import fake_azure.core.compute_target as ct

    assert ct.ComputeTargetException is fake.ComputeTargetException
    assert ct.UserErrorException is fake.UserErrorException
