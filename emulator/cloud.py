"""The composition root: everything a request handler may touch, built once per daemon."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .blobs import BlobStore
from .faults import Faults
from .operations import Operations
from .progress import ProgressPolicy
from .settings import DaemonSettings
from .store import Store

if TYPE_CHECKING:
    from .deploy.engine import DeploymentEngine
    from .packaging.packages import Packager
    from .packaging.profiles import Profiler


@dataclass
class Cloud:
    settings: DaemonSettings
    store: Store
    blobs: BlobStore
    token: str
    progress: ProgressPolicy
    clock: Callable[[], float] = time.time
    operations: Operations = field(init=False)
    faults: Faults = field(init=False, default_factory=Faults)  # test-only injected faults (/_emulator/faults)
    engine: "DeploymentEngine" = field(init=False)
    packages: "Packager" = field(init=False)  # Model.package (emulator/packaging)
    profiles: "Profiler" = field(init=False)  # Model.profile
    runtime_note: str = field(init=False, default="")
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        from .packaging import packages, profiles
        from .resources.computes.service import FINISHERS as compute_finishers
        from .resources.services.operations import FINISHERS as service_finishers

        self.operations = Operations(self.store, lambda: self.progress, {**compute_finishers, **service_finishers,
                                     packages.KIND: packages.finish, profiles.KIND: profiles.finish}, self.clock)
        self.engine = self._build_engine()
        self.packages = packages.Packager(self.settings.home, self.store, self.blobs, self.operations,
                                          lambda: self.engine.runtime, self.settings.base_image,
                                          self.settings.docker_pip)
        self.profiles = profiles.Profiler(self.settings.home, self.store, self.blobs, self.operations,
                                          lambda: self.engine.runtime)

    def _build_engine(self) -> "DeploymentEngine":
        from .deploy.engine import DeploymentEngine
        from .deploy.gateways import GatewayPool
        from .deploy.gpus import HostGpus
        from .runtimes.select import select_runtime

        runtime, self.runtime_note = select_runtime(self.settings)
        remote_gpus = runtime.remote_gpu_count()
        gpus = (HostGpus.detect(self.settings.gpu_policy) if remote_gpus is None
                else HostGpus(remote_gpus, self.settings.gpu_policy))
        return DeploymentEngine(
            store=self.store, blobs=self.blobs, operations=self.operations, runtime=runtime,
            gateways=GatewayPool(self.store, self.faults, self.settings.home), gpus=gpus,
            work_dir=self.settings.home, scale_down_delay=self.settings.autoscale_down_delay, faults=self.faults,
            probe_delay_scale=self.settings.probe_delay_scale, runtime_note=self.runtime_note)

    @property
    def runtime_name(self) -> str:
        return self.engine.runtime.name

    def set_progress(self, policy: ProgressPolicy) -> None:
        with self._lock:
            self.progress = policy
