"""The facade's one HTTP client for the local cloud, and the one place HTTP errors become SDK exceptions."""
from __future__ import annotations

import sys
import threading
from typing import Any, Callable

import urllib3

from emulator.auth import TokenFileError, read_token

from ._transport import Response, Transport, TransportError
from .exceptions import (
    AzureMLException,
    ComputeTargetException,
    ModelNotFoundException,
    ProjectSystemException,
    UserErrorException,
    WebserviceException,
)
from .settings import Settings

# Which SDK exception a failed call raises depends on the API family, as in azureml-core: the
# compute client raises ComputeTargetException, the model-management client WebserviceException...
FAMILY_EXCEPTIONS: dict[str, type[AzureMLException]] = {
    "compute": ComputeTargetException,
    "model": WebserviceException,
    "webservice": WebserviceException,
    "webservice.create": WebserviceException,
    # Webservice._get_operation_state: MMS operations, worded as the Resource Provider's in the SDK.
    "webservice.operation": WebserviceException,
    "environment": UserErrorException,
    "workspace": ProjectSystemException,
    "admin": UserErrorException,
    # Datastores and datasets (their SDK clients raise UserErrorException for what users can cause).
    "datastore": UserErrorException,
    "dataset": UserErrorException,
}
# The SDK's wrapper for unexpected responses, per family.
FAMILY_BAD_RESPONSE = {
    "compute": "Received bad response from Resource Provider:\nResponse Code: {}\nHeaders: {}\nContent: {}",
    # ModelsClient.model_error_response_to_webservice_exception says "Correlation" (the request-id headers).
    "model": "Received bad response from Model Management Service:\nResponse Code: {}\nCorrelation: {}\nContent: {}",
    "webservice": "Received bad response from Model Management Service:\nResponse Code: {}\nHeaders: {}\nContent: {}",
    "webservice.create": "Received bad response from Model Management Service:\nResponse Code: {}\nHeaders: {}\n"
                         "Content: {}",
    "webservice.operation": "Received bad response from Resource Provider:\nResponse Code: {}\nHeaders: {}\n"
                            "Content: {}",
}
# Error codes whose message is already the SDK's own text, raised as this class whatever the family.
CODE_EXCEPTIONS: dict[str, type[AzureMLException]] = {
    "UserError": UserErrorException,
    "ComputeTargetNotFound": ComputeTargetException,
    "ModelNotFound": WebserviceException,
    "ModelNotFoundInCache": ModelNotFoundException,
    "WebserviceNotFound": WebserviceException,
    "ResourceNotFound": ProjectSystemException,
}
# Codes whose message is the SDK's own text. Not WebserviceNotFound: the SDK words a missing service
# itself on lookup (Webservice(ws, name)), and wraps the 404 of any other webservice call.
SDK_MESSAGE_CODES = (set(CODE_EXCEPTIONS) - {"WebserviceNotFound"}) | {"ModelValidation", "ComputeValidation",
                                                                        "WebserviceValidation"}
# Per family, error codes whose server message the SDK raises as is, as the family's exception without a
# status code: Model.deploy's pre-create validation calls (/services/validate...) raise the MMS message of a
# taken name or an unknown compute target as a plain WebserviceException. Other webservice calls (update,
# delete, get_logs...) wrap every error status, a 409 or 404 included, in the bad-response text.
FAMILY_MESSAGE_CODES: dict[str, set[str]] = {"webservice.create": {"Conflict", "ComputeTargetNotFound"}}
# Families whose SDK client raises WebserviceException without a status_code (ModelsClient never sets one).
FAMILIES_WITHOUT_STATUS_CODE = {"model"}
# The environment service's client (EnvironmentClient) is plain ``requests``: every failure is a bare
# ``Exception`` with this text around the status code and the raw response body, per operation.
PLAIN_EXCEPTION_FAMILIES: dict[str, str] = {
    "environment.get": "Error retrieving the environment definition. Code: {}\n: {}",
    "environment.get_label": "Error retrieving the environment definition {} with label {}. Code: {}\n: {}",
    "environment.register": "Error registering the environment definition. Code: {}\n: {}",
    "environment.label": "Error setting labels on the environment definition. Code: {}\n: {}",
    "environment.list": "Error listing environment definitions. Code: {}\n: {}",
}


def error_from_response(response: Response, family: str, *context: Any) -> Exception:
    """Map a non-2xx response of the local cloud to the exception azureml-core raises for it.

    ``context`` fills a family template's leading fields (e.g. name and label), before code and body.
    """
    if family in PLAIN_EXCEPTION_FAMILIES:
        return Exception(PLAIN_EXCEPTION_FAMILIES[family].format(*context, response.status_code, response.text))
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    code = error.get("code", "")
    message = error.get("message", "")
    exc_class = CODE_EXCEPTIONS.get(code) or FAMILY_EXCEPTIONS.get(family, AzureMLException)
    if code in FAMILY_MESSAGE_CODES.get(family, ()):
        return FAMILY_EXCEPTIONS[family](message)
    if code not in SDK_MESSAGE_CODES and family in FAMILY_BAD_RESPONSE:
        message = FAMILY_BAD_RESPONSE[family].format(response.status_code, response.headers, response.content)
    if exc_class is WebserviceException:
        status_code = None if family in FAMILIES_WITHOUT_STATUS_CODE else response.status_code
        return WebserviceException(message, status_code=status_code)
    return exc_class(message)


class CloudUnavailable(UserErrorException):
    """The local cloud could not be reached or started."""


