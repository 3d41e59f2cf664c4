"""Request schemas of the test-only admin API (/_emulator/...)."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, StringConstraints

from ...faults import MAX_DELAY_MS
from ...validation import Body, Query


class ProgressPut(Body):
    policy: Annotated[str, StringConstraints(max_length=256)]


class FaultPost(Body):
    """A fault to inject (docs/reliability.md); which kinds need a service is the faults module's rule."""

    kind: Literal["fail_requests", "slow_requests", "fail_next_build", "fail_provisioning", "kill_replica"]
    workspace: Optional[Annotated[str, StringConstraints(max_length=1024)]] = None
    service: Optional[Annotated[str, StringConstraints(max_length=255)]] = None
    count: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    status: Annotated[int, Field(ge=400, le=599)] = 503
    delay_ms: Annotated[int, Field(ge=0, le=MAX_DELAY_MS)] = 1000


class ManagedClusterPut(Body):
    """``PUT /_emulator/managedClusters``: an AKS cluster outside any workspace (``fake-azure aks create``)."""

    subscriptionId: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]
    # ARM's rule: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'.
    resourceGroup: Annotated[str, StringConstraints(pattern=r"^[-\w.()]{0,89}[-\w()]$")]
    # AKS's rule: 1-63 letters, digits, '-' and '_', starting and ending with a letter or digit.
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")]
    vmSize: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    nodeCount: Annotated[int, Field(ge=1, le=1000)] = 3
    location: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 ]{1,64}$")] = "eastus"


class ManagedClusterQuery(Query):
    id: Annotated[str, StringConstraints(max_length=1024, pattern=r"^[^\x00-\x1f\x7f]+$")]
