"""The control plane's web server (emulator/control_server.py) in-process, in front of a stand-in app:
the one body limit, waitress's own refusals in Azure's envelope, and the slow-client guard."""
from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest
from polling import poll
from slow_client import SlowClient
from waitress import wasyncore

from emulator.control_server import create_control_server
from emulator.settings import DaemonSettings

GIB = 1024 ** 3
_CHUNK = b"\0" * (1024 * 1024)


def counting_app(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
    """Reads the body in chunks (as the upload routes do) and answers how many bytes came."""
    stream, received = environ["wsgi.input"], 0
    while chunk := stream.read(1024 * 1024):
        received += len(chunk)
    body = json.dumps({"received": received}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@contextmanager
def serving(settings: DaemonSettings = DaemonSettings(), **guard: Any) -> Iterator[int]:
    server = create_control_server(counting_app, settings, **guard)
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set() and server._map:
            wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        for channel in list(server._map.values()):
            channel.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)
    finally:
        stopping.set()
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()


def post_streamed(port: int, size: int) -> tuple[int, bytes]:
    """POST ``size`` zero bytes from one reused 1 MiB buffer (never the whole body in memory)."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(f"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
                     .encode())
        sent = 0
        try:
            while sent < size:
                piece = _CHUNK[:min(len(_CHUNK), size - sent)]
                sock.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (a refusal) and stopped reading
        reply = read_reply(sock)
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def read_reply(sock: socket.socket) -> bytes:
    """Everything the server sent before it closed. A server that closes with part of the request
    unread resets the connection; the answer it sent before that is still there to read (urllib3 reads
    it the same way)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_content_length_over_1_gib_is_not_refused_up_front():
    """waitress's own default (1 GiB) used to answer a plain-text 413 as soon as the headers arrived;
    the whole 1.1 GiB upload is measured in bench/large_upload.py (too slow for the suite)."""
    with serving() as port, socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {GIB + 100 * 1024 * 1024}\r\n\r\n"
                     .encode() + _CHUNK)
        sock.settimeout(1.0)
        with pytest.raises(socket.timeout):  # no answer: the server waits for the rest of the body
            sock.recv(65536)


def test_one_limit_for_server_and_app_lowered_through_the_setting():
    limit = 1024 * 1024
    with serving(DaemonSettings(max_body_bytes=limit)) as port:
        status, body = post_streamed(port, limit)
        assert status == 200 and json.loads(body) == {"received": limit}
        status, body = post_streamed(port, limit + 1)
    assert status == 413
    assert json.loads(body) == {"error": {
        "code": "PayloadTooLarge", "statusCode": 413,
        "message": f"The request body exceeds the local cloud's limit of {limit} bytes (FAKE_AZURE_MAX_BODY_BYTES)."}}


def test_a_malformed_request_is_refused_in_the_envelope_too():
    with serving() as port, socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        head, _, body = read_reply(sock).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["error"]["code"] == "BadRequest"


def test_headers_that_trickle_past_the_deadline_are_cut_off():
    with serving(header_timeout_s=1.0) as port:
        slow = SlowClient(port, b'GET /upload HTTP/1.1')
        try:
            deadline = time.monotonic() + 8
            while slow.trickle() and time.monotonic() < deadline:
                time.sleep(0.2)  # a byte every 0.2 s: never idle, so channel_timeout alone never fires
            assert time.monotonic() < deadline, "the trickling connection was never closed"
        finally:
            slow.close()


def test_a_body_that_trickles_under_the_minimum_rate_is_cut_off():
    with serving(header_timeout_s=1.0, min_body_rate=100) as port, \
            socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        sock.settimeout(0.0)
        closed, deadline = False, time.monotonic() + 8
        while not closed and time.monotonic() < deadline:
            try:
                closed = sock.recv(1, socket.MSG_PEEK) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed = True
            if not closed:
                try:
                    sock.send(b"a")  # 5 bytes/s: far under 100
                except OSError:
                    closed = True
                time.sleep(0.2)
        assert closed, "the trickling body was never cut off"


def test_a_new_connection_past_the_per_peer_limit_pushes_out_the_longest_waiting_one():
    with serving(max_connections_per_peer=4) as port:
        slow = [SlowClient(port, b'GET /upload HTTP/1.1') for _ in range(4)]
        try:
            time.sleep(0.3)  # every one is accepted and waiting for its headers
            status, body = post_streamed(port, 10)  # the fifth connection gets in...
            assert status == 200 and json.loads(body) == {"received": 10}
            # ...by closing the one that had waited longest (trickling a byte at a time until it is closed)
            assert poll(lambda: not slow[0].trickle(), timeout=5, interval=0.05)  # under the 10 s header deadline
            assert all(client.trickle() for client in slow[2:])
        finally:
            for client in slow:
                client.close()
