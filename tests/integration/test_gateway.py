"""The gateway against real upstream WSGI servers on loopback."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest
from polling import poll
from slow_client import SlowClient

from emulator.gateway import AuthPolicy, Gateway, ReplicaEndpoint, ServiceRoute
from emulator.gateway.frontend import FrontEnd
from emulator.gateway.server import BackgroundServer

KEYS = ("primary-key", "secondary-key")


class Upstream(BackgroundServer):
    """A waitress server running ``app`` on a loopback port (a stand-in replica)."""

    def __init__(self, app: Callable[..., Any]) -> None:
        super().__init__(app, host="127.0.0.1", port=0, threads=8)

    def endpoint(self, rid: str) -> ReplicaEndpoint:
        return ReplicaEndpoint(rid, "127.0.0.1", self.port)


def json_app(payload: dict, status: str = "200 OK", seen: list | None = None) -> Callable[..., Any]:
    def app(environ, start_response):
        body_in = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if seen is not None:
            seen.append({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                         "query": environ["QUERY_STRING"], "body": body_in,
                         "headers": {k: v for k, v in environ.items() if k.startswith("HTTP_") or k == "CONTENT_TYPE"}})
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                ("X-Replica-Header", "yes")])
        return [body]
    return app


def blocking_app(entered: threading.Event, release: threading.Event) -> Callable[..., Any]:
    """Simulates a slow replica: answers only once ``release`` is set (at most 10 s)."""
    def app(environ, start_response):
        entered.set()
        release.wait(timeout=10)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]
    return app


@contextmanager
def closing_upstream() -> Iterator[int]:
    """Accepts connections, reads the request, and closes without replying."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        except OSError:
            pass
        listener.close()
        thread.join(timeout=5)


@contextmanager
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


@contextmanager
def upstreams(*apps: Callable[..., Any]) -> Iterator[list[Upstream]]:
    started: list[Upstream] = []
    try:
        for app in apps:
            started.append(Upstream(app))
        yield started
    finally:
        for up in started:
            up.stop()


def call(gw: Gateway, name: str = "svc", method: str = "POST", body: bytes = b'{"data": [1]}',
         headers: dict | None = None, sub: str = "score") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
    try:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, f"/api/v1/service/{name}/{sub}", body=body if method != "GET" else None, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def route(auth: AuthPolicy | None = None, **kw: Any) -> ServiceRoute:
    return ServiceRoute("svc", auth or AuthPolicy("key", KEYS), **kw)


def test_scoring_uri_shape():
    with gateway() as gw:
        assert gw.port > 0
        assert gw.scoring_uri("svc") == f"http://127.0.0.1:{gw.port}/api/v1/service/svc/score"


def test_key_auth_401_then_200_and_key_not_forwarded():
    seen: list = []
    with upstreams(json_app({"result": [42]}, seen=seen)) as (up,), gateway() as gw:
        gw.upsert_service(route())
        gw.set_replicas("svc", [up.endpoint("r0")])
        status, _, body = call(gw)
        assert status == 401 and json.loads(body)["message"]
        status, _, body = call(gw, headers=bearer("nope"))
        assert status == 401 and b"nope" not in body
        assert seen == []
        for key in KEYS:
            status, headers, body = call(gw, headers=bearer(key))
            assert status == 200 and json.loads(body) == {"result": [42]}
            assert headers["content-type"] == "application/json" and headers["x-replica-header"] == "yes"
        assert len(seen) == 2 and all("HTTP_AUTHORIZATION" not in s["headers"] for s in seen)
        assert seen[0]["path"] == "/score" and seen[0]["body"] == b'{"data": [1]}'
        assert seen[0]["headers"]["CONTENT_TYPE"] == "application/json"
        stats = gw.stats("svc")
        assert stats.served == 2 and stats.failed_by_status == {401: 2} and stats.in_flight == 0


def test_token_mode_uses_verifier():
    with upstreams(json_app({"ok": 1})) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("token", token_verifier=lambda t: t == "aad-token")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        assert call(gw, headers=bearer("aad-token"))[0] == 200
        assert call(gw, headers=bearer("primary-key"))[0] == 401


def test_auth_none_passes_without_header():
    with upstreams(json_app({"ok": 1})) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        assert call(gw)[0] == 200


