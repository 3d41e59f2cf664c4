"""CloudClient's one retry: only a call that certainly never reached the daemon is sent again.

Real loopback sockets stand in for the daemon: one that answers, one that reads the request and drops the
connection without a response, one that reads it and never answers, and a port nobody listens on.
"""
from __future__ import annotations

import socket
import socketserver
import threading
from pathlib import Path
from typing import Iterator

import pytest

from fake_azure._client import CloudClient, CloudUnavailable
from fake_azure._transport import TransportError
from fake_azure.settings import Settings


class FakeDaemon(socketserver.ThreadingTCPServer):
    """Counts the requests it read in full, then answers, drops or hangs as ``behaviour`` says."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.requests: list[str] = []
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:{}".format(self.server_address[1])


class _Handler(socketserver.BaseRequestHandler):
    server: FakeDaemon

    def handle(self) -> None:
        while True:
            request_line = self._read_request()
            if request_line is None:
                return
            self.server.requests.append(request_line)
            if self.server.behaviour == "drop":
                return  # closed with no response, as a daemon dying mid-request (or a stale keep-alive)
            if self.server.behaviour == "hang":
                self.server.release.wait(10)
                return
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"
                                 b'{"ok": true}')

    def _read_request(self) -> str | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next((int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")),
                      0)
        while len(body) < length:
            body += self.request.recv(65536)
        return lines[0]


@pytest.fixture
def serve() -> Iterator:
    servers: list[FakeDaemon] = []

    def start(behaviour: str) -> FakeDaemon:
        server = FakeDaemon(behaviour)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A loopback port that is bound but not listening: every connection is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield "http://127.0.0.1:{}".format(sock.getsockname()[1])
    sock.close()


def _client(tmp_path: Path, *urls: str) -> tuple[CloudClient, list[str]]:
    """A client whose daemon lookup hands out ``urls`` in turn (the last one for good); returns the lookups."""
    (tmp_path / "token").write_text("t0ken")
    looked_up: list[str] = []

    def resolve(settings: Settings) -> dict[str, str]:
        url = urls[min(len(looked_up), len(urls) - 1)]
        looked_up.append(url)
        return {"url": url}

    return CloudClient(Settings(home=tmp_path), resolve), looked_up


def test_a_post_dropped_before_any_response_is_not_sent_again(tmp_path: Path, serve) -> None:
    daemon = serve("drop")
    client, looked_up = _client(tmp_path, daemon.url)
    with pytest.raises(CloudUnavailable) as info:
        client.request("POST", "/models", "model", json={"name": "m"})
    assert daemon.requests == ["POST /models HTTP/1.1"]  # a register or deploy is never done twice
    assert looked_up == [daemon.url]
    assert "dropped the connection before answering" in info.value.message
    assert not isinstance(info.value, TransportError)


def test_an_idempotent_call_dropped_is_retried_once_then_cloud_unavailable(tmp_path: Path, serve) -> None:
    daemon = serve("drop")
    client, looked_up = _client(tmp_path, daemon.url)
    with pytest.raises(CloudUnavailable):
        client.request("GET", "/things", "compute")
    assert daemon.requests == ["GET /things HTTP/1.1"] * 2
    assert looked_up == [daemon.url] * 2


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_read_timeout_is_never_retried(tmp_path: Path, serve, monkeypatch: pytest.MonkeyPatch,
                                         method: str) -> None:
    monkeypatch.setattr(CloudClient, "read_timeout", 0.3)
    daemon = serve("hang")
    client, looked_up = _client(tmp_path, daemon.url)
    with pytest.raises(CloudUnavailable) as info:
        client.request(method, "/slow", "webservice")
    assert daemon.requests == [f"{method} /slow HTTP/1.1"]
    assert looked_up == [daemon.url]
    assert "did not answer in time" in info.value.message


def test_a_refused_connection_is_retried_against_the_daemon_found_again(tmp_path: Path, serve,
                                                                        dead_url: str) -> None:
    # The daemon went away and came back on another port: the POST never reached the old one.
    daemon = serve("ok")
    client, looked_up = _client(tmp_path, dead_url, daemon.url)
    assert client.json("POST", "/models", "model", json={"name": "m"}) == {"ok": True}
    assert daemon.requests == ["POST /models HTTP/1.1"]
    assert looked_up == [dead_url, daemon.url]


def test_refused_twice_is_cloud_unavailable(tmp_path: Path, dead_url: str) -> None:
    client, looked_up = _client(tmp_path, dead_url)
    with pytest.raises(CloudUnavailable) as info:
        client.request("POST", "/models", "model", json={})
    assert looked_up == [dead_url] * 2
    assert info.value.message.startswith(f"The fake-azure daemon at {dead_url} could not be reached (POST /models)")
