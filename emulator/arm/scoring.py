"""Scoring an SDK v2 online endpoint (no Flask here): the endpoint's key or aml token checked, a deployment
chosen (the ``azureml-model-deployment`` header, else the live traffic split), the request sent on to that
deployment's route on the gateway (which queues, times out and balances over its replicas), and a copy to
the mirrored deployment for its share of the requests that named none (exactly that share of every 100).

A deployment's gateway route answers as Azure's inference router does (emulator/gateway/managed.py): the
model's non-200 as 424, an overload as 429, the scoring timeout as 408; they pass through here unchanged."""
from __future__ import annotations

import hmac
import json
import sqlite3
import threading
from dataclasses import dataclass

import requests

from ..deploy import tokens
from ..deploy.records import ReplicaState, replicas_of
from ..error_catalog import (
    endpoint_deployment_not_found,
    endpoint_has_no_live_deployment,
    scoring_unauthorized,
)
from ..errors import NotFound, Unauthorized
from ..resources.services import service as services
from ..resources.services.state import ServiceState
from . import endpoints
from .deployments import core_name

DEPLOYMENT_HEADER = "azureml-model-deployment"
_NOT_SERVING = (ServiceState.FAILED.value, ServiceState.UNSCHEDULABLE.value)
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "authorization",
                "proxy-authorization", "te", "trailer", "upgrade"}


@dataclass(frozen=True)
class Target:
    deployment: str
    scoring_uri: str  # the deployment's route on the gateway
    key: str  # what the gateway's route is guarded by (the endpoint's primary key)
    timeout_s: float  # past the route's own scoring timeout: the gateway answers first


class TrafficSplit:
    """Smooth weighted round-robin per endpoint: over every 100 requests each deployment gets exactly its
    percent, interleaved (not a burst of one, then the other)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: dict[str, dict[str, int]] = {}
        self._mirrored: dict[str, int] = {}  # requests seen per endpoint, for the mirror share

    def pick(self, endpoint_id: str, traffic: dict[str, int]) -> str | None:
        live = {name: percent for name, percent in sorted(traffic.items()) if percent > 0}
        if not live:
            return None
        with self._lock:
            current = self._current.setdefault(endpoint_id, {})
            for name, percent in live.items():
                current[name] = current.get(name, 0) + percent
            chosen = max(live, key=lambda name: current[name])
            current[chosen] -= sum(live.values())
            for gone in set(current) - set(live):
                del current[gone]
        return chosen

    def mirror_due(self, endpoint_id: str, percent: int) -> bool:
        """Whether this request is one of the mirrored ``percent`` (exactly that share of every 100)."""
        with self._lock:
            seen = self._mirrored.get(endpoint_id, 0)
            self._mirrored[endpoint_id] = seen + 1
        return (seen + 1) * percent // 100 > seen * percent // 100


SPLIT = TrafficSplit()
_local = threading.local()


def _session() -> requests.Session:
    # One keep-alive session per listener thread: the gateway connection is reused across requests.
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False  # loopback: no proxy from the environment
    return session


def authorize(row: sqlite3.Row, authorization: str | None, workspace_id: str, entra_token: str = "") -> None:
    """The endpoint's key (key auth), one of its aml tokens (aml_token auth), or for aad_token the caller's
    Entra token for ml.azure.com (``entra_token``: what the managed-identity endpoint hands out here), as
    ``Bearer``; 401 otherwise."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized.of(scoring_unauthorized(row["name"]))
    presented = presented.strip()
    mode = json.loads(row["body"])["properties"]["authMode"]
    if mode == "Key":
        ok = any(hmac.compare_digest(presented.encode(), key.encode())
                 for key in (row["primary_key"], row["secondary_key"]))
    else:  # AMLToken; AADToken has no Entra ID behind it here: its endpoints take the aml token too
        ok = tokens.verifier(row["token_secret"], f"{workspace_id}/onlineEndpoints/{row['name']}")(presented)
        if mode == "AADToken" and entra_token:  # the client sends its credential's token (azure-ai-ml's invoke)
            ok = ok or hmac.compare_digest(presented.encode(), entra_token.encode())
    if not ok:
        raise Unauthorized.of(scoring_unauthorized(row["name"]))


def _target(conn: sqlite3.Connection, workspace_id: str, row: sqlite3.Row, deployment: str) -> Target | None:
    core = services.row(conn, workspace_id, core_name(row["name"], deployment))
    body = json.loads(core["body"]) if core is not None else {}
    # A failed deployment serves nothing (its route is gone, and the gateway's answer would name the core
    # record), unless it is an update that failed while the old replicas went on serving.
    if core is None or not body.get("scoringUri"):
        return None
    if core["state"] in _NOT_SERVING and not any(r.state is ReplicaState.RUNNING for r in replicas_of(body)):
        return None
    return Target(deployment, body["scoringUri"], row["primary_key"], int(body["scoringTimeoutMs"]) / 1000 + 30)


def route(conn: sqlite3.Connection, workspace_id: str, endpoint: str, authorization: str | None,
          named: str | None, entra_token: str = "") -> tuple[Target, Target | None]:
    """Where a scoring request goes (and where its mirrored copy goes, if it gets one)."""
    row = endpoints.record(conn, workspace_id, endpoint)
    authorize(row, authorization, workspace_id, entra_token)
    props = json.loads(row["body"])["properties"]
    if named:
        spelled = {d.lower(): d for d in endpoints.deployment_names(conn, workspace_id, endpoint)}
        target = _target(conn, workspace_id, row, spelled.get(named.lower(), named))
        if target is None:
            raise NotFound.of(endpoint_deployment_not_found(named, endpoint))
        return target, None  # a request that names its deployment is never mirrored
    chosen = SPLIT.pick(f"{workspace_id}/{endpoint}", props.get("traffic") or {})
    target = _target(conn, workspace_id, row, chosen) if chosen else None
    if target is None:
        raise NotFound.of(endpoint_has_no_live_deployment(endpoint))
    mirror = None
    for name, percent in (props.get("mirrorTraffic") or {}).items():  # one deployment at most (Azure's rule)
        if percent and SPLIT.mirror_due(f"{workspace_id}/{endpoint}", percent):
            mirror = _target(conn, workspace_id, row, name)
    return target, mirror


def forward(target: Target, method: str, query: str, headers: dict[str, str],
            body: bytes) -> tuple[int, bytes, dict[str, str]]:
    """Send the request to the deployment's route; (status, body, headers) as the endpoint answers."""
    sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
    sent["Authorization"] = f"Bearer {target.key}"
    url = target.scoring_uri + (f"?{query}" if query else "")
    answer = _session().request(method, url, data=body, headers=sent, timeout=target.timeout_s)
    returned = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS}
    returned[DEPLOYMENT_HEADER] = target.deployment
    return answer.status_code, answer.content, returned


def mirror(target: Target, method: str, query: str, headers: dict[str, str], body: bytes) -> None:
    """The mirrored copy, sent in the background; its answer is dropped, as Azure drops it."""
    def send() -> None:
        try:
            forward(target, method, query, headers, body)
        except requests.RequestException:
            pass

    threading.Thread(target=send, daemon=True, name="mirror-traffic").start()
