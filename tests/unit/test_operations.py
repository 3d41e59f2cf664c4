"""Operations.poll: a held poll (waitSeconds) counts once, and a seconds:S policy ends it on time."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from emulator.operations import Operations
from emulator.progress import ProgressPolicy
from emulator.store import Store


def _operations(tmp_path: Path, policy: str) -> tuple[Operations, Store, str]:
    store = Store(tmp_path / "state.db")
    finished: list[str] = []
    ops = Operations(store, lambda: ProgressPolicy.parse(policy),
                     {"thing.create": lambda conn, op: finished.append(op.id)})
    with store.transaction() as conn:
        op_id = ops.start(conn, "ws", "thing.create", "thing", {"status": "Succeeded"})
    return ops, store, op_id


def test_a_held_poll_counts_once_however_often_it_wakes(tmp_path: Path) -> None:
    ops, store, op_id = _operations(tmp_path, "polls:3")
    with store.transaction() as conn:
        other = ops.start(conn, "ws", "thing.create", "other", {"status": "Succeeded", "pending": True})
    held_poll_done = threading.Event()

    def wake_held_polls() -> None:  # another operation resolving wakes every held poll
        while not held_poll_done.wait(0.005):
            ops.resolve(other, {})

    waker = threading.Thread(target=wake_held_polls)
    waker.start()
    try:
        assert ops.poll("ws", op_id, wait_seconds=0.3)["status"] == "Running"
    finally:
        held_poll_done.set()
        waker.join()
    states = [ops.poll("ws", op_id)["status"] for _ in range(3)]
    assert states == ["Running", "Running", "Succeeded"]  # the 4th read ends it, as polls:3 says


def test_a_held_poll_returns_when_a_seconds_policy_ends_the_operation(tmp_path: Path) -> None:
    ops, _, op_id = _operations(tmp_path, "seconds:0.2")
    began = time.monotonic()
    assert ops.poll("ws", op_id, wait_seconds=5)["status"] == "Succeeded"
    assert time.monotonic() - began < 2.0  # woke when the policy's time came, not at the 5 s hold


@pytest.mark.parametrize("policy, elapsed, due", [("seconds:2", 0.5, 1.5), ("seconds:2", 3, 0.0),
                                                  ("polls:2", 9, None), ("immediate", 0, None)])
def test_seconds_until_done(policy: str, elapsed: float, due: float | None) -> None:
    assert ProgressPolicy.parse(policy).seconds_until_done(elapsed) == due


def test_an_outcome_resolved_later_replaces_only_the_fields_it_sets(tmp_path: Path) -> None:
    from emulator.operations import OperationStatus, Outcome

    ops, store, _ = _operations(tmp_path, "immediate")
    with store.transaction() as conn:
        op_id = ops.start(conn, "ws", "thing.create", "later", Outcome(
            pending=True, running_status="Creating", extra={"operationType": "Create"}))
    assert ops.poll("ws", op_id) == {"id": op_id, "name": "thing.create", "target": "later", "status": "Creating",
                                     "state": "Creating", "operationType": "Create"}
    ops.resolve(op_id, Outcome(OperationStatus.FAILED, error={"code": "Boom", "message": "it broke"}))
    assert ops.poll("ws", op_id) == {"id": op_id, "name": "thing.create", "target": "later", "status": "Failed",
                                     "state": "Failed", "operationType": "Create",
                                     "error": {"code": "Boom", "message": "it broke"}}
    assert Outcome.from_wire(Outcome(OperationStatus.SUCCEEDED, extra={"a": 1}).to_wire()) == \
        Outcome(OperationStatus.SUCCEEDED, extra={"a": 1})
