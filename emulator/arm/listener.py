"""The HTTPS listener of the SDK v2 front end, beside the control plane's plain HTTP one.

One TLS port (certificate from the home's authority, emulator/tls_authority.py) serves, by host name:
``{account}.blob.core.localhost`` -> the storage account (emulator/arm/storage_api.py); any other host ->
an online endpoint's ``.../score`` path to the scoring front (emulator/arm/scoring_api.py), the rest to the
ARM app (emulator/arm/app.py). A path that starts with ``/strict/`` is the same ARM app for a client
that asked for strict workspaces (its cloud's resourceManager ends in ``/strict/``): the prefix moves to
SCRIPT_NAME, so the app's routes and the metadata document's URLs both keep working.

emulator/arm/http11.py serves it (threaded, TLS, keep-alive, bounded connections); the control plane keeps
waitress and its slow-client guard."""
from __future__ import annotations

import ssl
import threading
from typing import Any, Callable, Iterable

from ..cloud import Cloud
from ..tls_authority import server_credentials
from .api import STRICT_ENVIRON_KEY
from .http11 import TlsServer
from .scoring_api import is_scoring_path
from .storage import BLOB_HOST_SUFFIX

STRICT_PREFIX = "/strict"
HOSTS = ["127.0.0.1", "localhost", "::1", "*" + BLOB_HOST_SUFFIX]


def host_dispatch(arm_app: Callable, storage_app: Callable, scoring_app: Callable | None = None) -> Callable:
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
            environ["PATH_INFO"] = path = path[len(STRICT_PREFIX):] or "/"
        if scoring_app is not None and is_scoring_path(path):
            return scoring_app(environ, start_response)
        return arm_app(environ, start_response)

    return dispatch


LISTENER_NAME = "arm"


class ArmListener:
    """The HTTPS server thread; :meth:`start` binds it and returns the port: the port it had before a restart
    (kept in the ``listeners`` table) when that is free, else any free port."""

    def __init__(self, cloud: Cloud) -> None:
        from .app import create_arm_app
        from .scoring_api import create_scoring_app
        from .storage_api import create_storage_app

        self._app = host_dispatch(create_arm_app(cloud), create_storage_app(cloud), create_scoring_app(cloud))
        self._settings = cloud.settings
        self._store = cloud.store
        self._server: TlsServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        credentials = server_credentials(self._settings.home, HOSTS)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(credentials.certificate, credentials.key)
        # The same port as before a restart: the endpoints' scoring URIs and the cloud a running client
        # discovered (its ARM base URL) keep working.
        row = self._store.read().execute("SELECT port FROM listeners WHERE name = ?", (LISTENER_NAME,)).fetchone()
        try:
            self._server = TlsServer(self._settings.host, self._app, context, row["port"] if row else 0)
        except OSError:  # taken meanwhile: another port; clients discover the new one
            self._server = TlsServer(self._settings.host, self._app, context)
        with self._store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO listeners (name, port) VALUES (?, ?)",
                         (LISTENER_NAME, self._server.server_port))
        self._thread = threading.Thread(target=self._server.serve_forever, name="arm-listener", daemon=True)
        self._thread.start()
        return self._server.server_port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
