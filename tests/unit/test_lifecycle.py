"""The service lifecycle (emulator/deploy/lifecycle.py) on the stub runtime's engine: the API's transitions
(a create, a redeploying update, a delete) are its named transitions, checked against the state machine;
a body written back cannot move a state by itself."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from engine_harness import WS, Harness

from emulator.deploy import lifecycle
from emulator.errors import InvalidTransition
from emulator.operations import OperationStatus, Outcome
from emulator.resources.services import service as services
from emulator.resources.services.state import ServiceState


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    made = Harness(tmp_path)
    yield made
    made.close()


def _state(harness: Harness, name: str) -> tuple[str, str]:
    """The state as the body says it and as the row's column does (they never disagree)."""
    row = services.row(harness.store.read(), WS, name)
    assert row is not None
    return harness.body(name)["state"], row["state"]


def test_create_update_and_delete_move_through_named_transitions(harness: Harness) -> None:
    create = harness.create("svc")
    harness.wait(create)
    assert _state(harness, "svc") == ("Healthy", "Healthy")
    with harness.store.transaction() as conn:
        written = lifecycle.update_begun(conn, WS, harness.body("svc"))
    assert written["state"] == "Transitioning" and _state(harness, "svc") == ("Transitioning", "Transitioning")
    with harness.store.transaction() as conn:
        lifecycle.deploy_operation_finished(conn, WS, "svc", Outcome(OperationStatus.FAILED, error={"code": "X"}))
    assert _state(harness, "svc") == ("Failed", "Failed") and harness.body("svc")["error"] == {"code": "X"}
    with harness.store.transaction() as conn:
        lifecycle.deleted(conn, WS, "svc")
    assert services.row(harness.store.read(), WS, "svc") is None


def test_a_transition_the_state_machine_refuses_is_a_conflict(harness: Harness) -> None:
    harness.wait(harness.create("svc"))
    with harness.store.transaction() as conn:
        lifecycle.crash_looped(conn, WS, "svc")
    assert _state(harness, "svc") == ("Failed", "Failed")
    with pytest.raises(InvalidTransition), harness.store.transaction() as conn:
        lifecycle.restored(conn, WS, "svc")  # Failed -> Healthy is no move of the SDK's state machine
    assert _state(harness, "svc") == ("Failed", "Failed")


def test_a_body_written_back_cannot_move_the_state(harness: Harness) -> None:
    harness.wait(harness.create("svc"))
    body = harness.body("svc")
    body["state"] = ServiceState.FAILED.value
    with pytest.raises(RuntimeError, match="cannot move it"), harness.store.transaction() as conn:
        lifecycle.patched(conn, WS, body)
    assert _state(harness, "svc") == ("Healthy", "Healthy")
