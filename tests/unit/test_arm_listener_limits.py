"""The SDK v2 HTTPS listener holds a bounded number of connections: past the limit a new connection is closed
at once instead of costing the daemon one more thread; the slots come back as connections end."""
from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Iterator

import pytest
import requests
from polling import poll

from emulator.arm import http11
from emulator.tls_authority import server_credentials, trust_bundle_path


def _hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[http11.TlsServer, Path]]:
    import ssl

    monkeypatch.setattr(http11, "MAX_CONNECTIONS", 2)
    credentials = server_credentials(tmp_path, ["127.0.0.1"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(credentials.certificate, credentials.key)
    tls = http11.TlsServer("127.0.0.1", _hello, context)
    thread = threading.Thread(target=tls.serve_forever, daemon=True)
    thread.start()
    try:
        yield tls, trust_bundle_path(tmp_path)
    finally:
        tls.shutdown()
        tls.server_close()


def test_connections_past_the_limit_are_closed_and_slots_come_back(server) -> None:
    tls, bundle = server
    url = f"https://127.0.0.1:{tls.server_port}/"
    silent = [socket.create_connection(("127.0.0.1", tls.server_port)) for _ in range(2)]
    try:
        assert poll(lambda: tls.active_connections == 2, timeout=10, interval=0.01)
        extra = socket.create_connection(("127.0.0.1", tls.server_port))
        extra.settimeout(10)
        assert extra.recv(1) == b""  # closed by the listener, not left waiting
        extra.close()
    finally:
        for connection in silent:
            connection.close()
    assert poll(lambda: tls.active_connections == 0, timeout=10, interval=0.01)
    assert requests.get(url, verify=str(bundle), timeout=10).text == "hello"
