"""The listening side: a ThreadingHTTPServer (one thread per client connection, keep-alive) feeding the chain.

Measured faster than waitress here (no hand-off between an I/O loop thread and a worker pool): see
bench/gateway.py. A thread per connection means a client that trickles its headers holds a thread, so
request headers must arrive within HEADER_TIMEOUT_S of their first byte, and past MAX_CONNECTIONS (or
MAX_CONNECTIONS_PER_PEER from one address) a new connection closes the one that has waited longest
without a request in progress (see bench/slow_clients.py).

With a TLS context (a cluster with SSL enabled, emulator/gateway/tls.py) each accepted socket is wrapped at
once without a handshake; the handshake happens on the connection's own thread at its first read, so a
client that never completes one holds only its own thread, like an idle keep-alive connection."""
from __future__ import annotations

import io
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Literal, Optional

from .chain import Chain
from .chunked import ChunkedBodyTooLarge, read_chunked
from .context import MAX_BODY_BYTES, Context, Response, json_error

STOP_POLL_S = 0.05
MAX_LINE = 65536
MAX_HEADERS = 100
HEADER_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 1024
MAX_CONNECTIONS_PER_PEER = 512


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _framing_error(headers: dict[str, str]) -> Optional[str]:
    """Why the request body's length is ambiguous (None: it is not). RFC 9112 6.3: a request with both
    Transfer-Encoding and Content-Length, or whose final transfer coding is not chunked, cannot be
    delimited safely (request smuggling): answered 400 and the connection closed. Only ``chunked`` is
    decoded, as nginx does (gzip etc. as transfer codings are not used by clients)."""
    if "transfer-encoding" not in headers:
        return None
    if "content-length" in headers:
        return "Request has both Transfer-Encoding and Content-Length"
    codings = [coding.strip().lower() for coding in headers["transfer-encoding"].split(",")]
    if codings != ["chunked"]:
        return f"Unsupported Transfer-Encoding: {headers['transfer-encoding'][:100]}"
    return None


@dataclass
class _Connection:
    """What the guard knows of one open client connection (written by its handler thread)."""

    peer: str
    since: float  # when it last started waiting: for a request (idle) or for the rest of its headers
    in_header: bool = False  # the first byte of a request has arrived, its headers have not
    busy: bool = False  # a request is being read or answered: never closed to make room
    answered: int = 0  # requests answered on it: its first request's headers are awaited from the accept


class FrontEnd(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 512
    allow_reuse_address = True
    header_timeout_s = HEADER_TIMEOUT_S
    max_connections = MAX_CONNECTIONS
    max_connections_per_peer = MAX_CONNECTIONS_PER_PEER

    def __init__(self, address: tuple[str, int], chain: Chain, make_context: Callable[..., Context],
                 tls: Optional[ssl.SSLContext] = None) -> None:
        self.chain = chain
        self.make_context = make_context
        self.tls = tls
        self._conns: dict[socket.socket, _Connection] = {}
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:  # HTTPServer's version does a (possibly slow) reverse DNS lookup
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    # track live keep-alive connections so stop() can end them, and the guard can bound them
    def process_request(self, request: Any, client_address: Any) -> None:
        peer = str(client_address[0]) if client_address else ""
        with self._conns_lock:
            evicted = self._make_room(peer)
            if evicted is not False:
                self._conns[request] = _Connection(peer, time.monotonic())
        if evicted is False:
            self.shutdown_request(request)
            return
        if evicted is not None:
            _end(evicted)
        super().process_request(request, client_address)

    def _make_room(self, peer: str) -> Optional[socket.socket] | Literal[False]:
        """The connection to close so that one more from ``peer`` fits (None: none needed; False: refuse)."""
        mine = [(sock, conn) for sock, conn in self._conns.items() if conn.peer == peer]
        for group, limit in ((mine, self.max_connections_per_peer), (list(self._conns.items()), self.max_connections)):
            if len(group) < limit:
                continue
            waiting = [(conn.since, sock) for sock, conn in group if not conn.busy]
            if not waiting:
                return False
            oldest = min(waiting, key=lambda pair: pair[0])[1]
            del self._conns[oldest]
            return oldest
        return None

    def connection(self, request: Any) -> Optional[_Connection]:
        return self._conns.get(request)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.pop(request, None)
        super().shutdown_request(request)

    def close_slow_headers(self) -> None:
        """End every connection whose request headers have been arriving for longer than the limit."""
        cutoff = time.monotonic() - self.header_timeout_s
        with self._conns_lock:
            slow = [sock for sock, conn in self._conns.items() if conn.in_header and conn.since < cutoff]
        for sock in slow:
            _end(sock)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), {}
        for conn in conns:
            _end(conn)