def test_get_swagger_root_and_query_are_proxied():
    seen: list = []
    with upstreams(json_app({"ok": 1}, seen=seen)) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        assert call(gw, method="GET")[0] == 200
        assert call(gw, method="GET", sub="swagger.json")[0] == 200
        assert call(gw, method="GET", sub="")[0] == 200
        assert call(gw, sub="score?verbose=true")[0] == 200
        assert [(s["method"], s["path"], s["query"]) for s in seen] == [
            ("GET", "/score", ""), ("GET", "/swagger.json", ""), ("GET", "/", ""), ("POST", "/score", "verbose=true")]


def test_overload_503_exact_text():
    entered, release = threading.Event(), threading.Event()
    with upstreams(blocking_app(entered, release)) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none"), max_concurrent_per_replica=1, max_queue_wait_ms=50))
        gw.set_replicas("svc", [up.endpoint("r0")])
        first: list = []
        worker = threading.Thread(target=lambda: first.append(call(gw)))
        worker.start()
        try:
            assert entered.wait(timeout=10)
            stats = gw.stats("svc")
            assert stats.in_flight == 1 and stats.busy_replicas == 1 and stats.replicas == 1
            status, _, body = call(gw)
            assert status == 503 and body == b"Too many requests for service svc (overloaded)"
        finally:
            release.set()
            worker.join(timeout=10)
        assert first[0][0] == 200
        stats = gw.stats("svc")
        assert stats.queue_waits == 1 and stats.failed_by_status == {503: 1} and stats.served == 1


def test_queued_request_gets_slot_when_freed():
    entered, release = threading.Event(), threading.Event()
    with upstreams(blocking_app(entered, release)) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none"), max_queue_wait_ms=10_000))
        gw.set_replicas("svc", [up.endpoint("r0")])
        results: list = []
        threads = [threading.Thread(target=lambda: results.append(call(gw)[0])) for _ in range(2)]
        try:
            threads[0].start()
            assert entered.wait(timeout=10)
            threads[1].start()
            release.set()
        finally:
            release.set()
            for t in threads:
                t.join(timeout=15)
        assert results == [200, 200]


def test_scoring_timeout_504():
    entered, release = threading.Event(), threading.Event()
    with upstreams(blocking_app(entered, release)) as (up,), gateway() as gw:
        try:
            gw.upsert_service(route(AuthPolicy("none"), scoring_timeout_ms=100))
            gw.set_replicas("svc", [up.endpoint("r0")])
            status, _, body = call(gw)
            assert status == 504 and json.loads(body)["message"] == "Request exceeded scoring timeout of 100 ms"
            assert gw.stats("svc").in_flight == 0
        finally:
            release.set()


def test_replica_closing_connection_is_502():
    with closing_upstream() as port, gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [ReplicaEndpoint("r0", "127.0.0.1", port)])
        status, _, body = call(gw)
        assert status == 502 and body == b"Replica closed connection before replying"


