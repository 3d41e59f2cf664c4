"""AKS compute provisioning states (the SDK's ProvisioningState) and the transitions we allow."""
from __future__ import annotations

import enum

from .. import states


class ProvisioningState(str, enum.Enum):
    UNKNOWN = "Unknown"
    UPDATING = "Updating"
    CREATING = "Creating"
    DELETING = "Deleting"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"


_ALLOWED: dict[ProvisioningState, set[ProvisioningState]] = {
    ProvisioningState.CREATING: {ProvisioningState.SUCCEEDED, ProvisioningState.FAILED, ProvisioningState.DELETING},
    ProvisioningState.UPDATING: {ProvisioningState.SUCCEEDED, ProvisioningState.FAILED, ProvisioningState.DELETING},
    ProvisioningState.SUCCEEDED: {ProvisioningState.UPDATING, ProvisioningState.DELETING},
    ProvisioningState.FAILED: {ProvisioningState.UPDATING, ProvisioningState.DELETING},
    ProvisioningState.CANCELED: {ProvisioningState.DELETING},
    ProvisioningState.DELETING: {ProvisioningState.FAILED},
    ProvisioningState.UNKNOWN: set(ProvisioningState),
}


def check_transition(current: str, new: ProvisioningState, name: str) -> ProvisioningState:
    return states.check_transition(_ALLOWED, current, new, lambda state, new: (
        f"Compute {name} is in provisioning state {state.value}; it cannot move to {new.value} now."))
