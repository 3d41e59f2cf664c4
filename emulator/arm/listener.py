"""The HTTPS listener of the SDK v2 front end, beside the control plane's plain HTTP one.

One TLS port (certificate from the home's authority, emulator/tls_authority.py) serves, by host name:
``{account}.blob.core.localhost`` -> the storage account (emulator/arm/storage_api.py); any other host ->
the ARM app (emulator/arm/app.py). A path that starts with ``/strict/`` is the same ARM app for a client
that asked for strict workspaces (its cloud's resourceManager ends in ``/strict/``): the prefix moves to
SCRIPT_NAME, so the app's routes and the metadata document's URLs both keep working.

Werkzeug's threaded server does the TLS: local clients only, few connections; the control plane keeps
waitress and its slow-client guard."""
from __future__ import annotations

import ssl
import threading
from typing import Any, Callable, Iterable

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from ..cloud import Cloud
from ..tls_authority import server_credentials
from .api import STRICT_ENVIRON_KEY
from .storage import BLOB_HOST_SUFFIX

STRICT_PREFIX = "/strict"
HOSTS = ["127.0.0.1", "localhost", "::1", "*" + BLOB_HOST_SUFFIX]


RAW_HEADERS_KEY = "fake_azure.raw_headers"
# A connection's TLS handshake and each request must make progress within this; an idle keep-alive
# connection is closed after it (its thread freed).
IDLE_TIMEOUT_S = 60.0
# Connections served at once (a thread each); past it a new connection is closed at once. Local SDK clients
# hold a handful (azure-core pools 10 per host).
MAX_CONNECTIONS = 256


class _QuietHandler(WSGIRequestHandler):
    timeout = IDLE_TIMEOUT_S  # StreamRequestHandler applies it to the connection, handshake included

    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per request would flood daemon.log
        pass

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        # WSGI folds header names (HTTP_X_MS_META_UPLOAD_STATUS): blob metadata names keep their case and
        # underscores in Azure, so the storage app reads them as sent.
        environ[RAW_HEADERS_KEY] = list(self.headers.items())
        return environ


class _TlsServer(ThreadedWSGIServer):
    """Werkzeug's threaded server, with the TLS handshake in each connection's own thread.

    Werkzeug wraps the listening socket, so ``accept()`` runs the handshake on the one accepting thread: a
    client that connects and sends nothing stalled every later connection. Here ``accept()`` only
    accepts; the handshake happens on the connection's first read, in its handler thread, under the
    handler's timeout. At most MAX_CONNECTIONS are served at once (a thread each); past that a new
    connection is closed unserved, so clients that hold connections cost the daemon bounded threads."""

    def __init__(self, host: str, app: Callable, context: ssl.SSLContext) -> None:
        super().__init__(host, 0, app, handler=_QuietHandler)
        self.ssl_context = context  # read by werkzeug for the request's url scheme (https)
        self._slots = threading.Semaphore(MAX_CONNECTIONS)
        self._count_lock = threading.Lock()
        self.active_connections = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        with self._count_lock:
            self.active_connections += 1
        try:
            super().process_request(request, client_address)  # starts the connection's thread
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._count_lock:
            self.active_connections -= 1
        self._slots.release()

    def get_request(self) -> tuple[Any, Any]:
        connection, address = self.socket.accept()
        assert self.ssl_context is not None
        return self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address


def host_dispatch(arm_app: Callable, storage_app: Callable) -> Callable:
    def dispatch(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        host = (environ.get("HTTP_HOST") or "").lower()
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if hostname.endswith(BLOB_HOST_SUFFIX):
            environ["fake_azure.storage_account"] = hostname[:-len(BLOB_HOST_SUFFIX)]
            return storage_app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        if path == STRICT_PREFIX or path.startswith(STRICT_PREFIX + "/"):
            environ[STRICT_ENVIRON_KEY] = True
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + STRICT_PREFIX
            environ["PATH_INFO"] = path[len(STRICT_PREFIX):] or "/"
        return arm_app(environ, start_response)

    return dispatch


class ArmListener:
    """The HTTPS server thread; :meth:`start` binds it (port 0: any free port) and returns the port."""

    def __init__(self, cloud: Cloud) -> None:
        from .app import create_arm_app
        from .storage_api import create_storage_app

        self._app = host_dispatch(create_arm_app(cloud), create_storage_app(cloud))
        self._settings = cloud.settings
        self._server: _TlsServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        credentials = server_credentials(self._settings.home, HOSTS)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(credentials.certificate, credentials.key)
        self._server = _TlsServer(self._settings.host, self._app, context)
        self._thread = threading.Thread(target=self._server.serve_forever, name="arm-listener", daemon=True)
        self._thread.start()
        return self._server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
