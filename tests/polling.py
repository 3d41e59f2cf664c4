"""Waiting in tests without sleeping blindly: poll a check until it holds or a deadline passes."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable


def poll(check: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Call ``check`` until it returns something truthy or the deadline passes (then its last answer)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        result = check()
        if result or time.monotonic() >= deadline:
            return result
        pause.wait(interval)
