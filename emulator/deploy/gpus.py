"""Which host GPUs back an emulated replica's GPUs, and what to do when the host has none.

Emulated GPU j on node i is the cluster-wide ordinal i * gpus_per_node + j; it runs on host GPU
(ordinal mod host GPU count). With no host GPU the replica runs on the CPU (policy `cpu-fallback`,
the default) or the deployment fails (policy `require`)."""
from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

from ..settings import GPU_POLICIES

if TYPE_CHECKING:
    from .records import ReplicaRecord


class HostGpus:
    def __init__(self, count: int, policy: str = "cpu-fallback") -> None:
        if policy not in GPU_POLICIES:
            raise ValueError(f"GPU policy {policy!r} is not one of {', '.join(GPU_POLICIES)}")
        self.count = count
        self.policy = policy

    @classmethod
    def detect(cls, policy: str = "cpu-fallback") -> "HostGpus":
        smi = shutil.which("nvidia-smi")
        if smi is None:
            return cls(0, policy)
        try:
            listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return cls(0, policy)
        return cls(sum(1 for line in listing.splitlines() if line.startswith("GPU ")), policy)

    def for_replica(self, replica: "ReplicaRecord") -> tuple[int, ...]:
        if not replica.gpu_ids or self.count == 0:
            return ()
        base = replica.node_index * replica.gpus_per_node
        return tuple(sorted({(base + gpu) % self.count for gpu in replica.gpu_ids}))

    def host_note(self) -> str | None:
        """What `fake-azure status` says about GPUs, when there is something to say."""
        if self.count:
            return None
        if self.policy == "require":
            return "this host has no NVIDIA GPU: deployments given GPUs fail (FAKE_AZURE_GPU_POLICY=require)"
        return ("this host has no NVIDIA GPU: replicas given GPUs run on the CPU, with a warning in their logs "
                "(FAKE_AZURE_GPU_POLICY=cpu-fallback)")

    def shortfall_warning(self, replica_gpus: int) -> str | None:
        if replica_gpus and self.count == 0:
            return ("fake-azure: the emulated cluster gives this service GPUs but this host has no NVIDIA GPU; "
                    "its replicas run on the CPU (FAKE_AZURE_GPU_POLICY=cpu-fallback). Set "
                    "FAKE_AZURE_GPU_POLICY=require to fail such deployments instead.")
        return None
