"""The webservice state machine shares the compute one's check (emulator/resources/states.py)."""
from __future__ import annotations

import pytest

from emulator.errors import InvalidTransition
from emulator.resources.services.state import ServiceState as S
from emulator.resources.services.state import check_transition


def test_states_are_the_sdk_webservice_states() -> None:
    from azureml._restclient.models.rest_client_enums import WebServiceState

    assert {s.value for s in S} == {s.value for s in WebServiceState}


@pytest.mark.parametrize("current, new", [(S.TRANSITIONING, S.HEALTHY), (S.HEALTHY, S.TRANSITIONING),
                                          (S.UNHEALTHY, S.HEALTHY), (S.FAILED, S.TRANSITIONING)])
def test_allowed_transitions_return_the_new_state(current: S, new: S) -> None:
    assert check_transition(current.value, new, "svc") is new


def test_a_refused_transition_is_a_conflict_naming_the_service() -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition("Failed", S.HEALTHY, "svc")
    assert info.value.to_body() == {"error": {"code": "Conflict", "statusCode": 409,
                                              "message": "Service svc is Failed; it cannot become Healthy."}}


def test_unknown_current_state_text_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        check_transition("Running", S.HEALTHY, "svc")
