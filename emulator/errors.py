"""The daemon's error root. Every failure a handler reports is an EmulatorError, rendered once in app.py
as Azure's error envelope ``{"error": {"code", "message", "details"?}}``."""
from __future__ import annotations

from typing import Any


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

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "statusCode": self.status_code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


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