class CloudClient:
    """Talks to the daemon of one FAKE_AZURE_HOME; reconnects (and restarts it) if it went away."""

    _instances: dict[str, "CloudClient"] = {}
    _instances_lock = threading.Lock()
    # Seconds to wait for the daemon's answer (a timeout is never retried: the daemon has the request).
    read_timeout = 60.0

    def __init__(self, settings: Settings, resolve: Callable[[Settings], dict[str, Any]]) -> None:
        self.settings = settings
        self._resolve = resolve
        self._transport: Transport | None = None
        self._connect()

    @classmethod
    def connect(cls, settings: Settings | None = None) -> "CloudClient":
        """The shared client for the home in ``settings`` (the environment's by default)."""
        settings = settings or Settings.from_env()
        key = str(settings.home)
        with cls._instances_lock:
            client = cls._instances.get(key)
            if client is None:
                client = cls(settings, _resolve_daemon)
                cls._instances[key] = client
            return client

    def _connect(self) -> None:
        info = self._resolve(self.settings)
        self.base_url = info["url"]
        if self._transport is not None:
            self._transport.close()
        # Loopback only and never through a proxy: the transport ignores proxy environment variables.
        self._token = self._read_token()  # read after _resolve: a starting daemon writes it
        self._transport = Transport(self.base_url, {"Authorization": "Bearer " + self._token},
                                    timeout=self.read_timeout)

    def _read_token(self) -> str:
        try:
            return read_token(self.settings.token_path)
        except TokenFileError as exc:
            raise CloudUnavailable(str(exc)) from None

    def request(self, method: str, path: str, family: str, *, ok: tuple[int, ...] = (200, 201, 202, 204),
                error_context: tuple[Any, ...] = (), **kwargs: Any) -> Response:
        """One call; a non-``ok`` status raises the family's SDK exception."""
        assert self._transport is not None
        try:
            response = self._transport.request(method, path, **kwargs)
        except TransportError as exc:
            if not _never_reached(exc, method):
                raise self._unavailable(method, path, exc) from exc
            # The daemon was restarted (new port) or stopped: find or start it once, then retry.
            self._connect()
            try:
                response = self._transport.request(method, path, **kwargs)
            except TransportError as again:
                raise self._unavailable(method, path, again) from again
        if response.status_code == 401 and self._read_token() != self._token:
            # The token file changed (a restarted daemon wrote a new one, or the daemon put its own back
            # into an emptied file): the daemon refused before doing anything, so sending again is safe.
            self._connect()
            try:
                response = self._transport.request(method, path, **kwargs)
            except TransportError as exc:
                raise self._unavailable(method, path, exc) from exc
        if response.status_code not in ok:
            raise error_from_response(response, family, *error_context)
        return response

    def _unavailable(self, method: str, path: str, exc: TransportError) -> CloudUnavailable:
        cause = exc.__cause__
        if isinstance(cause, urllib3.exceptions.MaxRetryError) and cause.reason is not None:
            cause = cause.reason
        if isinstance(cause, urllib3.exceptions.ConnectTimeoutError):
            what = "could not be reached"
        elif isinstance(cause, urllib3.exceptions.ReadTimeoutError):
            what = "did not answer in time; the request may still have been carried out"
        elif isinstance(cause, urllib3.exceptions.ProtocolError):
            what = "dropped the connection before answering; the request may have been carried out"
        else:
            what = "could not be used"
        return CloudUnavailable(f"The fake-azure daemon at {self.base_url} {what} ({method} {path}): {exc}")

    def json(self, method: str, path: str, family: str, **kwargs: Any) -> Any:
        response = self.request(method, path, family, **kwargs)
        return response.json() if response.content else None

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.json(method, path, "admin", **kwargs)


# Methods a repeat leaves as one call would (urllib3's Retry.DEFAULT_ALLOWED_METHODS, less TRACE).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def _never_reached(exc: TransportError, method: str) -> bool:
    """Whether a failed call certainly left the daemon untouched, so sending it again cannot do it twice.

    Only a failure to connect (refused, no route, connect timeout: urllib3's NewConnectionError and
    ConnectTimeoutError) proves the request was never sent. A connection dropped before any response
    (urllib3's ProtocolError: a reset, a close) is also what a stale keep-alive connection gives, but
    equally what a daemon that died mid-request gives, so it counts only for idempotent methods, as in
    urllib3's own Retry; a POST (a model register, a deploy) is never sent twice. A read timeout means the
    daemon has the request: never retried.
    """
    cause = exc.__cause__
    if isinstance(cause, urllib3.exceptions.MaxRetryError) and cause.reason is not None:
        cause = cause.reason
    if isinstance(cause, urllib3.exceptions.ConnectTimeoutError):  # NewConnectionError is one too
        return True
    return isinstance(cause, urllib3.exceptions.ProtocolError) and method.upper() in IDEMPOTENT_METHODS


def _resolve_daemon(settings: Settings) -> dict[str, Any]:
    from emulator import daemon

    info = daemon.serving_info(settings)
    if info:
        return info
    if not settings.autostart:
        raise CloudUnavailable(
            f"No fake-azure daemon is running for {settings.home} and FAKE_AZURE_AUTOSTART is off. "
            "Start one with: fake-azure up"
        )
    try:
        info, started = daemon.ensure_running(settings)
    except daemon.DaemonError as exc:
        raise CloudUnavailable(f"Could not start the fake-azure daemon: {exc.message}") from exc
    if started:
        print(f"fake-azure: started the local cloud at {info['url']} (home {settings.home})", file=sys.stderr)
    return info
