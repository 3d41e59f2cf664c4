"""Each gateway chain step on a fake context: no sockets, no sleeps."""
from __future__ import annotations

import json
import threading
from typing import Optional

import pytest

from emulator.gateway import AuthPolicy, ReplicaEndpoint, ServiceRoute
from emulator.gateway import chain as c
from emulator.gateway.model import Registry, ServiceState
from emulator.gateway.proxy import UpstreamClosed, UpstreamTimeout, UpstreamUnreachable, strip_hop_by_hop

R0, R1, R2 = (ReplicaEndpoint(f"r{i}", "127.0.0.1", 9000 + i) for i in range(3))


class FakePool:
    def __init__(self, result=None, exc: Optional[Exception] = None) -> None:
        self.result = result or (200, [("Content-Type", "application/json")], b'{"ok": 1}')
        self.exc = exc
        self.calls: list[tuple] = []

    def send(self, replica, method, target, body, headers, timeout_s):
        self.calls.append((replica, method, target, body, headers, timeout_s))
        if self.exc is not None:
            raise self.exc
        return self.result


def make_ctx(route: Optional[ServiceRoute] = None, replicas=(R0,), path="/api/v1/service/svc/score",
             headers=None, body=b"", pool=None, method="POST", query="") -> c.Context:
    registry = Registry()
    if route is not None:
        state = ServiceState(route)
        state.replicas = list(replicas)
        registry.services[route.name] = state
    return c.Context(method=method, path=path, query=query, headers=dict(headers or {}),
                     content_length=len(body), read_body=lambda n: body[:n], registry=registry,
                     pool=pool or FakePool(), clock=iter(range(0, 10**6)).__next__)


def key_route(**kw) -> ServiceRoute:
    return ServiceRoute("svc", AuthPolicy("key", ("primary-key", "secondary-key")), **kw)


def message(resp: c.Response) -> str:
    if resp.headers and dict(resp.headers).get("Content-Type", "").startswith("application/json"):
        return json.loads(resp.body)["message"]
    return resp.body.decode()


def resolved(ctx: c.Context) -> c.Context:
    assert c.resolve_service(ctx) is None
    return ctx


# --- build_chain -----------------------------------------------------------------------------------

def test_build_chain_order_is_explicit():
    chain = c.build_chain()
    assert [s.__name__ for s in chain.steps] == [
        "assign_request_id", "resolve_service", "authenticate", "inject_fault", "split_traffic", "read_body", "admit",
        "pick_replica", "proxy"]
    assert [s.__name__ for s in chain.always] == ["release_slot", "echo_request_ids", "record_metrics"]


# --- assign_request_id ------------------------------------------------------------------------------

def test_request_id_kept_or_generated():
    ctx = make_ctx(headers={"x-request-id": "abc"})
    assert c.assign_request_id(ctx) is None and ctx.request_id == "abc"
    ctx = make_ctx()
    c.assign_request_id(ctx)
    assert len(ctx.request_id) == 36 and ctx.request_id.count("-") == 4


# --- resolve_service ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,upstream", [
    ("/api/v1/service/svc/score", "/score"),
    ("/api/v1/service/svc/swagger.json", "/swagger.json"),
    ("/api/v1/service/svc/", "/"),
])
def test_resolve_known_paths(path, upstream):
    ctx = make_ctx(key_route(), path=path)
    assert c.resolve_service(ctx) is None
    assert ctx.upstream_path == upstream and ctx.route.name == "svc" and ctx.service is not None


@pytest.mark.parametrize("path", ["/api/v1/service/nope/score", "/api/v1/service/svc/other", "/score",
                                  "/api/v1/service//score"])
def test_resolve_unknown_is_404_json(path):
    resp = c.resolve_service(make_ctx(key_route(), path=path))
    assert resp is not None and resp.status == 404 and message(resp)


# --- authenticate --------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["Bearer primary-key", "Bearer secondary-key", "bearer primary-key"])
def test_key_auth_accepts_either_key(header):
    assert c.authenticate(resolved(make_ctx(key_route(), headers={"authorization": header}))) is None


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong"}, {"authorization": "primary-key"},
                                     {"authorization": "Basic primary-key"}, {"authorization": "Bearer "}])
