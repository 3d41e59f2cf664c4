"""Injected faults: the pending-fault store and the gateway's ``inject_fault`` step (no sockets, no sleeps)."""
from __future__ import annotations

import pytest

from emulator.errors import BadRequest
from emulator.faults import Faults, parse
from emulator.gateway import AuthPolicy, ReplicaEndpoint, ServiceRoute
from emulator.gateway import chain as c
from emulator.gateway.model import Registry, ServiceState

WS_A = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/a"
WS_B = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/b"


class RecordingPool:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, replica, method, target, body, headers, timeout_s):
        self.calls += 1
        return 200, [("Content-Type", "application/json")], b'{"ok": 1}'


def run_chain(faults: Faults | None, scope: str = WS_A, name: str = "svc", auth: str = "none",
              authorization: str = "") -> tuple[c.Response, RecordingPool, list[float]]:
    registry = Registry()
    policy = AuthPolicy("key", ("k1", "k2")) if auth == "key" else AuthPolicy("none")
    state = ServiceState(ServiceRoute(name, policy))
    state.replicas = [ReplicaEndpoint("r0", "127.0.0.1", 9)]
    registry.services[name] = state
    pool, slept = RecordingPool(), []
    headers = {"authorization": authorization} if authorization else {}
    ctx = c.Context(method="POST", path=f"/api/v1/service/{name}/score", query="", headers=headers,
                    content_length=2, read_body=lambda n: b"{}"[:n], registry=registry, pool=pool,
                    clock=iter(range(10**6)).__next__, faults=faults, scope=scope, sleep=slept.append)
    return c.build_chain().handle(ctx), pool, slept


def test_fail_requests_answers_n_times_without_calling_a_replica_then_passes():
    faults = Faults()
    faults.add({"kind": "fail_requests", "service": "svc", "count": 2, "status": 503})
    for _ in range(2):
        response, pool, _ = run_chain(faults)
        assert response.status == 503 and pool.calls == 0
        assert response.body.decode() == "Too many requests for service svc (overloaded)"
    response, pool, _ = run_chain(faults)
    assert response.status == 200 and pool.calls == 1
    assert faults.pending() == []


def test_fail_requests_uses_the_given_status_and_its_text():
    faults = Faults()
    faults.add({"kind": "fail_requests", "service": "svc", "status": 502})
    response, pool, _ = run_chain(faults)
    assert (response.status, response.body.decode(), pool.calls) == (
        502, "Replica closed connection before replying", 0)
    faults.add({"kind": "fail_requests", "service": "svc", "status": 500})
    assert run_chain(faults)[0].body.decode() == "Internal Server Error"


def test_an_injected_504_is_the_real_504() -> None:
    from emulator.gateway.answers import gateway_failure

    faults = Faults()
    faults.add({"kind": "fail_requests", "service": "svc", "status": 504})
    response, pool, _ = run_chain(faults)
    assert pool.calls == 0
    real = gateway_failure(504, ServiceRoute("svc", AuthPolicy("none")))
    assert (response.status, response.body) == (real.status, real.body)
    assert dict(response.headers)["Content-Type"] == dict(real.headers)["Content-Type"] == "application/json"


def test_slow_requests_delay_then_reach_the_replica():
    faults = Faults()
    faults.add({"kind": "slow_requests", "service": "svc", "count": 1, "delay_ms": 250})
    response, pool, slept = run_chain(faults)
    assert response.status == 200 and pool.calls == 1 and slept == [0.25]
    response, pool, slept = run_chain(faults)
    assert slept == []


def test_faults_are_scoped_by_service_and_workspace():
    faults = Faults()
    faults.add({"kind": "fail_requests", "service": "svc", "workspace": WS_B})
    assert run_chain(faults, scope=WS_A)[0].status == 200  # another workspace's service of that name
    assert run_chain(faults, name="other", scope=WS_B)[0].status == 200  # another service
    assert run_chain(faults, scope=WS_B)[0].status == 503


def test_a_rejected_caller_does_not_consume_a_fault():
    faults = Faults()
    faults.add({"kind": "fail_requests", "service": "svc"})
    assert run_chain(faults, auth="key", authorization="Bearer wrong")[0].status == 401
    assert len(faults.pending()) == 1
    assert run_chain(faults, auth="key", authorization="Bearer k1")[0].status == 503


def test_no_fault_store_means_no_faults():
    assert run_chain(None)[0].status == 200


def test_one_shot_faults_are_taken_once_per_matching_workspace():
    faults = Faults()
    faults.add({"kind": "fail_next_build", "workspace": WS_A})
    faults.add({"kind": "fail_provisioning"})
    assert not faults.take("fail_next_build", WS_B)
    assert faults.take("fail_next_build", WS_A)
    assert not faults.take("fail_next_build", WS_A)
    assert faults.take("fail_provisioning", WS_B)  # no workspace: applies to any
    assert not faults.take("fail_provisioning", WS_B)


def test_list_and_clear():
    faults = Faults()
    first = faults.add({"kind": "fail_requests", "service": "svc", "count": 3})
    faults.add({"kind": "fail_next_build"})
    killed = faults.add({"kind": "kill_replica", "service": "svc"})
    assert killed.id > first.id
    pending = faults.pending()
    assert [f["kind"] for f in pending] == ["fail_requests", "fail_next_build"]  # kill_replica acts at once
    assert pending[0]["count"] == 3 and pending[0]["status"] == 503
    assert faults.clear() == 2 and faults.pending() == []


@pytest.mark.parametrize("payload", [
    {"kind": "explode"},
    {"kind": "fail_requests"},
    {"kind": "fail_requests", "service": "svc", "count": 0},
    {"kind": "fail_requests", "service": "svc", "status": 200},
    {"kind": "fail_requests", "service": "svc", "status": "503"},
    {"kind": "slow_requests", "service": "svc", "delay_ms": -1},
    {"kind": "kill_replica"},
    {"kind": "fail_next_build", "workspace": 3},
])
def test_invalid_faults_are_400(payload):
    with pytest.raises(BadRequest):
        parse(payload)
