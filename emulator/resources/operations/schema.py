"""The long-running operation poll's query."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ...validation import Query


class PollQuery(Query):
    # A held poll (our extension); the daemon holds it 30 s at most whatever is asked.
    waitSeconds: Annotated[float, Field(ge=0, le=3600)] = 0.0
