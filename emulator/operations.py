"""Long-running operations (provision, delete, later deploy): an id, a status, and a planned outcome.

The outcome is decided when the operation is accepted (a bad VM size is known at once); the
progress policy decides when it becomes visible. Finishing applies the outcome to the resource in
the same transaction that marks the operation done, so a crash never leaves the two disagreeing."""
from __future__ import annotations

import enum
import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Union

from .error_catalog import operation_cancelled
from .errors import NotFound
from .progress import ProgressPolicy
from .store import Store


class OperationStatus(str, enum.Enum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"  # ARM's spelling (compute operations)
    CANCELLED = "Cancelled"  # Model Management's (service operations): the SDK's polling loops end on it

    @property
    def terminal(self) -> bool:
        return self is not OperationStatus.RUNNING


@dataclass
class Outcome:
    """What an operation ends with: decided when it is accepted, or ``pending`` until the engine resolves it."""
    status: OperationStatus | None = None  # None while pending
    error: dict[str, Any] | None = None  # Azure's error payload (error_catalog) of a failed one
    pending: bool = False
    running_status: str | None = None  # what a poll shows while it runs ("Creating", "Deleting"...)
    extra: dict[str, Any] = field(default_factory=dict)  # fields the SDK reads beside the status

    @property
    def succeeded(self) -> bool:
        return self.status is OperationStatus.SUCCEEDED

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "Outcome":
        return cls(status=OperationStatus(data["status"]) if data.get("status") else None, error=data.get("error"),
                   pending=bool(data.get("pending")), running_status=data.get("runningStatus"),
                   extra=dict(data.get("extra") or {}))

    def to_wire(self) -> dict[str, Any]:
        """As stored: only what is set, so a resolution merged over it replaces just the keys it names."""
        wire: dict[str, Any] = {"pending": True} if self.pending else {}
        if self.status is not None:
            wire["status"] = self.status.value
        if self.error is not None:
            wire["error"] = self.error
        if self.running_status is not None:
            wire["runningStatus"] = self.running_status
        if self.extra:
            wire["extra"] = self.extra
        return wire


OutcomeLike = Union[Outcome, Mapping[str, Any]]


def _outcome(value: OutcomeLike) -> Outcome:
    return value if isinstance(value, Outcome) else Outcome.from_wire(value)


@dataclass
class OperationRecord:
    """One row of the operations table, typed; ``to_wire`` is the body a poll returns."""
    id: str
    workspace_id: str
    kind: str
    target: str
    status: OperationStatus
    polls: int
    outcome: Outcome
    created_at: float
    finished_at: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "OperationRecord":
        return cls(id=row["id"], workspace_id=row["workspace_id"], kind=row["kind"], target=row["target"],
                   status=OperationStatus(row["status"]), polls=row["polls"],
                   outcome=Outcome.from_wire(json.loads(row["outcome"])), created_at=row["created_at"],
                   finished_at=row["finished_at"])

    def to_wire(self) -> dict[str, Any]:
        status = self.status.value
        if self.status is OperationStatus.RUNNING:
            # Azure reports the resource's transitional state ("Creating", "Deleting") while running.
            status = self.outcome.running_status or status
        body: dict[str, Any] = {"id": self.id, "name": self.kind, "target": self.target, "status": status,
                                "state": status, **self.outcome.extra}
        if self.status.terminal and self.outcome.error:
            body["error"] = self.outcome.error
        return body


# A finisher applies an operation's outcome (``op.outcome``) to its resource.
Finisher = Callable[[sqlite3.Connection, OperationRecord], None]


class Operations:
    def __init__(self, store: Store, policy: Callable[[], ProgressPolicy], finishers: Mapping[str, Finisher],
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._policy = policy
        self._finishers = finishers
        self._clock = clock
        self._changed = threading.Condition()

    def start(self, conn: sqlite3.Connection, workspace_id: str, kind: str, target: str,
              outcome: OutcomeLike) -> str:
        """Record an operation inside the caller's transaction: its ``outcome`` decided now (status, maybe an
        error), or pending until resolve()."""
        if kind not in self._finishers:
            raise KeyError(f"no finisher for operation kind {kind}")
        op_id = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO operations (id, workspace_id, kind, target, status, polls, outcome, created_at)"
            " VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            (op_id, workspace_id, kind, target, OperationStatus.RUNNING.value, json.dumps(_outcome(outcome).to_wire()),
             self._clock()),
        )
        return op_id

    def poll(self, workspace_id: str, op_id: str, wait_seconds: float = 0.0) -> dict[str, Any]:
        """One poll: counts towards a ``polls:N`` policy and finishes the operation when the policy allows.

        With ``wait_seconds`` the poll is held open until the operation ends or that time passes, so
        a client can follow a long deployment without polling in a tight loop."""
        deadline = time.monotonic() + max(0.0, min(wait_seconds, 30.0))
        counted = False
        while True:
            with self._changed:
                with self._store.transaction() as conn:
                    row = conn.execute("SELECT * FROM operations WHERE id = ? AND workspace_id = ?",
                                       (op_id, workspace_id)).fetchone()
                    if row is None:
                        raise NotFound(f"Operation {op_id} not found", code="OperationNotFound")
                    # A held poll is one poll: wake-ups re-check the outcome without counting again.
                    op = self._advance(conn, OperationRecord.from_row(row), count=not counted)
                counted = True
                remaining = deadline - time.monotonic()
                if op.status.terminal or remaining <= 0:
                    return op.to_wire()
                due = self._policy().seconds_until_done(self._clock() - op.created_at)
                # Nothing notifies when a seconds:S policy's time comes: wake for it.
                self._changed.wait(remaining if due is None else min(remaining, due + 0.001))

    def resolve(self, op_id: str, outcome: OutcomeLike) -> None:
        """Give a pending operation its outcome (a deployment knows it only once replicas start or fail): the
        fields ``outcome`` sets replace the recorded ones."""
        with self._changed:
            with self._store.transaction() as conn:
                row = conn.execute("SELECT outcome FROM operations WHERE id = ?", (op_id,)).fetchone()
                if row is None:
                    return
                merged = Outcome.from_wire({**json.loads(row["outcome"]), **_outcome(outcome).to_wire()})
                merged.pending = False
                conn.execute("UPDATE operations SET outcome = ? WHERE id = ?", (json.dumps(merged.to_wire()), op_id))
            self._changed.notify_all()

    def advance_for_target(self, conn: sqlite3.Connection, workspace_id: str, kind_prefix: str, target: str) -> None:
        """Reading a resource counts as a poll of its pending operation (as refresh_state does in Azure)."""
        for op in self.running_for_target(conn, workspace_id, kind_prefix, target):
            self._advance(conn, op)

    def running_for_target(self, conn: sqlite3.Connection, workspace_id: str, kind_prefix: str,
                           target: str) -> list[OperationRecord]:
        """The operations on ``target`` that have not ended (advance_for_target first to finish what can)."""
        return [OperationRecord.from_row(row) for row in conn.execute(
            "SELECT * FROM operations WHERE workspace_id = ? AND target = ? AND kind LIKE ? AND status = ?",
            (workspace_id, target, kind_prefix + "%", OperationStatus.RUNNING.value))]

    def running_targets(self, conn: sqlite3.Connection, workspace_id: str, kind_prefix: str) -> set[str]:
        """The targets of the workspace with an operation of that kind that has not ended."""
        return {row["target"] for row in conn.execute(
            "SELECT DISTINCT target FROM operations WHERE workspace_id = ? AND kind LIKE ? AND status = ?",
            (workspace_id, kind_prefix + "%", OperationStatus.RUNNING.value))}

    def unfinished(self, conn: sqlite3.Connection, kind_prefix: str) -> list[OperationRecord]:
        """Every operation of that kind that has not ended, oldest first (a restarted daemon takes them up)."""
        return [OperationRecord.from_row(row) for row in conn.execute(
            "SELECT * FROM operations WHERE kind LIKE ? AND status = ? ORDER BY created_at, rowid",
            (kind_prefix + "%", OperationStatus.RUNNING.value))]

    def reopen(self, conn: sqlite3.Connection, op_id: str) -> None:
        """Make an unfinished operation wait for resolve() again (a restarted daemon redoes its work)."""
        row = conn.execute("SELECT outcome FROM operations WHERE id = ?", (op_id,)).fetchone()
        if row is not None:
            outcome = Outcome.from_wire(json.loads(row["outcome"]))
            outcome.pending = True
            conn.execute("UPDATE operations SET outcome = ? WHERE id = ?", (json.dumps(outcome.to_wire()), op_id))

    def cancel_running(self, conn: sqlite3.Connection, workspace_id: str, kind_prefix: str, target: str,
                       reason: str, keep: str | None = None) -> None:
        """End ``target``'s unfinished operations (all but ``keep``) as Cancelled: something newer replaced
        what they were doing, and their outcome must never be applied to it."""
        for op in self.running_for_target(conn, workspace_id, kind_prefix, target):
            if op.id == keep:
                continue
            outcome = op.outcome
            outcome.pending = False
            outcome.status, outcome.error = OperationStatus.CANCELLED, operation_cancelled(reason).payload()
            conn.execute("UPDATE operations SET status = ?, outcome = ?, finished_at = ? WHERE id = ?",
                         (OperationStatus.CANCELLED.value, json.dumps(outcome.to_wire()), self._clock(), op.id))

    def _advance(self, conn: sqlite3.Connection, op: OperationRecord, count: bool = True) -> OperationRecord:
        if op.status.terminal:
            return op
        polls = op.polls + (1 if count else 0)
        now = self._clock()
        if op.outcome.pending or not self._policy().is_done(polls, now - op.created_at):
            conn.execute("UPDATE operations SET polls = ? WHERE id = ?", (polls, op.id))
        else:
            if op.outcome.status is None:
                raise ValueError(f"operation {op.id} was neither pending nor given a status")
            self._finishers[op.kind](conn, op)
            conn.execute("UPDATE operations SET polls = ?, status = ?, finished_at = ? WHERE id = ?",
                         (polls, op.outcome.status.value, now, op.id))
        return OperationRecord.from_row(conn.execute("SELECT * FROM operations WHERE id = ?", (op.id,)).fetchone())