def test_key_auth_rejects_without_leaking_key(headers):
    resp = c.authenticate(resolved(make_ctx(key_route(), headers=headers)))
    assert resp is not None and resp.status == 401
    assert b"primary-key" not in resp.body and b"wrong" not in resp.body


def test_token_auth_uses_verifier():
    seen = []
    route = ServiceRoute("svc", AuthPolicy("token", token_verifier=lambda t: seen.append(t) or t == "good"))
    assert c.authenticate(resolved(make_ctx(route, headers={"authorization": "Bearer good"}))) is None
    resp = c.authenticate(resolved(make_ctx(route, headers={"authorization": "Bearer bad"})))
    assert resp.status == 401 and seen == ["good", "bad"]


def test_token_verifier_exception_is_401():
    def boom(token):
        raise RuntimeError("x")
    route = ServiceRoute("svc", AuthPolicy("token", token_verifier=boom))
    assert c.authenticate(resolved(make_ctx(route, headers={"authorization": "Bearer t"}))).status == 401


def test_auth_none_passes():
    route = ServiceRoute("svc", AuthPolicy("none"))
    assert c.authenticate(resolved(make_ctx(route))) is None


def test_auth_policy_validation_and_repr_hides_keys():
    with pytest.raises(ValueError):
        AuthPolicy("basic")
    with pytest.raises(ValueError):
        AuthPolicy("token")
    assert "primary-key" not in repr(AuthPolicy("key", ("primary-key",)))


# --- read_body ----------------------------------------------------------------------------------------

def test_read_body_reads_declared_length():
    ctx = make_ctx(key_route(), body=b'{"data": 1}')
    assert c.read_body(ctx) is None and ctx.body == b'{"data": 1}'


def test_read_body_too_large_is_413_without_reading():
    ctx = make_ctx(key_route())
    ctx.content_length = c.MAX_BODY_BYTES + 1
    ctx.read_body = lambda n: pytest.fail("must not read")
    resp = c.read_body(ctx)
    assert resp.status == 413 and str(c.MAX_BODY_BYTES) in message(resp)


# --- admit ------------------------------------------------------------------------------------------

def test_admit_reserves_a_slot():
    ctx = resolved(make_ctx(key_route()))
    assert c.admit(ctx) is None and ctx.reserved and ctx.service.reserved == 1 and not ctx.queued


def test_admit_overloaded_after_queue_wait():
    ctx = resolved(make_ctx(key_route(max_queue_wait_ms=1)))
    ctx.service.in_flight["r0"] = 1
    resp = c.admit(ctx)
    assert resp.status == 503 and resp.body == b"Too many requests for service svc (overloaded)"
    assert ctx.queued and not ctx.reserved and ctx.service.queue_waits == 1


def test_admit_no_ready_replicas():
    ctx = resolved(make_ctx(key_route(max_queue_wait_ms=0), replicas=()))
    resp = c.admit(ctx)
    assert resp.status == 503 and resp.body == b"No ready replicas for service svc"


def test_a_v2_deployments_route_is_named_as_its_users_know_it():
    """Found by a probe: a v2 deployment restarting answered 503 "No ready replicas for service kcpu~blue",
    the core record's name; its route names the deployment and its endpoint."""
    from emulator.deploy.gateways import route_for

    body = {"name": "kcpu~blue", "computeType": "AKS", "fakeAzure": {"frontEnd": "v2", "endpoint": None}}
    route = route_for(body, {"primaryKey": "k1", "secondaryKey": "k2"})
    ctx = resolved(make_ctx(route, replicas=(), path="/api/v1/service/kcpu~blue/score"))
    resp = c.admit(ctx)
    assert resp.status == 503 and resp.body == b"No ready replicas for deployment blue of endpoint kcpu"
    assert route_for({**body, "name": "svc", "fakeAzure": {}}, {}).called == "service svc"


def test_admit_counts_concurrency_per_replica():
    ctx = resolved(make_ctx(key_route(max_concurrent_per_replica=2, max_queue_wait_ms=0), replicas=(R0, R1)))
    ctx.service.in_flight.update({"r0": 2, "r1": 1})
    assert c.admit(ctx) is None  # r1 has one free slot
    second = make_ctx(key_route(max_queue_wait_ms=0))
    second.service, second.route = ctx.service, ctx.route
    assert c.admit(second).status == 503  # that slot is now reserved