def _end(sock: socket.socket) -> None:
    """Wake the connection's handler thread (its read returns end-of-file) and so end it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-azure-fe"
    disable_nagle_algorithm = True
    server: FrontEnd
    rfile: io.BufferedReader  # rbufsize -1 (socketserver's default): a buffered reader, with peek()

    def log_message(self, format: str, *args: Any) -> None:  # no per-request logging (and never keys)
        pass

    timeout = 600  # idle keep-alive connections are dropped after this many seconds

    def handle_one_request(self) -> None:
        """Parse one request by hand (http.client.parse_headers costs ~80 us) and run it through the chain."""
        guard = self.server.connection(self.connection)
        try:
            # Wait for the first byte (an idle keep-alive connection), then give the headers a deadline.
            if guard is None or not self.rfile.peek(1):
                self.close_connection = True
                return
            # A fresh connection has waited for its headers since it was accepted (nginx's client_header_timeout
            # counts so too); a kept-alive one, since its next request's first byte.
            guard.in_header = True
            if guard.answered:
                guard.since = time.monotonic()
            line = self.rfile.readline(MAX_LINE + 1)
        except OSError:
            self.close_connection = True
            return
        if not line:
            self.close_connection = True
            return
        self.command, self.request_version = "GET", "HTTP/1.1"
        if len(line) > MAX_LINE:
            self._write(json_error(414, "Request line too long"), close=True)
            return
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self._write(json_error(400, "Malformed request line"), close=True)
            return
        self.command, self.path, self.request_version = parts
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            try:
                raw = self.rfile.readline(MAX_LINE + 1)
            except OSError:
                raw = b""
            if raw in (b"\r\n", b"\n", b""):
                break
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep or len(raw) > MAX_LINE:
                self._write(json_error(400, "Malformed request header"), close=True)
                return
            key, value = name.strip().lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        else:
            self._write(json_error(431, "Too many request headers"), close=True)
            return
        if raw == b"":  # end of file before the blank line: the client left, or the header deadline passed
            self.close_connection = True
            return
        guard.in_header, guard.busy = False, True
        connection = headers.get("connection", "").lower()
        self.close_connection = "close" in connection or (
            self.request_version == "HTTP/1.0" and "keep-alive" not in connection)
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._handle(headers)
        guard.busy, guard.since, guard.answered = False, time.monotonic(), guard.answered + 1

    def _handle(self, headers: dict[str, str]) -> None:
        path, _, query = self.path.partition("?")
        framing_error = _framing_error(headers)
        if framing_error is not None:
            self._write(json_error(400, framing_error), close=True)
            return
        chunked = "transfer-encoding" in headers
        raw_length = headers.get("content-length")
        content_length: Optional[int] = None
        body_consumed = False
        read_body: Callable[[int], bytes] = self.rfile.read
        if chunked:
            try:
                data = read_chunked(self.rfile, MAX_BODY_BYTES)
            except ChunkedBodyTooLarge:
                self._write(json_error(413, f"Request body exceeds the limit of {MAX_BODY_BYTES} bytes"), close=True)
                return
            except ValueError:
                self._write(json_error(400, "Malformed chunked request body"), close=True)
                return
            content_length, body_consumed = len(data), True
            read_body = lambda n: data  # noqa: E731 - rebinds the reader typed above
        elif raw_length is not None:
            try:
                content_length = int(raw_length)
                if content_length < 0:
                    raise ValueError
            except ValueError:
                self._write(json_error(400, "Invalid Content-Length header"), close=True)
                return
        ctx = self.server.make_context(self.command, path, query, headers, content_length, read_body)
        resp = self.server.chain.handle(ctx)
        unread = not body_consumed and (content_length or 0) > 0 and not ctx.body_read
        self._write(resp, close=unread or self.close_connection)

    def _write(self, resp: Response, close: bool) -> None:
        lines = [f"HTTP/1.1 {resp.status} {_reason(resp.status)}\r\n", f"Server: {self.server_version}\r\n",
                 f"Date: {self.date_time_string()}\r\n"]
        lines.extend(f"{k}: {v}\r\n" for k, v in resp.headers)
        lines.append(f"Content-Length: {len(resp.body)}\r\n")
        if close:
            lines.append("Connection: close\r\n")
            self.close_connection = True
        lines.append("\r\n")
        head = "".join(lines).encode("latin-1", "replace")
        body = b"" if self.command == "HEAD" else resp.body
        try:
            self.wfile.write(head + body)
        except OSError:  # the client has gone: nothing more to say on this connection
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle


class FrontEndThread:
    """Runs a FrontEnd on its own thread; ``stop`` ends the accept loop and every open connection."""

    def __init__(self, host: str, port: int, chain: Chain, make_context: Callable[..., Context],
                 tls: Optional[ssl.SSLContext] = None) -> None:
        self.server = FrontEnd((host, port), chain, make_context, tls)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": STOP_POLL_S},
                                        name=f"gateway-{self.port}", daemon=True)
        self._thread.start()
        self._stopped = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name=f"gateway-{self.port}-reaper", daemon=True)
        self._reaper.start()

    def _reap(self) -> None:
        while not self._stopped.wait(1.0):
            self.server.close_slow_headers()

    def stop(self) -> None:
        self._stopped.set()
        self.server.shutdown()
        self.server.server_close()
        self.server.close_connections()
        self._thread.join(timeout=10)
        self._reaper.join(timeout=10)
