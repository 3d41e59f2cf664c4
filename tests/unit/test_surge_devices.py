"""Whether an update's new GPU replicas may start beside the old ones: only where none of them would be given a
host GPU an old one holds (emulated GPUs map onto host GPUs modulo their count, emulator/deploy/gpus.py)."""
from __future__ import annotations

from pathlib import Path

from stub_runtime import StubRuntime

from emulator.deploy.folders import ServiceFolders
from emulator.deploy.gpus import HostGpus
from emulator.deploy.launcher import ReplicaLauncher
from emulator.deploy.records import ReplicaRecord


def _on(node: int, gpu: int = 0) -> ReplicaRecord:
    return ReplicaRecord(id=f"r{node}{gpu}", node=f"node-{node}", node_index=node, gpus_per_node=1, gpu_ids=[gpu])


def _launcher(tmp_path: Path, host_gpus: int) -> ReplicaLauncher:
    return ReplicaLauncher(StubRuntime(), HostGpus(host_gpus), ServiceFolders(tmp_path))


def test_replicas_on_other_nodes_share_no_device_when_the_host_has_enough(tmp_path: Path) -> None:
    assert not _launcher(tmp_path, 3).share_devices([_on(1)], [_on(0)])
    assert _launcher(tmp_path, 3).share_devices([_on(0)], [_on(0)])


def test_a_host_with_fewer_gpus_than_the_cluster_folds_them_onto_one_device(tmp_path: Path) -> None:
    assert _launcher(tmp_path, 1).share_devices([_on(1)], [_on(0)])  # both run on host GPU 0


def test_a_host_without_gpus_shares_nothing(tmp_path: Path) -> None:
    assert not _launcher(tmp_path, 0).share_devices([_on(0)], [_on(0)])  # both on the CPU