def test_admit_wakes_when_slot_released():
    ctx = resolved(make_ctx(key_route(max_queue_wait_ms=10_000)))
    holder = make_ctx(key_route())
    holder.service, holder.replica = ctx.service, R0
    ctx.service.in_flight["r0"] = 1
    result: list = []
    waiter = threading.Thread(target=lambda: result.append(c.admit(ctx)))
    waiter.start()
    with ctx.service.cond:  # wait (condition-based) until the waiter is queued
        ctx.service.cond.wait_for(lambda: ctx.service.queue_waits == 1, timeout=5)
    c.release_slot(holder)
    waiter.join(timeout=5)
    assert result == [None] and ctx.reserved


def test_admit_wakes_when_replica_appears():
    ctx = resolved(make_ctx(key_route(max_queue_wait_ms=10_000), replicas=()))
    result: list = []
    waiter = threading.Thread(target=lambda: result.append(c.admit(ctx)))
    waiter.start()
    st = ctx.service
    with st.cond:
        st.cond.wait_for(lambda: st.queue_waits == 1, timeout=5)
        st.replicas = [R0]
        st.cond.notify_all()
    waiter.join(timeout=5)
    assert result == [None]


def test_admit_on_removed_service_is_404():
    ctx = resolved(make_ctx(key_route()))
    ctx.service.removed = True
    assert c.admit(ctx).status == 404


# --- choose / pick -----------------------------------------------------------------------------------

def test_choose_least_in_flight():
    assert c.choose_replica([R0, R1, R2], {"r0": 1, "r1": 0, "r2": 1}, 4, 0) is R1


def test_choose_round_robin_among_ties():
    picks = [c.choose_replica([R0, R1, R2], {}, 1, cursor).replica_id for cursor in range(6)]
    assert picks == ["r0", "r1", "r2", "r0", "r1", "r2"]


def test_choose_none_without_replicas():
    assert c.choose_replica([], {}, 1, 0) is None


def test_pick_consumes_reservation_and_counts_in_flight():
    ctx = resolved(make_ctx(key_route(), replicas=(R0, R1)))
    c.admit(ctx)
    assert c.pick_replica(ctx) is None
    assert ctx.replica is R0 and not ctx.reserved and ctx.service.reserved == 0 and ctx.service.in_flight == {"r0": 1}
    c.release_slot(ctx)
    assert ctx.service.in_flight == {}


def test_pick_after_replicas_vanished_is_503():
    ctx = resolved(make_ctx(key_route()))
    c.admit(ctx)
    ctx.service.replicas = []
    resp = c.pick_replica(ctx)
    assert resp.status == 503 and b"No ready replicas" in resp.body and ctx.service.reserved == 0


# --- proxy ---------------------------------------------------------------------------------------------

def ready(ctx: c.Context) -> c.Context:
    c.assign_request_id(ctx)
    resolved(ctx)
    c.read_body(ctx)
    ctx.replica = R0
    return ctx


def test_proxy_forwards_and_filters_headers():
    pool = FakePool((500, [("Content-Type", "text/plain"), ("Connection", "keep-alive"),
                           ("Transfer-Encoding", "chunked"), ("X-Custom", "1"), ("Content-Length", "4")], b"boom"))
    ctx = ready(make_ctx(key_route(scoring_timeout_ms=1234), pool=pool, body=b"{}", query="a=1",
                         headers={"authorization": "Bearer primary-key", "content-type": "application/json",
                                  "connection": "keep-alive, x-drop", "x-drop": "1", "host": "gw",
                                  "x-ms-client-request-id": "cid", "te": "trailers"}))
    resp = c.proxy(ctx)
    replica, method, target, body, headers, timeout = pool.calls[0]
    assert (replica, method, target, body, timeout) == (R0, "POST", "/score?a=1", b"{}", 1.234)
    assert headers == {"content-type": "application/json", "x-ms-client-request-id": "cid",
                       "x-request-id": ctx.request_id}
    assert resp.status == 500 and resp.body == b"boom"
    assert resp.headers == [("Content-Type", "text/plain"), ("X-Custom", "1")]


