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


def test_a_replica_never_goes_back_to_pending() -> None:
    import pytest

    from emulator.deploy.records import ReplicaState
    from emulator.errors import InvalidTransition

    record = ReplicaRecord.from_row(ROW)
    assert record.state is ReplicaState.PENDING
    record.running(_handle())
    record.down()
    record.move_to(ReplicaState.FAILED)
    record.running(_handle())  # a redeployed (or restored) replica runs again
    with pytest.raises(InvalidTransition, match="Replica r1 is Running; it cannot become Pending"):
        record.move_to(ReplicaState.PENDING)


def test_a_service_record_writes_back_only_what_changed() -> None:
    from emulator.deploy.records import ServiceRecord
    from emulator.resources.services.state import ServiceState

    body = {"name": "svc", "state": "Healthy", "error": None, "computeType": "AKS", "scoringUri": "http://x/score",
            "numReplicas": 1, "autoScaler": {"autoscaleEnabled": False}, "kvTags": {"k": "v"},
            "deploymentStatus": {"desiredReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "error": None},
            "fakeAzure": {"replicas": [dict(ROW, state="Running", port=None, socket="/s")], "kept": 1}}
    record = ServiceRecord.from_wire(body)
    assert record.to_wire() == body and list(record.to_wire()) == list(body)  # same content, same key order
    record.state, record.deployment_status.available = ServiceState.UNHEALTHY, 0
    record.replicas[0].down()
    assert record.to_wire() == {**body, "state": "Unhealthy",
                                "deploymentStatus": {**body["deploymentStatus"], "availableReplicas": 0},
                                "fakeAzure": {"replicas": [dict(ROW, state="CrashLoopBackOff", port=None,
                                                                socket=None)], "kept": 1}}
    assert record.autoscale is not None and not record.autoscale.enabled and record.autoscale.max_replicas == 10
