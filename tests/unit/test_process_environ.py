"""The environment a process-runtime replica starts with: GPU visibility and ordering."""
from __future__ import annotations

from pathlib import Path

import pytest

from emulator.runtimes.base import ReplicaSpec
from emulator.runtimes.process import replica_environ


def _spec(tmp_path: Path, gpu_ids: tuple[int, ...]) -> ReplicaSpec:
    return ReplicaSpec(replica_id="r1", service_name="svc", app_root=tmp_path, environment="/usr/bin/python3",
                       entry_script="score.py", log_path=tmp_path / "r1.log", env={}, gpu_ids=gpu_ids)


def test_gpu_replica_names_host_gpus_in_nvidia_smi_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "FASTEST_FIRST")  # the daemon's own choice must not leak
    env = replica_environ(_spec(tmp_path, (2, 3)))
    assert env["CUDA_VISIBLE_DEVICES"] == "2,3"
    assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def test_cpu_replica_sees_no_gpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    env = replica_environ(_spec(tmp_path, ()))
    assert env["CUDA_VISIBLE_DEVICES"] == ""