def test_proxy_timeout_is_504():
    ctx = ready(make_ctx(key_route(scoring_timeout_ms=50), pool=FakePool(exc=UpstreamTimeout("t"))))
    resp = c.proxy(ctx)
    assert resp.status == 504 and message(resp) == "Request exceeded scoring timeout of 50 ms"


def test_proxy_closed_is_502():
    ctx = ready(make_ctx(key_route(), pool=FakePool(exc=UpstreamClosed("reset"))))
    resp = c.proxy(ctx)
    assert resp.status == 502 and resp.body == b"Replica closed connection before replying"


class ReplicaPool(FakePool):
    """Per replica: an exception to raise, else the reply; ``on_send`` runs first (the engine acting meanwhile)."""

    def __init__(self, failures: dict, on_send=None) -> None:
        super().__init__()
        self.failures = failures
        self.on_send = on_send

    def send(self, replica, method, target, body, headers, timeout_s):
        self.calls.append((replica, method, target, body, headers, timeout_s))
        if self.on_send is not None:
            self.on_send(replica)
        exc = self.failures.get(replica.replica_id)
        if exc is not None:
            raise exc
        return self.result


def run_chain(pool, replicas=(R0, R1), **route) -> tuple[c.Response, c.Context]:
    ctx = make_ctx(key_route(**route), replicas=replicas, headers={"authorization": "Bearer primary-key"},
                   pool=pool, body=b"{}")
    return c.build_chain().handle(ctx), ctx


def test_a_refused_request_goes_once_to_another_replica_and_the_refusing_one_is_ejected():
    pool = ReplicaPool({"r0": UpstreamUnreachable("refused", refused=True)})
    resp, ctx = run_chain(pool)  # round-robin picks r0 first
    st = ctx.service
    assert resp.status == 200 and [call[0] for call in pool.calls] == [R0, R1]
    assert pool.calls[0][1:] == pool.calls[1][1:]  # the same request, headers and body
    assert st.replicas == [R1] and st.ejected == 1 and st.retried == 1
    assert st.in_flight == {} and st.reserved == 0 and st.snapshot().served == 1
    resp, _ = run_chain(pool)
    assert resp.status == 200 and pool.calls[-1][0] == R1  # r0 is out of rotation: no second refusal


def test_a_request_reset_before_it_was_written_is_retried_but_the_replica_stays():
    pool = ReplicaPool({"r0": UpstreamUnreachable("reset while sending", refused=False)})
    resp, ctx = run_chain(pool)
    assert resp.status == 200 and [call[0] for call in pool.calls] == [R0, R1]
    assert ctx.service.replicas == [R0, R1] and ctx.service.ejected == 0 and ctx.service.in_flight == {}


def test_a_request_that_may_have_reached_the_replica_is_never_sent_again():
    pool = ReplicaPool({"r0": UpstreamClosed("reset after the request was written")})
    resp, ctx = run_chain(pool)
    assert resp.status == 502 and resp.body == b"Replica closed connection before replying"
    assert [call[0] for call in pool.calls] == [R0] and ctx.service.replicas == [R0, R1]


def test_a_request_is_retried_only_once():
    refused = UpstreamUnreachable("refused", refused=True)
    pool = ReplicaPool({"r0": refused, "r1": refused, "r2": refused})
    resp, ctx = run_chain(pool, replicas=(R0, R1, R2))
    tried = [call[0] for call in pool.calls]
    assert resp.status == 502 and len(tried) == 2 and len(set(tried)) == 2
    assert ctx.service.replicas == [r for r in (R0, R1, R2) if r not in tried]
    assert ctx.service.in_flight == {} and ctx.service.reserved == 0


def test_a_refused_request_with_no_other_replica_is_503_no_ready_replicas():
    pool = ReplicaPool({"r0": UpstreamUnreachable("refused", refused=True)})
    resp, ctx = run_chain(pool, replicas=(R0,), max_queue_wait_ms=0)
    assert resp.status == 503 and resp.body == b"No ready replicas for service svc"
    assert [call[0] for call in pool.calls] == [R0] and ctx.service.replicas == [] and ctx.service.in_flight == {}


