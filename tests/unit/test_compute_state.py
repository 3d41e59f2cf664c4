"""The AKS provisioning-state machine: which transitions are allowed, and the error for the others."""
from __future__ import annotations

import itertools

import pytest

from emulator.errors import EmulatorError, InvalidTransition
from emulator.resources.computes.state import ProvisioningState as S
from emulator.resources.computes.state import check_transition

# The whole table, written out independently of the module under test.
ALLOWED = {
    (S.CREATING, S.SUCCEEDED), (S.CREATING, S.FAILED), (S.CREATING, S.DELETING),
    (S.UPDATING, S.SUCCEEDED), (S.UPDATING, S.FAILED), (S.UPDATING, S.DELETING),
    (S.SUCCEEDED, S.UPDATING), (S.SUCCEEDED, S.DELETING),
    (S.FAILED, S.UPDATING), (S.FAILED, S.DELETING),
    (S.CANCELED, S.DELETING),
    (S.DELETING, S.FAILED),
    *((S.UNKNOWN, new) for new in S),
}
ALL_PAIRS = list(itertools.product(S, S))


def test_states_are_the_sdk_provisioning_states() -> None:
    from azureml._restclient.models.rest_client_enums import ProvisioningState as RealProvisioningState

    ours = {s.value for s in S}
    assert ours == {"Unknown", "Updating", "Creating", "Deleting", "Succeeded", "Failed", "Canceled"}
    assert ours == {s.value for s in RealProvisioningState}


def test_states_are_strings() -> None:
    assert S.SUCCEEDED == "Succeeded"
    assert S("Creating") is S.CREATING


@pytest.mark.parametrize("current, new", sorted(ALLOWED), ids=lambda s: s.value)
def test_allowed_transitions_return_the_new_state(current: S, new: S) -> None:
    assert check_transition(current.value, new, "aks-1") is new


@pytest.mark.parametrize("current, new", [p for p in ALL_PAIRS if p not in ALLOWED], ids=lambda s: s.value)
def test_other_transitions_raise(current: S, new: S) -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition(current.value, new, "aks-1")
    exc = info.value
    assert exc.message == (f"Compute aks-1 is in provisioning state {current.value}; it cannot move to "
                           f"{new.value} now.")
    assert exc.status_code == 409
    assert exc.code == "Conflict"
    assert exc.to_body() == {"error": {"code": "Conflict", "statusCode": 409, "message": exc.message}}


def test_no_state_moves_to_itself_except_unknown() -> None:
    for state in S:
        if state is S.UNKNOWN:
            continue
        with pytest.raises(InvalidTransition):
            check_transition(state.value, state, "c")


def test_a_deleting_cluster_cannot_come_back() -> None:
    for new in (S.SUCCEEDED, S.CREATING, S.UPDATING, S.DELETING):
        with pytest.raises(InvalidTransition):
            check_transition("Deleting", new, "c")


def test_unknown_current_state_text_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        check_transition("Provisioning", S.SUCCEEDED, "c")


def test_invalid_transition_is_an_emulator_error_with_class_defaults() -> None:
    assert issubclass(InvalidTransition, EmulatorError)
    plain = InvalidTransition("x")
    assert (plain.code, plain.status_code) == ("InvalidStateTransition", 409)
