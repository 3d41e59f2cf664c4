"""Replica records: read from and written back to the service record without losing a key, and a
replica's address set in one place (running: where its handle listens; down: nowhere)."""
from __future__ import annotations

from pathlib import Path

from emulator.deploy.records import ReplicaRecord, replicas_of, set_replicas
from emulator.runtimes.base import ReplicaHandle, ReplicaSpec

ROW = {"id": "r1", "node": "n0", "nodeIndex": 1, "gpusPerNode": 2, "gpuIds": [1], "cpu": 0.5, "memoryGb": 1.0,
       "state": "Pending", "restarts": 0, "futureKey": {"kept": True}}


def _handle(port: int = 0, socket: str | None = "/s/r1.sock") -> ReplicaHandle:
    spec = ReplicaSpec(replica_id="r1", service_name="svc", app_root=Path("/a"), environment="", entry_script="",
                       log_path=Path("/a.log"))
    return ReplicaHandle(spec=spec, host="127.0.0.1", port=port, socket_path=socket)


def test_a_record_round_trips_with_keys_the_engine_does_not_know() -> None:
    record = ReplicaRecord.from_row(ROW)
    assert record.to_wire() == {**ROW, "port": None, "socket": None}
    assert ReplicaRecord.from_row(record.to_wire()) == record


def test_running_and_down_set_the_address_in_one_shape() -> None:
    body = {"fakeAzure": {"replicas": [dict(ROW)]}}
    replicas = replicas_of(body)
    replicas[0].running(_handle())
    set_replicas(body, replicas)
    assert body["fakeAzure"]["replicas"][0] == {**ROW, "state": "Running", "port": None, "socket": "/s/r1.sock"}
    replicas[0].running(_handle(port=8123, socket=None))
    assert (replicas[0].port, replicas[0].socket) == (8123, None)
    replicas[0].down()
    assert (replicas[0].state, replicas[0].port, replicas[0].socket) == ("CrashLoopBackOff", None, None)


def test_a_record_without_replicas_has_none() -> None:
    assert replicas_of({}) == [] and replicas_of({"fakeAzure": {}}) == []
