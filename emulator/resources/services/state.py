"""Webservice states (the SDK's WebServiceState) and the transitions the engine may make."""
from __future__ import annotations

import enum

from .. import states


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
    return states.check_transition(_ALLOWED, current, new, lambda state, new: (
        f"Service {name} is {state.value}; it cannot become {new.value}."))
