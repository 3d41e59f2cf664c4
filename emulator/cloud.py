"""The composition root: everything a request handler may touch, built once per daemon."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from fake_azure.settings import Settings

from .blobs import BlobStore
from .operations import Operations
from .progress import ProgressPolicy
from .store import Store


@dataclass
class Cloud:
    settings: Settings
    store: Store
    blobs: BlobStore
    token: str
    progress: ProgressPolicy
    clock: Callable[[], float] = time.time
    operations: Operations = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        from .resources.computes.service import FINISHERS as compute_finishers

        self.operations = Operations(self.store, lambda: self.progress, {**compute_finishers}, self.clock)

    def set_progress(self, policy: ProgressPolicy) -> None:
        with self._lock:
            self.progress = policy
