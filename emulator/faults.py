"""Pending injected faults (the test-only ``/_emulator/faults`` API), shared by the gateway and the engine.

One small thread-safe store: the admin API adds faults, the gateway chain (``inject_fault``), the
deploy engine (``fail_next_build``) and compute provisioning (``fail_provisioning``) consume them.
``kill_replica`` is not stored: it acts at once through the engine, so it is not listed here."""
from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any, Optional

from .errors import BadRequest

REQUEST_KINDS = ("fail_requests", "slow_requests")
ONE_SHOT_KINDS = ("fail_next_build", "fail_provisioning")
KINDS = REQUEST_KINDS + ONE_SHOT_KINDS + ("kill_replica",)
MAX_DELAY_MS = 600_000  # a slowed request still ends: ten minutes at most


@dataclass
class Fault:
    id: int
    kind: str
    workspace: Optional[str] = None  # ARM id of the workspace it applies to; None: every workspace
    service: Optional[str] = None
    count: int = 1
    status: int = 503
    delay_ms: int = 0

    def to_body(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _int(payload: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"Fault field {key!r} must be an integer from {low} to {high}, got {value!r}.")
    return value


def parse(payload: dict[str, Any], fault_id: int = 0) -> Fault:
    """A fault from the admin API's JSON body, or a 400 that says what is wrong."""
    kind = payload.get("kind")
    if kind not in KINDS:
        raise BadRequest(f"Unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}.")
    workspace = payload.get("workspace")
    if workspace is not None and not isinstance(workspace, str):
        raise BadRequest("Fault field 'workspace' must be a workspace ARM id (a string).")
    service = payload.get("service")
    if kind in REQUEST_KINDS + ("kill_replica",) and (not isinstance(service, str) or not service):
        raise BadRequest(f"A {kind} fault needs the 'service' it applies to.")
    fault = Fault(id=fault_id, kind=kind, workspace=workspace,
                  service=service if kind in REQUEST_KINDS + ("kill_replica",) else None)
    if kind in REQUEST_KINDS:
        fault.count = _int(payload, "count", 1, 1, 1_000_000)
    if kind == "fail_requests":
        fault.status = _int(payload, "status", 503, 400, 599)
    if kind == "slow_requests":
        fault.delay_ms = _int(payload, "delay_ms", 1000, 0, MAX_DELAY_MS)
    return fault


class Faults:
    """Pending faults; every method is thread-safe and O(pending faults)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, payload: dict[str, Any]) -> Fault:
        fault = parse(payload, 0)
        with self._lock:
            fault.id = next(self._ids)
            if fault.kind != "kill_replica":  # acted on at once by the caller, never pending
                self._pending.append(fault)
        return fault

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_body() for f in self._pending]

    def clear(self) -> int:
        with self._lock:
            cleared, self._pending = len(self._pending), []
        return cleared

    def take_request(self, workspace: Optional[str], service: str) -> Optional[Fault]:
        """The oldest request fault for this service, with one use of it consumed (a copy is returned)."""
        with self._lock:
            for fault in self._pending:
                if fault.kind in REQUEST_KINDS and fault.service == service and _scope_matches(fault, workspace):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._pending.remove(fault)
                    return Fault(fault.id, fault.kind, fault.workspace, fault.service, 1, fault.status,
                                 fault.delay_ms)
        return None

    def take(self, kind: str, workspace: Optional[str]) -> bool:
        """Consume a one-shot fault (``fail_next_build``, ``fail_provisioning``) that applies to ``workspace``."""
        with self._lock:
            for fault in self._pending:
                if fault.kind == kind and _scope_matches(fault, workspace):
                    self._pending.remove(fault)
                    return True
        return False


def _scope_matches(fault: Fault, workspace: Optional[str]) -> bool:
    if fault.workspace is None or workspace is None:
        return True
    return fault.workspace.lower() == workspace.lower()
