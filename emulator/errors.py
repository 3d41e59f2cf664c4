"""The daemon's error root. Every failure a handler reports is an EmulatorError, rendered once in app.py
as Azure's error envelope ``{"error": {"code", "message", "details"?}}``."""
from __future__ import annotations

from typing import Any

from .error_catalog import AzureError


class EmulatorError(Exception):
    code = "InternalError"
    status_code = 500

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details

    @classmethod
    def of(cls, error: AzureError) -> "EmulatorError":
        """A catalog error (emulator/error_catalog.py) raised as this HTTP error."""
        return cls(error.message, code=error.code, status_code=error.status_code,
                   details=[dict(detail) for detail in error.details] or None)

    def to_body(self) -> dict[str, Any]:
        return AzureError(self.code, self.message, self.status_code, tuple(self.details or ())).envelope()


class BadRequest(EmulatorError):
    code = "BadRequest"
    status_code = 400


class ValidationFailed(EmulatorError):
    """Input the SDK would reject client-side; the message is the SDK's own text."""

    code = "UserError"
    status_code = 400


class Unauthorized(EmulatorError):
    code = "Unauthorized"
    status_code = 401


class NotFound(EmulatorError):
    code = "NotFound"
    status_code = 404


class Conflict(EmulatorError):
    code = "Conflict"
    status_code = 409


class PreconditionFailed(EmulatorError):
    code = "PreconditionFailed"
    status_code = 412


class PayloadTooLarge(EmulatorError):
    code = "PayloadTooLarge"
    status_code = 413


class InvalidTransition(EmulatorError):
    code = "InvalidStateTransition"
    status_code = 409
