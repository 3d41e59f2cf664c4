"""The loop the supervisor and the autoscaler run on: a daemon thread calling ``tick`` every ``interval``
seconds until ``stop()``. One tick's error is printed and the loop goes on (the other services still
need supervising and scaling)."""
from __future__ import annotations

import threading
from typing import Callable


class Ticker:
    def __init__(self, name: str, tick: Callable[[], None]) -> None:
        self.name = name
        self._tick = tick
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, interval: float) -> None:
        self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True, name=self.name)
        self._thread.start()

    def stop(self) -> None:
        """No tick starts after this; one under way ends by itself."""
        self._stopping.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self, interval: float) -> None:
        while not self._stopping.wait(interval):
            try:
                self._tick()
            except Exception as exc:  # keep going for the other services; say what went wrong
                print(f"fake-azure: {self.name} error: {exc!r}", flush=True)
