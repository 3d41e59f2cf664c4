"""The gateway's ordered handler chain.

Every step has the same signature, ``step(ctx) -> Response | None``: returning a ``Response`` ends the
chain early (an error answer). The ``always`` steps run after the chain however it ended (release the
slot, echo request ids, record metrics). ``build_chain`` is the one place that fixes the order.
Nothing here touches sockets except ``proxy`` through ``ctx.pool``, so each step is unit-testable.
The types the steps share with the front end (``Context``, ``Response``, ``Pool``) are in context.py.
"""
from __future__ import annotations

import hmac
import logging
import uuid
from dataclasses import dataclass
from typing import Optional

from . import managed
from .answers import gateway_failure, replica_answer
from .context import MAX_BODY_BYTES, Context, Response, Step, json_error, text_error
from .model import ReplicaEndpoint, ServiceState
from .proxy import UpstreamClosed, UpstreamTimeout, UpstreamUnreachable, strip_hop_by_hop

log = logging.getLogger("emulator.gateway")

PREFIX = "/api/v1/service/"
# gateway sub-path -> replica path
UPSTREAM_PATHS = {"score": "/score", "swagger.json": "/swagger.json", "": "/"}
REQUEST_ID_HEADERS = ("x-request-id", "x-ms-request-id", "x-ms-client-request-id")
# request headers never forwarded to a replica (besides hop-by-hop ones)
_NOT_FORWARDED = frozenset({"authorization", "host", "content-length"})
# response headers the gateway sets itself
_NOT_PASSED_BACK = frozenset({"content-length", "date", "server"} | set(REQUEST_ID_HEADERS))


# --- steps -------------------------------------------------------------------------------------------

def assign_request_id(ctx: Context) -> Optional[Response]:
    ctx.started = ctx.clock()
    ctx.request_id = ctx.headers.get("x-request-id") or str(uuid.uuid4())
    return None


def parse_path(path: str) -> Optional[tuple[str, str]]:
    """``/api/v1/service/<name>/<sub>`` -> (name, replica path), or None when the path is not a route."""
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX):]
    name, _, sub = rest.partition("/")
    if not name or sub not in UPSTREAM_PATHS:
        return None
    return name, UPSTREAM_PATHS[sub]


def resolve_service(ctx: Context) -> Optional[Response]:
    parsed = parse_path(ctx.path)
    if parsed is None:
        return json_error(404, f"No route for path {ctx.path}")
    name, ctx.upstream_path = parsed
    service = ctx.registry.get(name)
    if service is None or service.route.internal:
        return json_error(404, f"Service {name} not found")
    ctx.service = service
    ctx.route = service.route  # one consistent snapshot for this request
    return None


def authenticate(ctx: Context) -> Optional[Response]:
    assert ctx.route is not None
    policy = ctx.route.auth
    if policy.mode == "none":
        return None
    header = ctx.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        return json_error(401, "Missing or malformed Authorization header; "
                               "expected 'Authorization: Bearer <key or token>'")
    if policy.mode == "key":
        given = credential.encode()
        ok = False
        for key in policy.keys:  # compare against every key, constant time each
            if key and hmac.compare_digest(given, key.encode()):
                ok = True
    else:
        try:
            verifier = policy.token_verifier  # set whenever mode is "token" (AuthPolicy checks)
            ok = verifier is not None and bool(verifier(credential))
        except Exception:  # a broken verifier must not turn into a 500 or leak the token
            log.warning("token verifier failed for service %s", ctx.route.name)
            ok = False
    if not ok:
        kind = "key" if policy.mode == "key" else "token"
        return json_error(401, f"Invalid authorization {kind} for {ctx.route.called}")
    return None


def inject_fault(ctx: Context) -> Optional[Response]:
    """Injected faults: answer with a failure without calling a replica, or delay the request.

    Placed after ``authenticate`` so a rejected caller never consumes a fault meant for a real call."""
    if ctx.faults is None or ctx.route is None:
        return None
    fault = ctx.faults.take_request(ctx.scope, ctx.route.name)
    if fault is None:
        return None
    if fault.kind == "fail_requests":
        return gateway_failure(fault.status, ctx.route)
    ctx.sleep(fault.delay_ms / 1000.0)
    return None


def next_version(weights: tuple[tuple[str, int], ...], credit: dict[str, int]) -> Optional[str]:
    """Smooth weighted round-robin (nginx's): each pick adds every version's weight to its credit and takes
    the richest, which pays the total back. Over every ``sum(weights)`` picks each version is chosen exactly
    its weight's times, interleaved; versions with no weight never are. ``credit`` is the caller's state."""
    live = [(name, weight) for name, weight in weights if weight > 0]
    if not live:
        return None
    chosen = None
    for name, weight in live:
        credit[name] = credit.get(name, 0) + weight
        if chosen is None or credit[name] > credit[chosen]:
            chosen = name
    assert chosen is not None
    credit[chosen] -= sum(weight for _, weight in live)
    return chosen


