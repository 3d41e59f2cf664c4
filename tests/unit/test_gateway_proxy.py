"""The gateway's connection pool against loopback stand-in replicas: which failures it reports as
"never reached the replica" (safe to send elsewhere) and which as "may have been scored" (issue 11)."""
from __future__ import annotations

import socket
import threading
from typing import Iterator

import pytest

from emulator.gateway.model import ReplicaEndpoint
from emulator.gateway.proxy import ConnectionPool, UpstreamClosed, UpstreamUnreachable

REPLY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class StandIn:
    """A one-connection-at-a-time replica: counts the requests it read; ``reply`` False closes without one."""

    def __init__(self, reply: bool = True) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.reply = reply
        self.requests = 0
        self.conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        buffered = b""
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buffered += data
            while b"\r\n\r\n" in buffered:  # requests without a body (Content-Length: 0)
                _, buffered = buffered.split(b"\r\n\r\n", 1)
                self.requests += 1
                if not self.reply:
                    conn.close()
                    return
                conn.sendall(REPLY)

    def die(self) -> None:
        """As SIGKILL does: the listener and every connection close at once."""
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone would not)
        except OSError:
            pass
        self.listener.close()
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    made = ConnectionPool()
    yield made
    made.close_all()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _send(pool: ConnectionPool, port: int) -> tuple[int, list, bytes]:
    return pool.send(ReplicaEndpoint("r0", "127.0.0.1", port), "GET", "/", b"", {}, 5.0)


def test_a_port_nobody_listens_on_is_unreachable_and_refused(pool):
    with pytest.raises(UpstreamUnreachable) as caught:
        _send(pool, _free_port())
    assert caught.value.refused


def test_a_killed_replica_s_idle_connection_is_not_used_so_the_request_counts_as_never_sent(pool):
    """The replica served one request on a keep-alive connection, then died: its pooled connection is seen
    closed before anything is written, and the refused reconnect says the request reached no replica."""
    replica = StandIn()
    assert _send(pool, replica.port)[0] == 200 and pool.idle_count() == 1
    replica.die()
    with pytest.raises(UpstreamUnreachable) as caught:
        _send(pool, replica.port)
    assert caught.value.refused and replica.requests == 1


def test_a_replica_that_read_the_request_and_closed_may_have_scored_it(pool):
    replica = StandIn(reply=False)
    with pytest.raises(UpstreamClosed) as caught:
        _send(pool, replica.port)
    assert not isinstance(caught.value, UpstreamUnreachable) and replica.requests == 1
    replica.die()


def test_an_idle_connection_the_replica_closed_is_replaced_without_a_failure(pool):
    replica = StandIn()
    assert _send(pool, replica.port)[0] == 200
    for conn in replica.conns:  # the replica ends idle keep-alive connections (a worker restart)
        conn.shutdown(socket.SHUT_RDWR)
    assert _send(pool, replica.port)[0] == 200 and replica.requests == 2
    replica.die()


def test_a_request_read_on_a_reused_connection_is_never_sent_again(pool):
    """The replica read the request on a pooled keep-alive connection and closed without answering: it may
    have scored it, so the pool must not send it again on a new connection (a POST scored twice)."""
    replica = StandIn()
    assert _send(pool, replica.port)[0] == 200 and pool.idle_count() == 1
    replica.reply = False
    with pytest.raises(UpstreamClosed) as caught:
        _send(pool, replica.port)
    assert not isinstance(caught.value, UpstreamUnreachable)
    assert replica.requests == 2  # the first one, and this one once
    replica.die()
