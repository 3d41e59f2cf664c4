"""Minimal stand-in for ``azureml.exceptions`` inside a replica without azureml-core.

Only the classes ``Model.get_model_path`` raises, with the SDK's constructors, ``.message`` and
``str()`` form, so user code that catches them by class or reads ``e.message`` behaves as in Azure.
Self-contained on purpose: a replica must not need ``fake_azure`` (or anything but the stdlib).
"""
from __future__ import annotations

import json
import logging
import sys
from typing import Any


class AzureMLException(Exception):
    """The base class for all Azure Machine Learning exceptions."""

    def __init__(self, exception_message: str, inner_exception: Any = None, target: Any = None,
                 details: Any = None, message_format: Any = None, message_parameters: Any = None,
                 reference_code: Any = None, **kwargs: Any) -> None:
        Exception.__init__(self, exception_message)
        self._exception_message = exception_message
        self._inner_exception = inner_exception
        self._exc_info = sys.exc_info()
        self._target = target
        self._details = details
        self._reference_code = reference_code

    def __str__(self) -> str:
        return "{}:\n\tMessage: {}\n\tInnerException {}\n\tErrorResponse \n{}".format(
            self.__class__.__name__, self.message, self.inner_exception, self._serialize_json(indent=4))

    __repr__ = __str__

    @property
    def message(self) -> str:
        return self._exception_message

    @message.setter
    def message(self, value: str) -> None:
        self._exception_message = value

    @property
    def inner_exception(self) -> Any:
        return self._inner_exception

    def _serialize_json(self, indent: int | None = None) -> str:
        error: dict[str, Any] = {"message": self._exception_message}
        for key, value in (("target", self._target), ("details", self._details),
                           ("reference_code", self._reference_code)):
            if value is not None:
                error[key] = value
        return json.dumps({"error": error}, indent=indent)


def _log(logger: logging.Logger | None, text: str) -> None:
    # The SDK logs these messages when given a logger and swallows logging failures.
    if logger:
        try:
            logger.error(text)
        except Exception:
            pass


class WebserviceException(AzureMLException):
    def __init__(self, exception_message: str, status_code: Any = None,
                 logger: logging.Logger | None = None, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)
        self.status_code = status_code
        _log(logger, exception_message + "\n")


class ModelNotFoundException(AzureMLException):
    def __init__(self, exception_message: str, logger: logging.Logger | None = None, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)
        _log(logger, exception_message + "\n")


class UserErrorException(AzureMLException):
    def __init__(self, exception_message: str, **kwargs: Any) -> None:
        super().__init__(exception_message, **kwargs)


__all__ = ["AzureMLException", "WebserviceException", "ModelNotFoundException", "UserErrorException"]
