"""What travels through the gateway's handler chain: the request's ``Context``, the ``Response`` a step
answers with (and the error answers' shapes), and the replica connection ``Pool`` the proxy step uses.
The front end builds a ``Context`` per request; ``chain.py`` holds the steps and their order."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Protocol

from .model import Registry, ReplicaEndpoint, ServiceRoute, ServiceState

if TYPE_CHECKING:
    from ..faults import Faults

# The largest request body the gateway reads (413 past it).
MAX_BODY_BYTES = 100 * 1024 * 1024


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_error(status: int, message: str) -> Response:
    body = json.dumps({"message": message}).encode()
    return Response(status, [("Content-Type", "application/json")], body)


def text_error(status: int, message: str) -> Response:
    return Response(status, [("Content-Type", "text/plain; charset=utf-8")], message.encode())


class Pool(Protocol):
    def send(self, replica: ReplicaEndpoint, method: str, target: str, body: bytes,
             headers: dict[str, str], timeout_s: float) -> tuple[int, list[tuple[str, str]], bytes]: ...


@dataclass
class Context:
    """One request travelling through the chain."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names
    content_length: Optional[int]
    read_body: Callable[[int], bytes]
    registry: Registry
    pool: Pool
    clock: Callable[[], float] = time.monotonic
    faults: Optional["Faults"] = None  # injected faults (test-only admin API); None: never any
    scope: Optional[str] = None  # the workspace ARM id this gateway serves (faults are workspace-scoped)
    sleep: Callable[[float], None] = time.sleep  # injectable so slow_requests is unit-testable
    started: float = 0.0
    request_id: str = ""
    service: Optional[ServiceState] = None
    route: Optional[ServiceRoute] = None
    upstream_path: str = "/score"
    body: bytes = b""
    body_read: bool = False
    reserved: bool = False
    replica: Optional[ReplicaEndpoint] = None
    # replicas this request could not reach: a retry goes elsewhere
    unreachable: frozenset[ReplicaEndpoint] = frozenset()
    publication: int = 0  # the service's replica publication the replica was chosen from
    queued: bool = False
    response: Optional[Response] = None


Step = Callable[[Context], Optional[Response]]
