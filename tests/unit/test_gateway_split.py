"""An AKS endpoint's traffic split in the gateway chain: versions chosen by their percentiles, the endpoint's
keys for every version, versions never reachable by their own path."""
from __future__ import annotations

import json
from collections import Counter

from emulator.gateway import AuthPolicy, ReplicaEndpoint, ServiceRoute
from emulator.gateway import chain as c
from emulator.gateway.model import Registry, ServiceState

KEYS = AuthPolicy("key", ("endpoint-key", "endpoint-key-2"))


class NamedPool:
    """Answers with the replica's id, so a test sees which version scored."""

    def send(self, replica, method, target, body, headers, timeout_s):
        return 200, [("Content-Type", "application/json")], json.dumps(replica.replica_id).encode()


def registry(split: tuple[tuple[str, int], ...]) -> Registry:
    reg = Registry()
    reg.services["ep"] = ServiceState(ServiceRoute("ep", KEYS, versions=split))
    for index, name in enumerate(("ep.blue", "ep.green")):
        state = ServiceState(ServiceRoute(name, AuthPolicy("none"), internal=True))
        state.replicas = [ReplicaEndpoint(name, "127.0.0.1", 9100 + index)]
        reg.services[name] = state
    return reg


def score(reg: Registry, path: str = "/api/v1/service/ep/score", key: str = "endpoint-key") -> c.Response:
    ctx = c.Context(method="POST", path=path, query="", headers={"authorization": f"Bearer {key}"},
                    content_length=2, read_body=lambda n: b"{}"[:n], registry=reg, pool=NamedPool())
    return c.build_chain().handle(ctx)


def test_smooth_round_robin_gives_each_version_its_share_of_every_hundred() -> None:
    credit: dict[str, int] = {}
    picks = [c.next_version((("a", 70), ("b", 30), ("c", 0)), credit) for _ in range(300)]
    assert Counter(picks) == {"a": 210, "b": 90}
    assert Counter(picks[:100]) == {"a": 70, "b": 30}  # exact in every round, not only on average
    assert max(len(run) for run in "".join(picks).replace("b", " ").split()) <= 3  # interleaved, not 70 then 30
    assert c.next_version((("a", 0),), {}) is None


def test_an_endpoint_splits_scoring_requests_between_its_versions() -> None:
    reg = registry((("ep.blue", 70), ("ep.green", 30)))
    answers = Counter()
    for _ in range(100):
        response = score(reg)
        assert response.status == 200
        answers[json.loads(response.body)] += 1
    assert answers == {"ep.blue": 70, "ep.green": 30}
    assert reg.services["ep.green"].snapshot().served == 30  # the version's own metrics count its requests


def test_the_endpoint_keys_guard_every_version_and_versions_have_no_path_of_their_own() -> None:
    reg = registry((("ep.blue", 100),))
    assert score(reg, key="wrong").status == 401
    assert score(reg, path="/api/v1/service/ep.blue/score").status == 404


def test_a_version_without_published_replicas_answers_503() -> None:
    reg = registry((("ep.gone", 100),))
    response = score(reg)
    assert response.status == 503 and b"No ready replicas for service ep" in response.body
