"""Readiness probe for a replica's scoring server: ``GET /`` answering 200 ``Healthy``."""
from __future__ import annotations

import enum
import http.client
import time
from typing import Callable

from .address import Address, connect, host_header

POLL_INTERVAL_S = 0.02
# A single request may legitimately wait while the worker runs init(); cap it so a dead
# replica or the deadline is noticed soon after.
MAX_REQUEST_S = 2.0


class ProbeResult(str, enum.Enum):
    READY = "ready"
    DIED = "died"
    TIMEOUT = "timeout"


class _Connection(http.client.HTTPConnection):
    """An HTTP connection to an :data:`~scoring.address.Address` (TCP or a unix socket)."""

    def __init__(self, address: Address, timeout: float) -> None:
        super().__init__(host_header(address), timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = connect(self._address, self.timeout)


def probe_once(address: Address, timeout: float) -> bool:
    """One liveness request; True only for 200 with body ``Healthy``."""
    conn = _Connection(address, timeout=max(timeout, 0.001))
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status == 200 and response.read().strip() == b"Healthy"
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def wait_ready(address: Address, deadline: float, is_alive: Callable[[], bool]) -> ProbeResult:
    """Poll until ready, the replica died, or ``deadline`` (a ``time.monotonic()`` value) passes."""
    while True:
        if not is_alive():
            return ProbeResult.DIED
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return ProbeResult.TIMEOUT
        if probe_once(address, min(remaining, MAX_REQUEST_S)):
            return ProbeResult.READY
        time.sleep(min(POLL_INTERVAL_S, max(deadline - time.monotonic(), 0)))
