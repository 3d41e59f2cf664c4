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
from typing import Any, Callable, Mapping

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


# A finisher applies an operation's outcome to its resource: (conn, operation row, outcome) -> None.
Finisher = Callable[[sqlite3.Connection, sqlite3.Row, dict[str, Any]], None]


class Operations:
    def __init__(self, store: Store, policy: Callable[[], ProgressPolicy], finishers: Mapping[str, Finisher],
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._policy = policy
        self._finishers = finishers
        self._clock = clock
        self._changed = threading.Condition()

    def start(self, conn: sqlite3.Connection, workspace_id: str, kind: str, target: str,
              outcome: dict[str, Any]) -> str:
        """Record an operation inside the caller's transaction; ``outcome`` holds ``status`` and maybe ``error``."""
        if kind not in self._finishers:
            raise KeyError(f"no finisher for operation kind {kind}")
        op_id = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO operations (id, workspace_id, kind, target, status, polls, outcome, created_at)"
            " VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            (op_id, workspace_id, kind, target, OperationStatus.RUNNING.value, json.dumps(outcome), self._clock()),
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
                    row = self._advance(conn, row, count=not counted)
                counted = True
                remaining = deadline - time.monotonic()
                if OperationStatus(row["status"]).terminal or remaining <= 0:
                    return self.render(row)
                due = self._policy().seconds_until_done(self._clock() - row["created_at"])
                # Nothing notifies when a seconds:S policy's time comes: wake for it.
                self._changed.wait(remaining if due is None else min(remaining, due + 0.001))

    def resolve(self, op_id: str, outcome: dict[str, Any]) -> None:
        """Give a pending operation its outcome (a deployment knows it only once replicas start or fail)."""
        with self._changed:
            with self._store.transaction() as conn:
                row = conn.execute("SELECT outcome FROM operations WHERE id = ?", (op_id,)).fetchone()
                if row is None:
                    return
                merged = {**json.loads(row["outcome"]), **outcome}
                merged.pop("pending", None)
                conn.execute("UPDATE operations SET outcome = ? WHERE id = ?", (json.dumps(merged), op_id))
            self._changed.notify_all()

    def advance_for_target(self, conn: sqlite3.Connection, workspace_id: str, kind_prefix: str, target: str) -> None:
        """Reading a resource counts as a poll of its pending operation (as refresh_state does in Azure)."""
        for row in self.running_for_target(conn, workspace_id, kind_prefix, target):
            self._advance(conn, row)

    def running_for_target(self, conn: sqlite3.Connection, workspace_id: str, kind_prefix: str,
                           target: str) -> list[sqlite3.Row]:
        """The operations on ``target`` that have not ended (advance_for_target first to finish what can)."""
        return conn.execute(
            "SELECT * FROM operations WHERE workspace_id = ? AND target = ? AND kind LIKE ? AND status = ?",
            (workspace_id, target, kind_prefix + "%", OperationStatus.RUNNING.value),
        ).fetchall()

    def running_targets(self, conn: sqlite3.Connection, workspace_id: str, kind_prefix: str) -> set[str]:
        """The targets of the workspace with an operation of that kind that has not ended."""
        return {row["target"] for row in conn.execute(
            "SELECT DISTINCT target FROM operations WHERE workspace_id = ? AND kind LIKE ? AND status = ?",
            (workspace_id, kind_prefix + "%", OperationStatus.RUNNING.value))}

    def unfinished(self, conn: sqlite3.Connection, kind_prefix: str) -> list[sqlite3.Row]:
        """Every operation of that kind that has not ended, oldest first (a restarted daemon takes them up)."""
        return conn.execute("SELECT * FROM operations WHERE kind LIKE ? AND status = ? ORDER BY created_at, rowid",
                            (kind_prefix + "%", OperationStatus.RUNNING.value)).fetchall()

    def reopen(self, conn: sqlite3.Connection, op_id: str) -> None:
        """Make an unfinished operation wait for resolve() again (a restarted daemon redoes its work)."""
        row = conn.execute("SELECT outcome FROM operations WHERE id = ?", (op_id,)).fetchone()
        if row is not None:
            conn.execute("UPDATE operations SET outcome = ? WHERE id = ?",
                         (json.dumps({**json.loads(row["outcome"]), "pending": True}), op_id))

    def cancel_running(self, conn: sqlite3.Connection, workspace_id: str, kind_prefix: str, target: str,
                       reason: str, keep: str | None = None) -> None:
        """End ``target``'s unfinished operations (all but ``keep``) as Cancelled: something newer replaced
        what they were doing, and their outcome must never be applied to it."""
        for row in self.running_for_target(conn, workspace_id, kind_prefix, target):
            if row["id"] == keep:
                continue
            outcome = {k: v for k, v in json.loads(row["outcome"]).items() if k != "pending"}
            outcome.update(status=OperationStatus.CANCELLED.value, error=operation_cancelled(reason).payload())
            conn.execute("UPDATE operations SET status = ?, outcome = ?, finished_at = ? WHERE id = ?",
                         (OperationStatus.CANCELLED.value, json.dumps(outcome), self._clock(), row["id"]))

    def _advance(self, conn: sqlite3.Connection, row: sqlite3.Row, count: bool = True) -> sqlite3.Row:
        if OperationStatus(row["status"]).terminal:
            return row
        polls = row["polls"] + (1 if count else 0)
        now = self._clock()
        outcome = json.loads(row["outcome"])
        if outcome.get("pending") or not self._policy().is_done(polls, now - row["created_at"]):
            conn.execute("UPDATE operations SET polls = ? WHERE id = ?", (polls, row["id"]))
        else:
            self._finishers[row["kind"]](conn, row, outcome)
            conn.execute("UPDATE operations SET polls = ?, status = ?, finished_at = ? WHERE id = ?",
                         (polls, outcome["status"], now, row["id"]))
        return conn.execute("SELECT * FROM operations WHERE id = ?", (row["id"],)).fetchone()

    @staticmethod
    def render(row: sqlite3.Row) -> dict[str, Any]:
        outcome = json.loads(row["outcome"])
        status = row["status"]
        if status == OperationStatus.RUNNING.value:
            # Azure reports the resource's transitional state ("Creating", "Deleting") while running.
            status = outcome.get("runningStatus", status)
        body: dict[str, Any] = {"id": row["id"], "name": row["kind"], "target": row["target"], "status": status,
                                "state": status, **outcome.get("extra", {})}
        if row["status"] != OperationStatus.RUNNING.value and outcome.get("error"):
            body["error"] = outcome["error"]
        return body