def split_traffic(ctx: Context) -> Optional[Response]:
    """An endpoint's request goes on to one of its versions, by their traffic percentiles; from here on the
    chain handles the version's route (its slots, replicas, timeouts). The caller was authenticated with the
    endpoint's keys, as Azure's endpoint keys score every version."""
    st, route = ctx.service, ctx.route
    assert st is not None and route is not None
    if not route.versions:
        return None
    with st.cond:
        chosen = next_version(route.versions, st.split_credit)
    version = ctx.registry.get(chosen) if chosen is not None else None
    if version is None:  # no share anywhere, or the version's replicas were never published
        return text_error(503, f"No ready replicas for {route.called}")
    ctx.service = version
    ctx.route = version.route
    return None


def read_body(ctx: Context) -> Optional[Response]:
    length = ctx.content_length or 0
    if length > MAX_BODY_BYTES:
        return json_error(413, f"Request body of {length} bytes exceeds the limit of {MAX_BODY_BYTES} bytes")
    body = ctx.read_body(length) if length > 0 else b""
    if len(body) != length:
        # The client half-closed (or dropped) before sending Content-Length bytes: never score a
        # truncated body. body_read stays False, so the front end closes the connection.
        return json_error(400, f"Request body cut short: {len(body)} of {length} bytes (Content-Length) arrived")
    ctx.body = body
    ctx.body_read = True
    return None


def admit(ctx: Context) -> Optional[Response]:
    """Take a concurrency slot, waiting up to max_queue_wait_ms for one (condition variable, no polling).
    Replicas the request could not reach (``ctx.unreachable``) offer it no slot."""
    st, route = ctx.service, ctx.route
    assert st is not None and route is not None
    skip = ctx.unreachable
    with st.cond:
        held = 2 * route.max_concurrent_per_replica * len(st.replicas)
        if route.managed and st.replicas and not st.removed and st.pending() >= held:
            # Azure's router holds at most 2 x max_concurrent_requests_per_instance x instances at once.
            return managed.overloaded()
        if not st.removed and st.free_slots(skip) <= 0:
            ctx.queued = True
            st.queue_waits += 1
            st.waiting += 1
            # A managed deployment's queue is bounded by its request timeout (Azure deprecated maxQueueWait for
            # managed endpoints: only the pending limit above refuses at once).
            wait_ms = route.scoring_timeout_ms if route.managed else route.max_queue_wait_ms
            try:
                st.cond.wait_for(lambda: st.removed or st.free_slots(skip) > 0, timeout=wait_ms / 1000.0)
            finally:
                st.waiting -= 1
        if st.removed:
            return json_error(404, f"{route.called[0].upper()}{route.called[1:]} not found")
        if st.free_slots(skip) <= 0:
            if not any(r not in skip for r in st.replicas):
                return text_error(503, f"No ready replicas for {route.called}")
            if route.managed:
                return managed.timed_out(route.scoring_timeout_ms)
            return gateway_failure(503, route)
        st.reserved += 1
        ctx.reserved = True
    return None


def choose_replica(replicas: list[ReplicaEndpoint], in_flight: dict[str, int], limit: int,
                   cursor: int) -> Optional[ReplicaEndpoint]:
    """Least in-flight among replicas under ``limit`` (all replicas if none is), round-robin among ties."""
    if not replicas:
        return None
    candidates = [r for r in replicas if in_flight.get(r.replica_id, 0) < limit] or replicas
    least = min(in_flight.get(r.replica_id, 0) for r in candidates)
    ties = [r for r in candidates if in_flight.get(r.replica_id, 0) == least]
    return ties[cursor % len(ties)]


def pick_replica(ctx: Context) -> Optional[Response]:
    st, route = ctx.service, ctx.route
    assert st is not None and route is not None
    with st.cond:
        if ctx.reserved:
            st.reserved -= 1
            ctx.reserved = False
        replicas = [r for r in st.replicas if r not in ctx.unreachable] if ctx.unreachable else st.replicas
        choice = choose_replica(replicas, st.in_flight, route.max_concurrent_per_replica, st.rr)
        if choice is None:
            st.cond.notify_all()
            return text_error(503, f"No ready replicas for {route.called}")
        st.rr += 1
        st.in_flight[choice.replica_id] = st.in_flight.get(choice.replica_id, 0) + 1
        ctx.replica = choice
        ctx.publication = st.publication
    return None


def forward_headers(headers: dict[str, str], request_id: str) -> dict[str, str]:
    kept = strip_hop_by_hop(list(headers.items()), _NOT_FORWARDED)
    out = dict(kept)
    out["x-request-id"] = request_id
    return out


