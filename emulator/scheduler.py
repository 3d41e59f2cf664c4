"""Kubernetes-style placement of replicas on an emulated AKS node pool.

Each node offers its *allocatable* capacity (the VM's size minus AKS's kube-reserved and eviction
reserve); each replica requests cpu, memory and whole nvidia.com/gpu devices. Placement filters
nodes that fit and scores by least allocation, as the default kube-scheduler does; when a replica
fits nowhere the error text is the scheduler's own ("0/3 nodes are available: 3 Insufficient
nvidia.com/gpu.")."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence


def aks_allocatable_cpu(vcpus: int) -> float:
    """Cores left after AKS's kube-reserved CPU (60m for the first core, 40m the second, ...)."""
    reserved_millicores = 0.0
    for core in range(1, vcpus + 1):
        if core == 1:
            reserved_millicores += 60
        elif core == 2:
            reserved_millicores += 40
        elif core <= 4:
            reserved_millicores += 10
        elif core <= 64:
            reserved_millicores += 2.5
        else:
            reserved_millicores += 1.25
    return vcpus - reserved_millicores / 1000


EVICTION_RESERVE_GB = 750 / 1024  # AKS's hard eviction threshold, 750 MiB


def aks_allocatable_memory_gb(memory_gb: float) -> float:
    """Memory left after AKS's regressive kube-reserved memory and the 750 MiB eviction threshold."""
    remaining, reserved = memory_gb, 0.0
    for size, rate in ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (float("inf"), 0.02)):
        portion = min(remaining, size)
        reserved += portion * rate
        remaining -= portion
        if remaining <= 0:
            break
    return memory_gb - reserved - EVICTION_RESERVE_GB


@dataclass
class Node:
    name: str
    cpu: float  # allocatable cores
    memory_gb: float  # allocatable GiB
    gpus: int
    used_cpu: float = 0.0
    used_memory_gb: float = 0.0
    used_gpu_ids: set[int] = field(default_factory=set)

    @classmethod
    def from_vm(cls, name: str, vcpus: int, memory_gb: float, gpus: int) -> "Node":
        return cls(name, aks_allocatable_cpu(vcpus), aks_allocatable_memory_gb(memory_gb), gpus)

    def shortfalls(self, request: "ReplicaRequest") -> list[str]:
        reasons = []
        if request.cpu > self.cpu - self.used_cpu + 1e-9:
            reasons.append("Insufficient cpu")
        if request.memory_gb > self.memory_gb - self.used_memory_gb + 1e-9:
            reasons.append("Insufficient memory")
        if request.gpus > self.gpus - len(self.used_gpu_ids):
            reasons.append("Insufficient nvidia.com/gpu")
        return reasons

    def score(self, request: "ReplicaRequest") -> float:
        """LeastAllocated: the emptier the node after placement, the higher the score."""
        cpu_free = (self.cpu - self.used_cpu - request.cpu) / self.cpu if self.cpu else 0
        memory_free = (self.memory_gb - self.used_memory_gb - request.memory_gb) / self.memory_gb \
            if self.memory_gb else 0
        return (cpu_free + memory_free) / 2

    def take(self, request: "ReplicaRequest") -> list[int]:
        self.used_cpu += request.cpu
        self.used_memory_gb += request.memory_gb
        free = [index for index in range(self.gpus) if index not in self.used_gpu_ids]
        granted = free[:request.gpus]
        self.used_gpu_ids.update(granted)
        return granted


@dataclass(frozen=True)
class ReplicaRequest:
    cpu: float
    memory_gb: float
    gpus: int = 0


@dataclass(frozen=True)
class Placement:
    node: str
    gpu_ids: tuple[int, ...]


@dataclass(frozen=True)
class Allocation:
    """Capacity already held on a node (by another service's replica)."""
    node: str
    cpu: float
    memory_gb: float
    gpu_ids: tuple[int, ...] = ()


class Unschedulable(Exception):
    def __init__(self, message: str, unplaced: int) -> None:
        super().__init__(message)
        self.message = message
        self.unplaced = unplaced


def fit_error(nodes: Sequence[Node], request: ReplicaRequest) -> str:
    histogram: Counter[str] = Counter()
    for node in nodes:
        histogram.update(node.shortfalls(request))
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(histogram.items()))
    return f"0/{len(nodes)} nodes are available: {reasons}."


def place(nodes: Sequence[Node], existing: Iterable[Allocation], request: ReplicaRequest,
          count: int) -> list[Placement]:
    """Place ``count`` replicas; raises Unschedulable with the scheduler's message if one does not fit."""
    by_name = {node.name: node for node in nodes}
    for held in existing:
        node = by_name.get(held.node)
        if node is not None:
            node.used_cpu += held.cpu
            node.used_memory_gb += held.memory_gb
            node.used_gpu_ids.update(held.gpu_ids)
    placements: list[Placement] = []
    for placed in range(count):
        # Ties go to the first node in pool order (its position, not a list search: pools have thousands of nodes).
        feasible = [(position, node) for position, node in enumerate(nodes) if not node.shortfalls(request)]
        if not feasible:
            raise Unschedulable(fit_error(nodes, request), count - placed)
        _, best = max(feasible, key=lambda entry: (entry[1].score(request), -entry[0]))
        placements.append(Placement(best.name, tuple(best.take(request))))
    return placements
