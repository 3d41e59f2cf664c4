"""Typed views of what the engine reads and writes in a service record: its replicas (the private
``fakeAzure.replicas`` list, one placement and one running state each) and the fields of the wire body
the deployment core needs. ``from_row`` reads the stored JSON, ``to_wire`` writes it back; keys the
engine does not know are kept as they were."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..runtimes.base import ReplicaHandle

_KNOWN = ("id", "node", "nodeIndex", "gpusPerNode", "gpuIds", "cpu", "memoryGb", "state", "restarts", "port",
          "socket")


@dataclass
class ReplicaRecord:
    """One replica as the service record keeps it: where it was placed, and how it runs."""
    id: str
    node: str = ""
    node_index: int = 0
    gpus_per_node: int = 1
    gpu_ids: list[int] = field(default_factory=list)
    cpu: float = 0.0
    memory_gb: float = 0.0
    state: str = "Pending"  # Pending | Running | CrashLoopBackOff | Failed
    restarts: int = 0
    port: int | None = None  # a local service's or a container's TCP port
    socket: str | None = None  # a process replica's unix socket
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ReplicaRecord":
        return cls(id=row["id"], node=row.get("node", ""), node_index=int(row.get("nodeIndex") or 0),
                   gpus_per_node=int(row.get("gpusPerNode", 1) or 0), gpu_ids=list(row.get("gpuIds") or []),
                   cpu=float(row.get("cpu") or 0), memory_gb=float(row.get("memoryGb") or 0),
                   state=row.get("state") or "Pending", restarts=int(row.get("restarts") or 0),
                   port=int(row["port"]) if row.get("port") else None, socket=row.get("socket") or None,
                   other={k: v for k, v in row.items() if k not in _KNOWN})

    def to_wire(self) -> dict[str, Any]:
        return {**self.other, "id": self.id, "node": self.node, "nodeIndex": self.node_index,
                "gpusPerNode": self.gpus_per_node, "gpuIds": list(self.gpu_ids), "cpu": self.cpu,
                "memoryGb": self.memory_gb, "state": self.state, "restarts": self.restarts, "port": self.port,
                "socket": self.socket}

    def running(self, handle: ReplicaHandle) -> None:
        """It runs, and listens where ``handle`` says."""
        self.state = "Running"
        self.port, self.socket = handle.port or None, handle.socket_path

    def down(self, state: str = "CrashLoopBackOff") -> None:
        """It is not running (and listens nowhere)."""
        self.state = state
        self.port = self.socket = None


def replicas_of(body: dict[str, Any]) -> list[ReplicaRecord]:
    """The service record's replicas (none for a record written before it had any)."""
    return [ReplicaRecord.from_row(r) for r in (body.get("fakeAzure") or {}).get("replicas") or []]


def set_replicas(body: dict[str, Any], replicas: list[ReplicaRecord]) -> None:
    body.setdefault("fakeAzure", {})["replicas"] = [r.to_wire() for r in replicas]


def replica_ids(body: dict[str, Any]) -> list[str]:
    return [r.id for r in replicas_of(body)]


@dataclass(frozen=True)
class ReplicaSettings:
    """What starting a replica needs of its deployment, read from the front end's record (``from_v1_body``:
    an SDK v1 webservice), so the launcher knows no SDK's wire format."""
    name: str
    local: bool  # a LocalWebservice: its container on a fixed loopback port, reached without the gateway
    port: int  # a local service's port (0: a free one); others listen where the launcher says
    scoring_timeout_ms: int
    cpu_limit: float | None = None
    memory_limit_gb: float | None = None

    @classmethod
    def from_v1_body(cls, body: dict[str, Any]) -> "ReplicaSettings":
        from ..resources.services.service import LOCAL

        resources = body.get("containerResourceRequirements") or {}
        local = body["computeType"] == LOCAL
        return cls(name=body["name"], local=local, port=int(body.get("port") or 0) if local else 0,
                   scoring_timeout_ms=int(body["scoringTimeoutMs"]), cpu_limit=resources.get("cpuLimit"),
                   memory_limit_gb=resources.get("memoryInGBLimit"))