def test_the_retry_waits_for_a_free_slot_on_the_other_replicas():
    """Every other replica busy: the retry queues (max_queue_wait_ms) like any request, then overloaded."""
    pool = ReplicaPool({"r0": UpstreamUnreachable("refused", refused=True)})
    ctx = make_ctx(key_route(max_queue_wait_ms=1), replicas=(R0, R1), headers={"authorization": "Bearer primary-key"},
                   pool=pool, body=b"{}")
    ctx.registry.services["svc"].in_flight["r1"] = 1  # r1 serves another request
    resp = c.build_chain().handle(ctx)
    assert resp.status == 503 and resp.body == b"Too many requests for service svc (overloaded)"
    assert [call[0] for call in pool.calls] == [R0] and ctx.service.in_flight == {"r1": 1}


def test_a_replica_republished_meanwhile_is_not_ejected():
    """The engine restarted r0 at the same address between the pick and the refusal: its word wins."""
    holder: list = []

    def republish(replica):
        st = holder[0]
        with st.cond:
            st.replicas = [R0, R1]
            st.publication += 1

    pool = ReplicaPool({"r0": UpstreamUnreachable("refused", refused=True)}, on_send=republish)
    ctx = make_ctx(key_route(), replicas=(R0, R1), headers={"authorization": "Bearer primary-key"}, pool=pool,
                   body=b"{}")
    holder.append(ctx.registry.services["svc"])
    resp = c.build_chain().handle(ctx)
    assert resp.status == 200 and [call[0] for call in pool.calls] == [R0, R1]
    assert ctx.service.replicas == [R0, R1] and ctx.service.ejected == 0


def test_strip_hop_by_hop():
    headers = [("Connection", "close, X-A"), ("X-A", "1"), ("Upgrade", "h2"), ("X-B", "2")]
    assert strip_hop_by_hop(headers) == [("X-B", "2")]


# --- always steps ----------------------------------------------------------------------------------------

def test_echo_request_ids_replaces_replica_values():
    ctx = make_ctx(key_route(), headers={"x-request-id": "rid", "x-ms-client-request-id": "cid"})
    c.assign_request_id(ctx)
    ctx.response = c.Response(200, [("X-Request-Id", "other"), ("X-Ms-Request-Id", "other")], b"")
    c.echo_request_ids(ctx)
    assert ctx.response.headers == [("x-request-id", "rid"), ("x-ms-request-id", "rid"),
                                    ("x-ms-client-request-id", "cid")]


def test_record_metrics_counts_by_status_and_latency():
    ctx = resolved(make_ctx(key_route()))
    c.assign_request_id(ctx)  # clock -> 0
    ctx.response = c.Response(200, [], b"")
    c.record_metrics(ctx)  # clock -> 1 s later
    ctx.response = c.Response(503, [], b"")
    c.record_metrics(ctx)
    stats = ctx.service.snapshot()
    assert stats.served == 1 and stats.failed_by_status == {503: 1} and stats.latency_ms_max == 2000.0


def test_release_slot_is_noop_without_service():
    assert c.release_slot(make_ctx()) is None


# --- the whole chain on fakes ---------------------------------------------------------------------------

def test_chain_happy_path_releases_slot_and_records():
    pool = FakePool()
    ctx = make_ctx(key_route(), headers={"authorization": "Bearer primary-key"}, pool=pool, body=b"{}")
    resp = c.build_chain().handle(ctx)
    assert resp.status == 200 and resp.body == b'{"ok": 1}' and len(pool.calls) == 1
    stats = ctx.service.snapshot()
    assert stats.in_flight == 0 and stats.served == 1 and ctx.service.reserved == 0
    assert ("x-request-id", ctx.request_id) in resp.headers


def test_chain_step_exception_is_500_and_slot_released():
    ctx = make_ctx(key_route(), headers={"authorization": "Bearer primary-key"}, pool=FakePool(exc=ValueError("bug")))
    resp = c.build_chain().handle(ctx)
    assert resp.status == 500 and ctx.service.snapshot().in_flight == 0
    assert ctx.service.snapshot().failed_by_status == {500: 1}


def test_chain_stops_at_first_error():
    pool = FakePool()
    ctx = make_ctx(key_route(), pool=pool)
    assert c.build_chain().handle(ctx).status == 401 and pool.calls == []
