"""Mirror of ``azureml.exceptions``: the same classes, hierarchy, constructors and ``str()`` form.

User code catches these by class and reads ``.message`` (the SDK itself matches substrings of
``e.message``), so both have to be exact.
"""
from __future__ import annotations

import json
import logging
import sys
from typing import Any


class AzureMLException(Exception):
    """The base class for all Azure Machine Learning exceptions."""

    _error_code: str | None = None

    def __init__(
        self,
        exception_message: str,
        inner_exception: Any = None,
        target: str | None = None,
        details: Any = None,
        message_format: str | None = None,
        message_parameters: dict | None = None,
        reference_code: str | None = None,
        **kwargs: Any,
    ) -> None:
        Exception.__init__(self, exception_message)
        self._exception_message = exception_message
        self._inner_exception = inner_exception
        self._exc_info = sys.exc_info()
        self._target = target
        self._details = details
        self._message_format = message_format
        self._message_parameters = message_parameters
        self._reference_code = reference_code
        self._azureml_error = kwargs.pop("azureml_error", None)

    def __repr__(self) -> str:
        return "{}:\n\tMessage: {}\n\tInnerException {}\n\tErrorResponse \n{}".format(
            self.__class__.__name__, self.message, self.inner_exception, self._serialize_json(indent=4)
        )

    def __str__(self) -> str:
        # str() leaves out the deprecated format fields, as the SDK does.
        return "{}:\n\tMessage: {}\n\tInnerException {}\n\tErrorResponse \n{}".format(
            self.__class__.__name__, self.message, self.inner_exception,
            self._serialize_json(indent=4, filter_fields=("message_format", "message_parameters"))
        )

    @property
    def message(self) -> str:
        return self._exception_message

    @message.setter
    def message(self, value: str) -> None:
        self._exception_message = value

    @property
    def inner_exception(self) -> Any:
        return self._inner_exception

    @inner_exception.setter
    def inner_exception(self, value: Any) -> None:
        self._inner_exception = value

    def _serialize_json(self, indent: int | None = None, filter_fields: tuple[str, ...] = ()) -> str:
        # Same walk as the SDK: nested codes from the class hierarchy below AzureMLException.
        error_out: dict[str, Any] = {}
        for klass in self.__class__.mro():
            code = getattr(klass, "_error_code", None)
            if klass is AzureMLException or code is None:
                break
            if not error_out:
                error_out = {"code": code}
            elif error_out.get("code") != code:
                error_out = {"code": code, "inner_error": error_out}
        error_out["message"] = self._exception_message
        if self._target is not None:
            error_out["target"] = self._target
        if self._details is not None:
            error_out["details"] = self._details
        if self._message_format is not None:
            error_out["message_format"] = self._message_format
        if self._message_parameters is not None:
            error_out["message_parameters"] = json.dumps(self._message_parameters)
        if self._reference_code is not None:
            error_out["reference_code"] = self._reference_code
        for key in filter_fields or ():
            error_out.pop(key, None)
        return json.dumps({"error": error_out}, indent=indent)


class AzureMLAggregatedException(AzureMLException):
    def __init__(self, exceptions_list: list[str], **kwargs: Any) -> None:
        super().__init__("\n".join(exceptions_list), **kwargs)


class _LoggingMixin:
    @staticmethod
    def _log(logger: logging.Logger | None, text: str) -> None:
        if logger:
            try:
                logger.error(text)
            except Exception:  # the SDK swallows logger failures too
                pass


class TrainingException(AzureMLException):
    def __init__(self, exception_message: str, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)


class ExperimentExecutionException(AzureMLException):
    def __init__(self, exception_message: str, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)


class ProjectSystemException(AzureMLException):
    def __init__(self, exception_message: str, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)


class SnapshotException(AzureMLException):
    def __init__(self, exception_message: str, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)


class RunEnvironmentException(AzureMLException):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            "Could not load a submitted run, if outside of an execution context, use experiment.start_logging "
            "to initialize an azureml.core.Run.",
            **kwargs,
        )


class WorkspaceException(AzureMLException):
    def __init__(self, exception_message: str, found_multiple: bool = False, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)
        self.found_multiple = found_multiple


class WorkspacePrivateEndpointException(AzureMLException):
    def __init__(self, exception_message: str, found_multiple: bool = False, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)
        self.found_multiple = found_multiple


class ComputeTargetException(AzureMLException):
    def __init__(self, exception_message: str, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)


class UserErrorException(AzureMLException):
    _error_code = "UserError"

    def __init__(self, exception_message: str, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)


class AuthenticationException(UserErrorException):
    _error_code = "Authentication"

    def __init__(self, exception_message: str, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)


class RunConfigurationException(AzureMLException):
    def __init__(self, exception_message: str, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)


class WebserviceException(AzureMLException):
    def __init__(
        self, exception_message: str, status_code: Any = None, logger: logging.Logger | None = None, **kwargs: Any
    ) -> None:
        super().__init__(exception_message, **kwargs)
        self.status_code = status_code
        _LoggingMixin._log(logger, exception_message + "\n")


class ModelNotFoundException(AzureMLException):
    def __init__(self, exception_message: str, logger: logging.Logger | None = None, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)
        _LoggingMixin._log(logger, exception_message + "\n")


class ModelPathNotFoundException(AzureMLException):
    def __init__(self, exception_message: str, logger: logging.Logger | None = None, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)
        _LoggingMixin._log(logger, exception_message)


class DiscoveryUrlNotFoundException(AzureMLException):
    def __init__(self, discovery_key: str, **kwargs: Any) -> None:
        super().__init__("Could not load discovery key {}, from environment variables.".format(discovery_key), **kwargs)


class ActivityFailedException(AzureMLException):
    def __init__(self, error_details: Any, **kwargs: Any) -> None:
        super().__init__("Activity Failed:\n{}".format(error_details), **kwargs)


class DatasetTimestampMissingError(AzureMLException):
    def __init__(self, error_details: Any, **kwargs: Any) -> None:
        super().__init__("Activity Failed:\n{}".format(error_details), **kwargs)


class ParallelRunException(AzureMLException):
    def __init__(self, exception_message: str, code: str | None = None, delay_seconds: float = 0,
                 **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)
        self.code = code
        self.delay_seconds = delay_seconds


class ServiceException(AzureMLException):
    """Stands in for the SDK's REST-client ``ServiceException`` (raised for raw service errors)."""

    def __init__(self, exception_message: str = "", status_code: int | None = None, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)
        self.status_code = status_code


__all__ = [
    "ActivityFailedException",
    "AuthenticationException",
    "AzureMLException",
    "AzureMLAggregatedException",
    "ComputeTargetException",
    "DatasetTimestampMissingError",
    "DiscoveryUrlNotFoundException",
    "ExperimentExecutionException",
    "ModelNotFoundException",
    "ModelPathNotFoundException",
    "ParallelRunException",
    "ProjectSystemException",
    "RunConfigurationException",
    "RunEnvironmentException",
    "ServiceException",
    "SnapshotException",
    "TrainingException",
    "UserErrorException",
    "WebserviceException",
    "WorkspaceException",
    "WorkspacePrivateEndpointException",
]
