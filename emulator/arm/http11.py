"""A small threaded HTTP/1.1 WSGI server over TLS for the SDK v2 front end, with keep-alive.

Waitress (the control plane's server) has no TLS, and werkzeug's development server closes every
connection after one response and then waits 10 ms for stray body bytes, so each SDK call paid a new TCP
connection, a TLS handshake and the client's CA-bundle load (~30 ms here). This server keeps connections
open between requests (reading each request's body to its end first), hands the TLS handshake to the
connection's own thread (a client that connects and sends nothing stalls no one), closes a connection
idle for ``IDLE_TIMEOUT_S`` and serves at most ``MAX_CONNECTIONS`` at once (a thread each)."""
from __future__ import annotations

import json
import socket
import socketserver
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Iterable, cast
from urllib.parse import unquote_to_bytes

from ..error_catalog import AzureError

IDLE_TIMEOUT_S = 60.0
MAX_CONNECTIONS = 256  # local SDK clients hold a handful (azure-core pools 10 per host)
# A body the app left unread is read to its end to keep the connection; past this the connection closes.
MAX_DRAIN_BYTES = 1024 * 1024
RAW_HEADERS_KEY = "fake_azure.raw_headers"
_DROPPED = (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError, BrokenPipeError)


class _LengthReader:
    """``wsgi.input`` for a body of known length: reads never pass its end."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream, self.left = stream, length

    def read(self, size: int = -1) -> bytes:
        wanted = self.left if size is None or size < 0 else min(size, self.left)
        data = self._stream.read(wanted) if wanted else b""
        if len(data) < wanted:
            raise ConnectionError("the client closed the connection before the end of the body")
        self.left -= len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        wanted = self.left if size is None or size < 0 else min(size, self.left)
        data = self._stream.readline(wanted) if wanted else b""
        self.left -= len(data)
        return data

    def __iter__(self):
        return iter(self.readline, b"")

    def drain(self, limit: int) -> bool:
        """Read what the app left; False when more than ``limit`` bytes remain (then close instead)."""
        if self.left > limit:
            return False
        while self.left:
            self.read(min(self.left, 65536))
        return True


class _ChunkedReader(_LengthReader):
    """``wsgi.input`` for ``Transfer-Encoding: chunked``: the chunks' data, then end of input."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream, 0)
        self._done = False
        self._started = False

    def _next_chunk(self) -> None:
        if self._started:
            self._stream.readline(1024)  # the CRLF that ends the previous chunk's data
        self._started = True
        line = self._stream.readline(1024)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ConnectionError("malformed chunked body") from None
        if size == 0:
            while self._stream.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self._done = True
        self.left = size

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        unbounded = size is None or size < 0
        while unbounded or size > 0:
            if self.left == 0:
                if self._done:
                    break
                self._next_chunk()
                continue
            data = super().read(self.left if unbounded else min(size, self.left))
            parts.append(data)
            if not unbounded:
                size -= len(data)
        return b"".join(parts)

    def readline(self, size: int = -1) -> bytes:
        return self.read(size if size and size > 0 else 65536)

    def drain(self, limit: int) -> bool:
        total = 0
        while not self._done:
            total += len(self.read(65536))
            if total > limit:
                return False
        return True


class KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-azure"
    sys_version = ""
    server: TlsServer
    timeout = IDLE_TIMEOUT_S  # applied to the connection, TLS handshake included

    def log_message(self, format: str, *args: Any) -> None:  # one line per request would flood daemon.log
        pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _DROPPED:
            self.close_connection = True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # every method goes to the app, which answers 405 where it must
            return self._run_wsgi
        raise AttributeError(name)

    def _environ(self, body: _LengthReader) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        if "://" in path:  # an absolute request target: keep its path
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        host, port = cast("tuple[str, int]", self.server.server_address)[:2]  # a TCP server's (host, port)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command, "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "QUERY_STRING": query,
            "SERVER_NAME": str(host), "SERVER_PORT": str(port), "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0], "REMOTE_PORT": str(self.client_address[1]),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "https", "wsgi.input": body, "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
            # WSGI folds header names (HTTP_X_MS_META_UPLOAD_STATUS); blob metadata names keep their case
            # and underscores in Azure, so the storage app reads them as sent.
            RAW_HEADERS_KEY: list(self.headers.items()),
        }
        if isinstance(body, _ChunkedReader):
            environ["wsgi.input_terminated"] = True
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            elif "_" not in name:  # a header spelled with '_' would pass for one spelled with '-'
                key = "HTTP_" + key
                environ[key] = f"{environ[key]},{value}" if key in environ else value
            else:
                environ.setdefault("HTTP_" + key, value)
        return environ

    def _body(self) -> _LengthReader | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            if self.headers.get("Content-Length") is not None:
                return None  # both: refused (request smuggling hygiene, RFC 9112 6.3)
            return _ChunkedReader(self.rfile)
        raw = self.headers.get("Content-Length") or "0"
        if not raw.isdigit():
            return None
        return _LengthReader(self.rfile, int(raw))

    def _run_wsgi(self) -> None:
        body = self._body()
        if body is None:
            self._plain_error(400, "BadRequest", "Invalid Content-Length or Transfer-Encoding.")
            return
        environ = self._environ(body)
        state: dict[str, Any] = {"status": None, "headers": None, "sent": False, "chunked": False}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            if exc_info and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
            state["status"], state["headers"] = status, headers
            return write

        def send_headers() -> None:
            code, _, reason = state["status"].partition(" ")
            self.send_response_only(int(code), reason)
            names = {k.lower() for k, _ in state["headers"]}
            for key, value in state["headers"]:
                self.send_header(key, value)
            bodyless = self.command == "HEAD" or int(code) in (204, 304) or int(code) < 200
            if "content-length" not in names and not bodyless:
                state["chunked"] = True
                self.send_header("Transfer-Encoding", "chunked")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            state["sent"] = True

        def write(data: bytes) -> None:
            if not state["sent"]:
                send_headers()
            if data and self.command != "HEAD":
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if state["chunked"] else data)

        result: Iterable[bytes] = []
        try:
            result = self.server.app(environ, start_response)
            for data in result:
                write(data)
            if not state["sent"]:
                send_headers()
            if state["chunked"]:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except _DROPPED:
            self.close_connection = True
            return
        except Exception:  # the app failed: answer 500 if we still can, then close
            self.close_connection = True
            if not state["sent"]:
                self._plain_error(500, "InternalServerError", "The local cloud failed to answer this request.")
            return
        finally:
            if hasattr(result, "close"):
                result.close()
        try:
            if not body.drain(MAX_DRAIN_BYTES):
                self.close_connection = True
        except _DROPPED:
            self.close_connection = True

    def _plain_error(self, status: int, code: str, message: str) -> None:
        payload = json.dumps(AzureError(code, message, status).envelope()).encode()
        self.close_connection = True
        try:
            self.send_response_only(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except _DROPPED:
            pass


class TlsServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """The threaded TLS server: ``accept()`` only accepts; each connection's thread does its handshake."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, app: Callable, context: ssl.SSLContext, port: int = 0) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), KeepAliveHandler)
        self.app = app
        self.ssl_context = context
        self._slots = threading.Semaphore(MAX_CONNECTIONS)
        self._count_lock = threading.Lock()
        self.active_connections = 0

    @property
    def server_port(self) -> int:
        return int(self.server_address[1])

    def get_request(self) -> tuple[Any, Any]:
        connection, address = self.socket.accept()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK hold a response ~40 ms.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # full: closed unserved rather than one more thread
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

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a failed handshake or a dropped client: nothing for the daemon's log