def proxy(ctx: Context) -> Optional[Response]:
    """Send the request to the chosen replica. One the request could not reach at all (connect refused,
    or reset before the request was written) cannot have scored it: it goes once to another replica, as
    Envoy's connect-failure retry does, and a refusing replica is ejected (out of rotation until the engine
    publishes the replicas again). A request that may have reached a replica is never sent twice."""
    assert ctx.replica is not None and ctx.route is not None
    target = ctx.upstream_path + ("?" + ctx.query if ctx.query else "")
    timeout_ms = ctx.route.scoring_timeout_ms
    headers = forward_headers(ctx.headers, ctx.request_id)
    retries_left = 1
    while True:
        try:
            status, reply_headers, body = ctx.pool.send(ctx.replica, ctx.method, target, ctx.body, headers,
                                                        timeout_ms / 1000.0)
        except UpstreamTimeout:
            return gateway_failure(504, ctx.route)
        except UpstreamUnreachable as exc:
            _leave_unreachable(ctx, exc.refused)
            if retries_left == 0:
                return gateway_failure(502, ctx.route)
            retries_left -= 1
            no_slot = admit(ctx) or pick_replica(ctx)
            if no_slot is not None:
                return no_slot
            assert ctx.service is not None
            with ctx.service.cond:
                ctx.service.retried += 1
            continue
        except UpstreamClosed:
            return gateway_failure(502, ctx.route)
        answer = Response(status, strip_hop_by_hop(reply_headers, _NOT_PASSED_BACK), body)
        return replica_answer(answer, ctx.route)


def _leave_unreachable(ctx: Context, eject: bool) -> None:
    """Give back the slot held on the replica the request could not reach; eject it when it refused."""
    st, failed = ctx.service, ctx.replica
    assert st is not None and failed is not None
    with st.cond:
        _release_in_flight(st, failed)
        ctx.replica = None
        ctx.unreachable = ctx.unreachable | {failed}
        if eject and st.eject(failed, ctx.publication):
            log.warning("gateway: replica %s of %s refused a connection: out of rotation until republished",
                        failed.replica_id, st.route.name)
        st.cond.notify()


def _release_in_flight(st: ServiceState, replica: ReplicaEndpoint) -> None:
    """One request fewer on ``replica`` (call with ``st.cond`` held)."""
    left = st.in_flight.get(replica.replica_id, 1) - 1
    if left > 0:
        st.in_flight[replica.replica_id] = left
    else:
        st.in_flight.pop(replica.replica_id, None)



# --- always-run steps ----------------------------------------------------------------------------------

def release_slot(ctx: Context) -> Optional[Response]:
    st = ctx.service
    if st is None or not (ctx.reserved or ctx.replica is not None):
        return None
    with st.cond:
        if ctx.reserved:
            st.reserved -= 1
            ctx.reserved = False
        if ctx.replica is not None:
            _release_in_flight(st, ctx.replica)
        # exactly one slot came free: wake one waiter (wait_for re-checks, even after its timeout)
        st.cond.notify()
    return None


def echo_request_ids(ctx: Context) -> Optional[Response]:
    resp = ctx.response
    if resp is None:
        return None
    rid = ctx.request_id or str(uuid.uuid4())
    resp.headers = [(k, v) for k, v in resp.headers if k.lower() not in REQUEST_ID_HEADERS]
    resp.headers.append(("x-request-id", rid))
    resp.headers.append(("x-ms-request-id", ctx.headers.get("x-ms-request-id") or rid))
    resp.headers.append(("x-ms-client-request-id", ctx.headers.get("x-ms-client-request-id") or rid))
    return None


def record_metrics(ctx: Context) -> Optional[Response]:
    st, resp = ctx.service, ctx.response
    if st is None or resp is None:
        return None
    latency_ms = (ctx.clock() - ctx.started) * 1000.0
    with st.cond:
        if resp.status < 400:
            st.served += 1
        else:
            st.failed_by_status[resp.status] = st.failed_by_status.get(resp.status, 0) + 1
        st.latency_ms_sum += latency_ms
        st.latency_ms_max = max(st.latency_ms_max, latency_ms)
    return None


# --- the chain -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chain:
    steps: tuple[Step, ...]
    always: tuple[Step, ...]

    def handle(self, ctx: Context) -> Response:
        try:
            for step in self.steps:
                resp = step(ctx)
                if resp is not None:
                    ctx.response = resp
                    break
            if ctx.response is None:
                ctx.response = json_error(500, "Gateway chain ended without a response")
        except Exception:
            log.exception("gateway step failed (request id %s)", ctx.request_id)
            ctx.response = json_error(500, "Internal gateway error")
        finally:
            for step in self.always:
                try:
                    step(ctx)
                except Exception:
                    log.exception("gateway cleanup step %s failed", getattr(step, "__name__", step))
        assert ctx.response is not None
        return ctx.response


def build_chain() -> Chain:
    """The gateway's order of handling, in one place."""
    return Chain(
        steps=(
            assign_request_id,
            resolve_service,
            authenticate,
            inject_fault,
            split_traffic,
            read_body,
            admit,
            pick_replica,
            proxy,
        ),
        always=(
            release_slot,
            echo_request_ids,
            record_metrics,
        ),
    )
