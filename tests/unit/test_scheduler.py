"""Placement on emulated node pools: Kubernetes' fit rules and its FitError wording."""
from __future__ import annotations

import pytest

from emulator.scheduler import (
    Allocation,
    Node,
    ReplicaRequest,
    Unschedulable,
    aks_allocatable_cpu,
    aks_allocatable_memory_gb,
    place,
)


def pool(count: int, vcpus: int, memory_gb: float, gpus: int) -> list[Node]:
    return [Node.from_vm(f"node-{i}", vcpus, memory_gb, gpus) for i in range(count)]


def test_aks_reserves_capacity_like_aks() -> None:
    assert aks_allocatable_cpu(4) == pytest.approx(4 - 0.12)
    assert aks_allocatable_memory_gb(14) == pytest.approx(14 - (1 + 0.8 + 0.6) - 750 / 1024)


def test_seed_deployment_fits_one_replica_per_gpu_node() -> None:
    placements = place(pool(3, 6, 56, 1), [], ReplicaRequest(cpu=2, memory_gb=4, gpus=1), 3)
    assert sorted(p.node for p in placements) == ["node-0", "node-1", "node-2"]
    assert all(p.gpu_ids == (0,) for p in placements)


def test_gpu_request_on_cpu_cluster_gives_the_schedulers_message() -> None:
    with pytest.raises(Unschedulable) as caught:
        place(pool(3, 4, 14, 0), [], ReplicaRequest(cpu=2, memory_gb=4, gpus=1), 3)
    assert caught.value.message == "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    assert caught.value.unplaced == 3


def test_several_shortfalls_are_counted_and_sorted() -> None:
    with pytest.raises(Unschedulable) as caught:
        place(pool(2, 4, 14, 0), [], ReplicaRequest(cpu=8, memory_gb=64, gpus=1), 1)
    assert caught.value.message == ("0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory, "
                                    "2 Insufficient nvidia.com/gpu.")


def test_replicas_spread_to_the_least_allocated_node() -> None:
    placements = place(pool(2, 8, 32, 0), [], ReplicaRequest(cpu=1, memory_gb=1), 4)
    assert [p.node for p in placements] == ["node-0", "node-1", "node-0", "node-1"]


def test_existing_allocations_hold_their_gpus() -> None:
    nodes = pool(1, 12, 112, 2)
    placements = place(nodes, [Allocation("node-0", 1, 1, (0,))], ReplicaRequest(1, 1, 1), 1)
    assert placements[0].gpu_ids == (1,)
    with pytest.raises(Unschedulable) as caught:
        place(pool(1, 12, 112, 2), [Allocation("node-0", 1, 1, (0, 1))], ReplicaRequest(1, 1, 1), 1)
    assert caught.value.message == "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."


def test_partial_fit_reports_how_many_did_not_fit() -> None:
    with pytest.raises(Unschedulable) as caught:
        place(pool(3, 4, 14, 0), [], ReplicaRequest(cpu=2, memory_gb=4), 7)
    assert caught.value.unplaced == 4
    assert caught.value.message == "0/3 nodes are available: 3 Insufficient cpu."
