"""Forwarding to replicas over pooled keep-alive connections (a minimal HTTP/1.1 client)."""
from __future__ import annotations

import errno
import select
import socket
import threading
from typing import Optional

from scoring.address import Address, connect, host_header

from .chunked import read_chunked
from .model import ReplicaEndpoint

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})


class UpstreamTimeout(Exception):
    """The replica did not answer within the scoring timeout."""


class UpstreamClosed(Exception):
    """The replica refused, reset or closed the connection before a complete reply."""


class UpstreamUnreachable(UpstreamClosed):
    """The request never reached the replica: the connect failed, or the send did before the whole request
    was accepted. It cannot have been scored, so another replica may take it (Envoy's connect-failure
    retry). ``refused``: nothing listens on the replica's port (the replica is gone)."""

    def __init__(self, message: str, refused: bool) -> None:
        super().__init__(message)
        self.refused = refused


def strip_hop_by_hop(headers: list[tuple[str, str]], also: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Headers minus hop-by-hop ones (including any named in ``Connection``) and minus ``also`` (lower-case)."""
    named: set[str] = set()
    for key, value in headers:
        if key.lower() == "connection":
            named.update(token.strip().lower() for token in value.split(",") if token.strip())
    drop = HOP_BY_HOP | named | also
    return [(k, v) for k, v in headers if k.lower() not in drop]


class _Incomplete(Exception):
    """The replica's reply ended early or was not HTTP."""


class _NotSent(Exception):
    """Writing the request failed: the replica never got all of it."""


class _ReplicaConnection:
    """A minimal keep-alive HTTP/1.1 client (http.client's header parsing costs ~80 us a response)."""

    def __init__(self, address: Address, timeout_s: float) -> None:
        self.host_header = host_header(address)
        self.sock = connect(address, timeout_s)  # TCP (no Nagle delay) or the replica's unix socket
        self.rfile = self.sock.makefile("rb")

    def settimeout(self, timeout_s: float) -> None:
        self.sock.settimeout(timeout_s)

    def peer_closed(self) -> bool:
        """Whether an idle connection became readable: the replica closed or reset it meanwhile (or sent
        bytes nobody asked for). A killed replica's kernel closes its sockets at once, so this finds its
        idle connections before any request is written to them."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))

    def close(self) -> None:
        try:
            self.rfile.close()
        finally:
            self.sock.close()

    def exchange(self, method: str, target: str, body: bytes,
                 headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes, bool, bool]:
        """(status, headers, body, will_close, got_any_reply_bytes)."""
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {self.host_header}\r\n"]
        lines.extend(f"{k}: {v}\r\n" for k, v in headers.items())
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        try:
            self.sock.sendall("".join(lines).encode("latin-1", "replace") + body)
        except (socket.timeout, TimeoutError):
            raise
        except OSError as exc:
            raise _NotSent(str(exc)) from exc
        rfile = self.rfile
        while True:
            status_line = rfile.readline(65537)
            if not status_line:
                raise _Incomplete("no reply")
            version, _, rest = status_line.decode("latin-1").partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/") or not code.isdigit():
                raise _Incomplete(f"bad status line {status_line[:40]!r}")
            status = int(code)
            reply_headers: list[tuple[str, str]] = []
            while True:
                line = rfile.readline(65537)
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise _Incomplete("reply headers cut short")
                name, _, value = line.decode("latin-1").partition(":")
                reply_headers.append((name.strip(), value.strip()))
            if 100 <= status < 200 and status != 101:
                continue  # 100 Continue and friends: the real reply follows
            break
        lower = {k.lower(): v for k, v in reply_headers}
        conn_tokens = lower.get("connection", "").lower()
        will_close = "close" in conn_tokens or (version == "HTTP/1.0" and "keep-alive" not in conn_tokens)
        if method == "HEAD" or status in (204, 304):
            data = b""
        elif "chunked" in lower.get("transfer-encoding", "").lower():
            data = read_chunked(rfile)  # cut short: ChunkedBodyError, a ValueError, so a 502
        elif "content-length" in lower:
            length = int(lower["content-length"])
            data = rfile.read(length) if length else b""
            if len(data) != length:
                raise _Incomplete("reply body cut short")
        else:
            data = rfile.read()
            will_close = True
        return status, reply_headers, data, will_close, True


class ConnectionPool:
    """Idle keep-alive connections per replica address, shared by all handler threads.

    Checkout/checkin is a list pop/append under one lock (a microsecond); a connection is used by one request
    at a time. Shared rather than per-thread because the front end runs one thread per client connection,
    so per-thread connections would die (and leak) with every client connection."""

    MAX_IDLE_PER_REPLICA = 64

    def __init__(self) -> None:
        self._idle: dict[Address, list[_ReplicaConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _checkout(self, key: Address) -> Optional[_ReplicaConnection]:
        """An idle connection to ``key`` the replica has not closed meanwhile, or None."""
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None or not conn.peer_closed():
                return conn
            conn.close()

    def _checkin(self, key: Address, conn: _ReplicaConnection) -> None:
        with self._lock:
            if not self._closed:
                idle = self._idle.setdefault(key, [])
                if len(idle) < self.MAX_IDLE_PER_REPLICA:
                    idle.append(conn)
                    return
        conn.close()

    def idle_count(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._idle.values())

    def send(self, replica: ReplicaEndpoint, method: str, target: str, body: bytes,
             headers: dict[str, str], timeout_s: float) -> tuple[int, list[tuple[str, str]], bytes]:
        """The replica's reply. Raises UpstreamTimeout; UpstreamUnreachable when the request surely never
        reached the replica (safe to send elsewhere); UpstreamClosed when it may have been scored."""
        key = replica.address
        conn = self._checkout(key)
        reused = conn is not None
        maybe_delivered = False  # a whole request was written on some connection to this replica
        while True:
            fresh = conn is None
            try:
                if conn is None:
                    conn = _ReplicaConnection(key, timeout_s)
                else:
                    conn.settimeout(timeout_s)
                status, reply_headers, data, will_close, _ = conn.exchange(method, target, body, headers)
            except (socket.timeout, TimeoutError) as exc:
                if conn is not None:
                    conn.close()
                raise UpstreamTimeout(str(exc)) from exc
            except (OSError, ValueError, _Incomplete, _NotSent) as exc:
                connected = conn is not None
                if conn is not None:
                    conn.close()
                maybe_delivered = maybe_delivered or (connected and not isinstance(exc, _NotSent))
                if reused and not maybe_delivered:
                    # An idle keep-alive connection the replica had already closed, found while writing:
                    # retry once, fresh. A request written whole may have been scored: never sent twice.
                    reused, conn = False, None
                    continue
                if not maybe_delivered:
                    refused = fresh and not connected and isinstance(exc, OSError) and \
                        exc.errno == errno.ECONNREFUSED
                    raise UpstreamUnreachable(str(exc), refused=refused) from exc
                raise UpstreamClosed(str(exc)) from exc
            if will_close:
                conn.close()
            else:
                self._checkin(key, conn)
            return status, reply_headers, data

    def retain(self, addresses: set[Address]) -> None:
        """Close idle connections to every replica address not in ``addresses`` (replicas gone)."""
        with self._lock:
            gone = {key: conns for key, conns in self._idle.items() if key not in addresses}
            for key in gone:
                del self._idle[key]
        for conns in gone.values():
            for conn in conns:
                conn.close()

    def close_all(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()
