"""Webservice states (the SDK's WebServiceState) and the transitions the engine may make."""
from __future__ import annotations

import enum

from ...errors import InvalidTransition


class ServiceState(str, enum.Enum):
    TRANSITIONING = "Transitioning"
    HEALTHY = "Healthy"
    UNHEALTHY = "Unhealthy"
    UNSCHEDULABLE = "Unschedulable"
    FAILED = "Failed"


_ALLOWED: dict[ServiceState, set[ServiceState]] = {
    ServiceState.TRANSITIONING: {ServiceState.HEALTHY, ServiceState.FAILED, ServiceState.UNHEALTHY,
                                 ServiceState.UNSCHEDULABLE, ServiceState.TRANSITIONING},
    ServiceState.HEALTHY: {ServiceState.TRANSITIONING, ServiceState.UNHEALTHY, ServiceState.FAILED},
    ServiceState.UNHEALTHY: {ServiceState.HEALTHY, ServiceState.TRANSITIONING, ServiceState.FAILED},
    ServiceState.UNSCHEDULABLE: {ServiceState.TRANSITIONING, ServiceState.FAILED},
    ServiceState.FAILED: {ServiceState.TRANSITIONING},
}


def check_transition(current: str, new: ServiceState, name: str) -> ServiceState:
    state = ServiceState(current)
    if new not in _ALLOWED[state]:
        raise InvalidTransition(f"Service {name} is {state.value}; it cannot become {new.value}.",
                                code="Conflict")
    return new
