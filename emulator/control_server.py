"""The control plane's HTTP server: waitress, with the one body limit, Azure-shaped errors of its own, and a
guard against clients that hold connections open without sending a request.

Waitress parses request headers on its I/O thread, so slow clients cost connection slots rather than
worker threads; but it stops accepting once ``connection_limit`` is reached and closes a connection only
after ``channel_timeout`` seconds without a byte, so ~100 sockets that each trickle a header byte a
second used to lock everyone out. Here a connection must deliver its request headers within
``header_timeout_s`` of their first byte and then its body at ``min_body_rate`` bytes a second on
average (after ``header_timeout_s`` of grace, as Kestrel's MinRequestBodyDataRate), and when a peer (or
everyone together) holds the most connections allowed, a new connection pushes out the one that has
waited longest without a complete request (never one whose request is being received or served), so a
well-behaved caller such as the health check always gets in.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask

from .error_catalog import http_refusal
from .settings import DaemonSettings

log = logging.getLogger("emulator.control_server")

HEADER_TIMEOUT_S = 10.0  # Apache's mod_reqtimeout allows 20 s; local clients send a header in microseconds
IDLE_TIMEOUT_S = 120  # a keep-alive connection without a byte for this long is closed (waitress's default)
MIN_BODY_RATE = 1024  # bytes/s on average; Kestrel asks 240, a loopback upload runs at hundreds of MB/s
MAX_CONNECTIONS = 512
MAX_CONNECTIONS_PER_PEER = 256
WORKER_THREADS = 16


class EnvelopeErrorTask(ErrorTask):
    """Waitress's answer to a request it refuses before the app sees it, in Azure's error envelope."""

    def execute(self) -> None:
        error = self.request.error
        message = f"{error.reason}: {error.body}"
        if error.code == 413:  # waitress counts a body of max_request_body_size bytes as too large
            limit = self.channel.server.adj.max_request_body_size - 1
            message = (f"The request body exceeds the local cloud's limit of {limit} bytes "
                       "(FAKE_AZURE_MAX_BODY_BYTES).")
        body = json.dumps(http_refusal(error.code, message, "BadRequest").envelope()).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json; charset=utf-8"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class GuardedChannel(HTTPChannel):
    """A connection that remembers since when it has been waiting for a request's headers."""

    error_task_class = EnvelopeErrorTask
    header_started: float | None = None

    def received(self, data: bytes) -> bool:
        if data and self.request is None:
            self.header_started = time.time()  # the first byte of a new request
        return super().received(data)

    def awaiting_header(self) -> bool:
        """No request is being served or has its body coming in: safe to close."""
        if self.requests or self.will_close or self.close_when_flushed or self.total_outbufs_len:
            return False
        return self.request is None or not self.request.headers_finished

    def receiving_body_too_slowly(self, now: float, grace_s: float, min_rate: float) -> bool:
        """Whether this request's body has been arriving at under ``min_rate`` bytes/s since its first byte."""
        request = self.request
        if request is None or not request.headers_finished or request.completed or self.header_started is None:
            return False
        elapsed = now - self.header_started
        return elapsed > grace_s and request.body_bytes_received < min_rate * elapsed

    def waiting_since(self) -> float:
        return self.header_started if self.request is not None and self.header_started else self.last_activity


class ControlServer(TcpWSGIServer):
    """Waitress's TCP server with the slow-client guard (see the module docstring)."""

    channel_class = GuardedChannel

    def __init__(self, app: Callable[..., Any], adj: Adjustments, header_timeout_s: float, min_body_rate: float,
                 max_connections: int, max_connections_per_peer: int) -> None:
        self.header_timeout_s = header_timeout_s
        self.min_body_rate = min_body_rate
        self.max_connections = max_connections
        self.max_connections_per_peer = max_connections_per_peer
        super().__init__(app, adj=adj)

    def handle_accept(self) -> None:
        try:
            pair = self.accept()
            if pair is None:
                return
            conn, addr = pair
            self.set_socket_options(conn)
        except OSError:
            return  # the client went away before we got to it
        addr = self.fix_addr(addr)
        if not self._make_room(addr[0]):
            conn.close()
            return
        self.channel_class(self, conn, addr, self.adj, map=self._map)

    def _make_room(self, peer: str) -> bool:
        """Whether a new connection from ``peer`` fits, closing the longest-waiting idle one if need be."""
        live = [c for c in self.active_channels.values() if not c.will_close]
        mine = [c for c in live if c.addr and c.addr[0] == peer]
        for group, limit in ((mine, self.max_connections_per_peer), (live, self.max_connections)):
            if len(group) < limit:
                continue
            waiting = [c for c in group if isinstance(c, GuardedChannel) and c.awaiting_header()]
            if not waiting:
                log.warning("refused a connection from %s: %d connections busy", peer, len(group))
                return False
            min(waiting, key=GuardedChannel.waiting_since).will_close = True
            return True  # one fewer in both groups
        return True

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle keep-alive connections past channel_timeout
        cutoff = now - self.header_timeout_s
        for channel in list(self.active_channels.values()):
            if not isinstance(channel, GuardedChannel):
                continue
            if (channel.request is not None and channel.awaiting_header()
                    and channel.header_started is not None and channel.header_started < cutoff):
                channel.will_close = True
            elif channel.receiving_body_too_slowly(now, self.header_timeout_s, self.min_body_rate):
                channel.will_close = True


def create_control_server(app: Callable[..., Any], settings: DaemonSettings, *,
                          header_timeout_s: float = HEADER_TIMEOUT_S, min_body_rate: float = MIN_BODY_RATE,
                          max_connections: int = MAX_CONNECTIONS,
                          max_connections_per_peer: int = MAX_CONNECTIONS_PER_PEER) -> ControlServer:
    """The control plane's server, bound to ``settings.host``/``settings.port`` (not yet serving)."""
    adj = Adjustments(
        host=settings.host, port=settings.port, threads=WORKER_THREADS, ident="fake-azure",
        clear_untrusted_proxy_headers=True,
        # waitress refuses a body of max_request_body_size bytes or more; the app's limit is inclusive
        max_request_body_size=settings.max_body_bytes + 1,
        # our own limits come first; waitress's (which stops accepting altogether) only counts
        # its listening socket and trigger on top
        connection_limit=max_connections + 8,
        channel_timeout=IDLE_TIMEOUT_S,
        cleanup_interval=1,
        asyncore_use_poll=True,  # select() fails outright on a descriptor past 1024
    )
    return ControlServer(app, adj, header_timeout_s, min_body_rate, max_connections, max_connections_per_peer)
