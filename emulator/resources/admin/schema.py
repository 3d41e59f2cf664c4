"""Request schemas of the test-only admin API (/_emulator/...)."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, StringConstraints

from ...faults import MAX_DELAY_MS
from ...validation import Body


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
