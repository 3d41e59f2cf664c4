"""The SDK v2 front end's HTTP/1.1 server (emulator/arm/http11.py): connections kept between requests, bodies
of known length or chunked read to their end, HEAD without a body, and malformed framing refused."""
from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Iterator

import pytest
import requests

from emulator.arm import http11
from emulator.tls_authority import server_credentials, trust_bundle_path


def _echo(environ, start_response):
    body = environ["wsgi.input"].read() if environ["PATH_INFO"] != "/ignore-body" else b""
    if environ["PATH_INFO"] == "/stream":  # no Content-Length: sent chunked
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"part1-", b"part2"])
    payload = f"{environ['REQUEST_METHOD']} {environ['REMOTE_PORT']} {len(body)} {body[:20]!r}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))])
    return [payload]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    credentials = server_credentials(tmp_path, ["127.0.0.1"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(credentials.certificate, credentials.key)
    tls = http11.TlsServer("127.0.0.1", _echo, context)
    threading.Thread(target=tls.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{tls.server_port}", str(trust_bundle_path(tmp_path))
    finally:
        tls.shutdown()
        tls.server_close()


def test_one_connection_serves_request_after_request(server) -> None:
    url, bundle = server
    session = requests.Session()
    ports = {session.post(url + "/x", data=b"abc", verify=bundle, timeout=10).text.split()[1] for _ in range(3)}
    assert len(ports) == 1  # the same client port: the connection was kept
    # A body the app did not read is read past before the next request on the same connection.
    session.post(url + "/ignore-body", data=b"z" * 5000, verify=bundle, timeout=10)
    assert session.post(url + "/x", data=b"next", verify=bundle, timeout=10).text.split()[1:] == [
        ports.pop(), "4", "b'next'"]


def test_chunked_bodies_responses_and_head(server) -> None:
    url, bundle = server
    chunked = requests.put(url + "/x", data=iter([b"hello ", b"chunked ", b"world"]), verify=bundle, timeout=10)
    assert chunked.text.split(" ", 2)[2] == "19 b'hello chunked world'"
    assert requests.get(url + "/stream", verify=bundle, timeout=10).text == "part1-part2"
    head = requests.head(url + "/x", verify=bundle, timeout=10)
    assert head.status_code == 200 and head.content == b""


def test_malformed_framing_is_refused_and_the_connection_closed(server) -> None:
    url, bundle = server
    context = ssl.create_default_context(cafile=bundle)
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as raw, context.wrap_socket(raw,
                                                                                   server_hostname="127.0.0.1") as tls:
        tls.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400") and b"Connection: close" in answer
