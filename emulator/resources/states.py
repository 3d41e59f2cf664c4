"""The one state-machine check the resources share (compute provisioning states, webservice states)."""
from __future__ import annotations

import enum
from typing import Callable, Mapping, TypeVar

from ..errors import InvalidTransition

S = TypeVar("S", bound=enum.Enum)


def check_transition(allowed: Mapping[S, set[S]], current: str, new: S, message: Callable[[S, S], str]) -> S:
    """``new`` if ``allowed`` lets a resource in state ``current`` (its stored text) move there; otherwise
    Azure's 409 Conflict with ``message(state, new)``. Text that names no state is a ValueError."""
    state = type(new)(current)
    if new not in allowed[state]:
        # Azure reports a move the resource cannot make now as a plain Conflict.
        raise InvalidTransition(message(state, new), code="Conflict")
    return new