def test_connection_refused_by_the_only_replica_is_503_no_ready_replicas():
    """The refusing replica is ejected (issue 11) and the retry finds no other one: Envoy answers a
    connect failure with 503 too."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [ReplicaEndpoint("r0", "127.0.0.1", port)])
        status, _, body = call(gw)
        assert status == 503 and body == b"No ready replicas for service svc"
        assert gw.stats("svc").replicas == 0  # out of rotation until the engine publishes the replicas again


def test_a_request_refused_by_a_dead_replica_is_served_by_another():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    dead_port = probe.getsockname()[1]
    probe.close()
    with upstreams(json_app({"ok": 1})) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [ReplicaEndpoint("r0", "127.0.0.1", dead_port), up.endpoint("r1")])
        for _ in range(4):
            status, _, body = call(gw)
            assert status == 200 and json.loads(body) == {"ok": 1}
        assert gw.stats("svc").replicas == 1


def test_upstream_error_status_and_body_pass_through():
    with upstreams(json_app({"error": "run() failed"}, status="500 Internal Server Error")) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        status, headers, body = call(gw)
        assert status == 500 and json.loads(body) == {"error": "run() failed"} and headers["x-replica-header"] == "yes"
        assert gw.stats("svc").failed_by_status == {500: 1}


def test_request_ids_echoed_and_forwarded():
    seen: list = []
    with upstreams(json_app({}, seen=seen)) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        _, headers, _ = call(gw, headers={"x-request-id": "my-id", "x-ms-client-request-id": "client-id"})
        assert headers["x-request-id"] == "my-id" and headers["x-ms-request-id"] == "my-id"
        assert headers["x-ms-client-request-id"] == "client-id"
        assert seen[0]["headers"]["HTTP_X_REQUEST_ID"] == "my-id"
        assert seen[0]["headers"]["HTTP_X_MS_CLIENT_REQUEST_ID"] == "client-id"
        _, headers, _ = call(gw)
        assert len(headers["x-request-id"]) == 36 and headers["x-ms-request-id"] == headers["x-request-id"]
        assert seen[1]["headers"]["HTTP_X_REQUEST_ID"] == headers["x-request-id"]


def test_balances_across_three_replicas():
    seen: list[list] = [[], [], []]
    with upstreams(*(json_app({"replica": i}, seen=seen[i]) for i in range(3))) as ups, gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint(f"r{i}") for i, up in enumerate(ups)])
        answered = {json.loads(call(gw)[2])["replica"] for _ in range(9)}
        assert answered == {0, 1, 2}
        assert [len(s) for s in seen] == [3, 3, 3]
        assert gw.stats("svc").replicas == 3


def test_no_ready_replicas_503():
    with upstreams(json_app({})) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none"), max_queue_wait_ms=20))
        gw.set_replicas("svc", [up.endpoint("r0")])
        assert call(gw)[0] == 200
        gw.set_replicas("svc", [])
        status, _, body = call(gw)
        assert status == 503 and body == b"No ready replicas for service svc"


def test_huge_body_413():
    with upstreams(json_app({})) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=30)
        try:
            conn.putrequest("POST", "/api/v1/service/svc/score")
            conn.putheader("Content-Length", str(100 * 1024 * 1024 + 1))
            conn.endheaders()
            resp = conn.getresponse()
            assert resp.status == 413
            assert json.loads(resp.read())["message"] == (
                f"Request body of {100 * 1024 * 1024 + 1} bytes exceeds the limit of {100 * 1024 * 1024} bytes")
            assert resp.getheader("Connection") == "close"
        finally:
            conn.close()


def test_remove_service_404_and_upsert_replaces():
    with upstreams(json_app({})) as (up,), gateway() as gw:
        gw.upsert_service(route())
        gw.set_replicas("svc", [up.endpoint("r0")])
        assert call(gw)[0] == 401
        gw.upsert_service(route(AuthPolicy("none")))  # replace policy, replicas kept
        assert call(gw)[0] == 200
        gw.remove_service("svc")
        status, _, body = call(gw)
        assert status == 404 and json.loads(body)["message"] == "Service svc not found"
        with pytest.raises(KeyError):
            gw.stats("svc")
        assert call(gw, name="other")[0] == 404


def test_specific_port_is_reusable_across_restarts():
    first = Gateway()
    first.start()
    port = first.port
    first.stop()
    second = Gateway(port=port)
    second.start()
    try:
        assert second.port == port
        second.upsert_service(route(AuthPolicy("none"), max_queue_wait_ms=0))
        assert call(second)[0] == 503  # no replicas yet, answered by the new gateway
    finally:
        second.stop()


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes, read until the server closes (requests here all end with Connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def test_chunked_request_body_and_expect_continue():
    seen: list = []
    with upstreams(json_app({"ok": 1}, seen=seen)) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        reply = raw_exchange(gw.port, b"POST /api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                      b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                      b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
        assert seen[0]["body"] == b"hello world"


def test_chunked_request_body_cut_short_is_400_and_never_forwarded():
    seen: list = []
    with upstreams(json_app({"ok": 1}, seen=seen)) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as sock:
            sock.sendall(b"POST /api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"Connection: close\r\n\r\na\r\nhel")
            sock.shutdown(socket.SHUT_WR)  # the client gives up mid-chunk
            reply = sock.makefile("rb").read()
        assert reply.startswith(b"HTTP/1.1 400 "), reply
        assert b"Malformed chunked request body" in reply
        assert seen == []


def test_content_length_body_cut_short_is_400_and_never_forwarded():
    seen: list = []
    with upstreams(json_app({"ok": 1}, seen=seen)) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as sock:
            sock.sendall(b"POST /api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                         b"Content-Type: application/json\r\n\r\n" + b'{"data": [1]')  # 12 of 100 bytes
            sock.shutdown(socket.SHUT_WR)  # then FIN: the rest never comes
            reply = sock.makefile("rb").read()
        assert reply.startswith(b"HTTP/1.1 400 "), reply
        assert b"cut short" in reply and b"Connection: close" in reply
        assert seen == []


SMUGGLED = b"GET /api/v1/service/svc/swagger.json HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("framing", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",  # RFC 9112 6.3: which one frames the body?
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Transfer-Encoding: gzip\r\n",  # chunked is not the final coding: the length cannot be known
    b"Transfer-Encoding: chunked, identity\r\n",
    b"Transfer-Encoding: xchunked\r\n",
])
def test_a_request_whose_body_length_is_ambiguous_is_400_and_the_connection_closed(framing: bytes):
    """Request-smuggling hygiene: a keep-alive request framed both ways (or with a coding we cannot
    delimit) is answered 400 and the connection closed, so nothing after it is read as a next request."""
    seen: list = []
    with upstreams(json_app({"ok": 1}, seen=seen)) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as sock:
            sock.sendall(b"POST /api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\n" + framing +
                         b"\r\n0\r\n\r\n" + SMUGGLED)
            reply = sock.makefile("rb").read()  # until the gateway closes: it must
        assert reply.startswith(b"HTTP/1.1 400 "), reply
        assert reply.count(b"HTTP/1.1 ") == 1 and b"Connection: close" in reply
        assert seen == []


def test_headers_that_trickle_past_the_deadline_are_cut_off(monkeypatch):
    monkeypatch.setattr(FrontEnd, "header_timeout_s", 1.0)
    with gateway() as gw:
        slow = SlowClient(gw.port, b'POST /api/v1/service/svc/score HTTP/1.1')
        try:
            deadline = time.monotonic() + 8
            while slow.trickle() and time.monotonic() < deadline:
                time.sleep(0.2)  # a byte every 0.2 s: no read ever waits long enough to time out
            assert time.monotonic() < deadline, "the trickling connection was never closed"
        finally:
            slow.sock.close()


def test_a_new_connection_past_the_per_peer_limit_pushes_out_the_longest_waiting_one(monkeypatch):
    monkeypatch.setattr(FrontEnd, "max_connections_per_peer", 4)
    with upstreams(json_app({"ok": 1})) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        slow = [SlowClient(gw.port, b'POST /api/v1/service/svc/score HTTP/1.1') for _ in range(4)]
        try:
            # accepted in the order they connected, each counted from its accept: no wait needed here
            assert call(gw)[0] == 200  # the fifth connection gets in...
            # ...by closing the one that had waited longest (trickling a byte at a time until it is closed)
            assert poll(lambda: not slow[0].trickle(), timeout=5, interval=0.05)  # under the 10 s header deadline
            assert all(client.trickle() for client in slow[2:])
        finally:
            for client in slow:
                client.sock.close()


def test_the_longest_waiting_connection_is_counted_from_its_accept_not_its_first_byte(monkeypatch):
    # A connection that sent nothing for a while has waited for its headers since it was accepted (as
    # nginx's client_header_timeout counts): it goes before a later one, whichever sent a byte first.
    monkeypatch.setattr(FrontEnd, "max_connections_per_peer", 2)
    with upstreams(json_app({"ok": 1})) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        server = gw._frontend.server
        first = SlowClient.silent(gw.port)
        second = SlowClient(gw.port, b"POST /api/v1/service/svc/score HTTP/1.1")

        def in_header() -> int:
            return sum(conn.in_header for conn in list(server._conns.values()))

        try:
            assert poll(lambda: in_header() == 1, timeout=5, interval=0.01)
            first.sock.send(b"POST /api/v1/service/svc/score HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            assert poll(lambda: in_header() == 2, timeout=5, interval=0.01)
            assert call(gw)[0] == 200  # the third connection makes room...
            assert poll(lambda: not first.trickle(), timeout=5, interval=0.05)  # ...by closing the first
            assert second.trickle()
        finally:
            first.close()
            second.close()


def test_malformed_request_line_400():
    with gateway() as gw:
        assert raw_exchange(gw.port, b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400 ")


def test_keep_alive_many_requests_one_connection_and_http10_close():
    with upstreams(json_app({"ok": 1})) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
        try:
            for _ in range(5):
                conn.request("POST", "/api/v1/service/svc/score", body=b"{}")
                resp = conn.getresponse()
                assert resp.status == 200 and resp.read() == b'{"ok": 1}' and not resp.will_close
        finally:
            conn.close()
        reply = raw_exchange(gw.port, b"GET /api/v1/service/svc/score HTTP/1.0\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in reply


def test_unread_body_after_401_closes_connection():
    with upstreams(json_app({})) as (up,), gateway() as gw:
        gw.upsert_service(route())
        gw.set_replicas("svc", [up.endpoint("r0")])
        reply = raw_exchange(gw.port, b"POST /api/v1/service/svc/score HTTP/1.1\r\n"
                                      b"Host: x\r\nContent-Length: 4\r\n\r\nbody")
        assert reply.startswith(b"HTTP/1.1 401 ") and b"Connection: close" in reply


def chunked_reply_app(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain")])  # no Content-Length: waitress chunks it
    return [b"part1-", b"part2"]


def test_upstream_chunked_reply_is_reassembled():
    with upstreams(chunked_reply_app) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        for _ in range(2):  # and the keep-alive connection stays usable
            status, headers, body = call(gw)
            assert status == 201 and body == b"part1-part2" and "transfer-encoding" not in headers


def test_replica_restart_on_same_port_is_transparent():
    """A pooled keep-alive connection to a replica that went away is retried once on a fresh connection."""
    first = Upstream(json_app({"gen": 1}))
    port = first.port
    with gateway() as gw:
        try:
            gw.upsert_service(route(AuthPolicy("none")))
            gw.set_replicas("svc", [ReplicaEndpoint("r0", "127.0.0.1", port)])
            assert json.loads(call(gw)[2]) == {"gen": 1}
            assert gw._pool.idle_count() == 1  # the keep-alive connection to generation 1 is pooled
            first.stop()
            second = BackgroundServer(json_app({"gen": 2}), host="127.0.0.1", port=port, threads=4)
            try:
                assert json.loads(call(gw)[2]) == {"gen": 2}
            finally:
                second.stop()
        finally:
            first.stop()


def test_idle_connections_to_replicas_no_longer_routed_are_closed():
    with upstreams(json_app({"ok": 1}), json_app({"ok": 2})) as (a, b), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [a.endpoint("r0")])
        call(gw)
        assert gw._pool.idle_count() == 1
        gw.set_replicas("svc", [b.endpoint("r1")])  # r0 scaled in or replaced
        assert gw._pool.idle_count() == 0
        call(gw)
        assert gw._pool.idle_count() == 1
        gw.remove_service("svc")
        assert gw._pool.idle_count() == 0


def test_upsert_during_in_flight_request_keeps_it_working():
    entered, release = threading.Event(), threading.Event()
    with upstreams(blocking_app(entered, release)) as (up,), gateway() as gw:
        gw.upsert_service(route(AuthPolicy("none")))
        gw.set_replicas("svc", [up.endpoint("r0")])
        results: list = []
        worker = threading.Thread(target=lambda: results.append(call(gw)[0]))
        worker.start()
        try:
            assert entered.wait(timeout=10)
            gw.upsert_service(route(AuthPolicy("none"), max_concurrent_per_replica=2))
            assert gw.stats("svc").in_flight == 1
        finally:
            release.set()
            worker.join(timeout=10)
        assert results == [200] and gw.stats("svc").in_flight == 0 and gw.stats("svc").served == 1
        assert gw.stats("svc").latency_ms_max > 0


def test_stop_ends_open_keep_alive_connections():
    gw = Gateway()
    gw.start()
    conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
    try:
        conn.request("GET", "/api/v1/service/none/score")
        resp = conn.getresponse()
        assert resp.status == 404 and json.loads(resp.read())["message"] == "Service none not found"
        gw.stop()
        conn.sock.settimeout(5)
        assert conn.sock.recv(1) == b""  # closed by the gateway, not left hanging
    finally:
        conn.close()
        gw.stop()
