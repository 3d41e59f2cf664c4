"""Typed views of what the engine reads and writes in a service record: the record itself
(``ServiceRecord``: state, scoring URI, counts, error), its replicas (the private ``fakeAzure.replicas``
list, one placement and one running state each) and the fields of the wire body the deployment core
needs. ``from_row`` reads the stored JSON, ``to_wire`` writes it back; keys the engine does not know are
kept as they were, so the body the SDK reads changes only where a typed field did."""
from __future__ import annotations

import enum
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..resources import states
from ..resources.services.state import ServiceState
from ..runtimes.base import ReplicaHandle


class ReplicaState(str, enum.Enum):
    """A replica's state in the record (a Kubernetes pod's, as the SDK's logs and our tests read it)."""
    PENDING = "Pending"  # placed, not started yet
    RUNNING = "Running"
    CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"  # down: died, hung or kept crashing; restarted with back-off
    FAILED = "Failed"  # its deployment failed


# A replica is Pending only from its placement until it first runs; every other move is allowed.
_LIVE = {ReplicaState.RUNNING, ReplicaState.CRASH_LOOP_BACK_OFF, ReplicaState.FAILED}
_REPLICA_MOVES: dict[ReplicaState, set[ReplicaState]] = {state: _LIVE for state in ReplicaState}

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
    state: ReplicaState = ReplicaState.PENDING
    restarts: int = 0
    port: int | None = None  # a local service's or a container's TCP port
    socket: str | None = None  # a process replica's unix socket
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ReplicaRecord":
        return cls(id=row["id"], node=row.get("node", ""), node_index=int(row.get("nodeIndex") or 0),
                   gpus_per_node=int(row.get("gpusPerNode", 1) or 0), gpu_ids=list(row.get("gpuIds") or []),
                   cpu=float(row.get("cpu") or 0), memory_gb=float(row.get("memoryGb") or 0),
                   state=ReplicaState(row.get("state") or ReplicaState.PENDING), restarts=int(row.get("restarts") or 0),
                   port=int(row["port"]) if row.get("port") else None, socket=row.get("socket") or None,
                   other={k: v for k, v in row.items() if k not in _KNOWN})

    def to_wire(self) -> dict[str, Any]:
        return {**self.other, "id": self.id, "node": self.node, "nodeIndex": self.node_index,
                "gpusPerNode": self.gpus_per_node, "gpuIds": list(self.gpu_ids), "cpu": self.cpu,
                "memoryGb": self.memory_gb, "state": self.state.value, "restarts": self.restarts, "port": self.port,
                "socket": self.socket}

    def move_to(self, new: ReplicaState) -> None:
        """The one place a replica's state changes: through the allowed moves (never back to Pending)."""
        self.state = states.check_transition(_REPLICA_MOVES, self.state.value, new, lambda state, new: (
            f"Replica {self.id} is {state.value}; it cannot become {new.value}."))

    def running(self, handle: ReplicaHandle) -> None:
        """It runs, and listens where ``handle`` says."""
        self.move_to(ReplicaState.RUNNING)
        self.port, self.socket = handle.port or None, handle.socket_path

    def down(self, state: ReplicaState = ReplicaState.CRASH_LOOP_BACK_OFF) -> None:
        """It is not running (and listens nowhere)."""
        self.move_to(state)
        self.port = self.socket = None


def replicas_of(body: dict[str, Any]) -> list[ReplicaRecord]:
    """The service record's replicas (none for a record written before it had any)."""
    return [ReplicaRecord.from_row(r) for r in (body.get("fakeAzure") or {}).get("replicas") or []]


def set_replicas(body: dict[str, Any], replicas: list[ReplicaRecord]) -> None:
    body.setdefault("fakeAzure", {})["replicas"] = [r.to_wire() for r in replicas]


def replica_ids(body: dict[str, Any]) -> list[str]:
    return [r.id for r in replicas_of(body)]


@dataclass
class DeploymentStatus:
    """The record's ``deploymentStatus``: the replica counts and the deployment's error the SDK reads."""
    desired: int = 0
    updated: int = 0
    available: int = 0
    error: dict[str, Any] | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | None) -> "DeploymentStatus":
        data = data or {}
        return cls(desired=int(data.get("desiredReplicas") or 0), updated=int(data.get("updatedReplicas") or 0),
                   available=int(data.get("availableReplicas") or 0), error=data.get("error"),
                   other={k: v for k, v in data.items()
                          if k not in ("desiredReplicas", "updatedReplicas", "availableReplicas", "error")})

    def to_wire(self) -> dict[str, Any]:
        return {**self.other, "desiredReplicas": self.desired, "updatedReplicas": self.updated,
                "availableReplicas": self.available, "error": self.error}


@dataclass(frozen=True)
class AutoscaleSettings:
    """The record's ``autoScaler`` (the SDK's AutoScaler), with Azure's defaults for what it leaves out."""
    enabled: bool
    min_replicas: int
    max_replicas: int
    target_utilization: float  # percent
    refresh_seconds: float

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | None) -> "AutoscaleSettings | None":
        if data is None:
            return None
        from ..resources.services.service import DEFAULT_AUTOSCALE

        merged = {**DEFAULT_AUTOSCALE, **{k: v for k, v in data.items() if v is not None}}
        return cls(enabled=bool(merged["autoscaleEnabled"]), min_replicas=int(merged["minReplicas"]),
                   max_replicas=int(merged["maxReplicas"]), target_utilization=float(merged["targetUtilization"]),
                   refresh_seconds=float(merged["refreshPeriodInSeconds"]))


@dataclass
class ServiceRecord:
    """A webservice's record: the body Azure's SDK reads (``wire``, kept whole) and, typed, the fields the
    deployment core reads and writes. Only deploy/lifecycle.py writes one back (its state included)."""
    wire: dict[str, Any]
    name: str
    state: ServiceState
    compute_type: str
    scoring_uri: str | None
    error: dict[str, Any] | None
    num_replicas: int | None
    deployment_status: DeploymentStatus
    replicas: list[ReplicaRecord]
    # An update's old replicas while its new ones start (``fakeAzure.retiringReplicas``): what serves again if
    # the update fails, as Kubernetes keeps the old ReplicaSet's pods.
    retiring: list[ReplicaRecord] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: sqlite3.Row | Mapping[str, Any]) -> "ServiceRecord":
        """From a row of the services table (its ``body`` column)."""
        return cls.from_wire(json.loads(row["body"]))

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> "ServiceRecord":
        return cls(wire=body, name=body["name"], state=ServiceState(body["state"]), compute_type=body["computeType"],
                   scoring_uri=body.get("scoringUri"), error=body.get("error"), num_replicas=body.get("numReplicas"),
                   deployment_status=DeploymentStatus.from_wire(body.get("deploymentStatus")),
                   replicas=replicas_of(body), retiring=[ReplicaRecord.from_row(r) for r in (
                       body.get("fakeAzure") or {}).get("retiringReplicas") or []])

    def to_wire(self) -> dict[str, Any]:
        """The body with the typed fields written back (in their places; absent ones only once they hold
        something), everything else as it was."""
        wire = dict(self.wire)
        wire["state"] = self.state.value
        for key, value in (("scoringUri", self.scoring_uri), ("error", self.error), ("numReplicas", self.num_replicas)):
            if key in wire or value is not None:
                wire[key] = value
        if "deploymentStatus" in wire or self.deployment_status != DeploymentStatus():
            wire["deploymentStatus"] = self.deployment_status.to_wire()
        if "fakeAzure" in wire or self.replicas:
            extra = {k: v for k, v in (wire.get("fakeAzure") or {}).items() if k != "retiringReplicas"}
            wire["fakeAzure"] = {**extra, "replicas": [r.to_wire() for r in self.replicas]}
            if self.retiring:
                wire["fakeAzure"]["retiringReplicas"] = [r.to_wire() for r in self.retiring]
        return wire

    @property
    def local(self) -> bool:
        """A LocalWebservice: one container on the user's machine, reached at its port, not through a gateway."""
        from ..resources.services.service import LOCAL

        return self.compute_type == LOCAL

    @property
    def autoscale(self) -> AutoscaleSettings | None:
        return AutoscaleSettings.from_wire(self.wire.get("autoScaler"))

    @property
    def liveness_probe(self) -> dict[str, Any]:
        """``livenessProbeRequirements`` as the SDK sent them (supervisor.ProbePolicy.from_body reads them)."""
        return self.wire.get("livenessProbeRequirements") or {}

    @property
    def replica_ids(self) -> list[str]:
        return [r.id for r in self.replicas]

    def replica(self, replica_id: str) -> ReplicaRecord | None:
        return next((r for r in self.replicas if r.id == replica_id), None)


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
    # How long a starting replica may take to answer its readiness probe before the start fails (an SDK v2
    # deployment's readiness probe: initial delay + period x failure threshold; v1 has no such setting).
    ready_timeout_s: float = 300.0

    @classmethod
    def from_v1_body(cls, body: dict[str, Any]) -> "ReplicaSettings":
        from ..resources.services.service import LOCAL

        resources = body.get("containerResourceRequirements") or {}
        local = body["computeType"] == LOCAL
        return cls(name=body["name"], local=local, port=int(body.get("port") or 0) if local else 0,
                   scoring_timeout_ms=int(body["scoringTimeoutMs"]), cpu_limit=resources.get("cpuLimit"),
                   memory_limit_gb=resources.get("memoryInGBLimit"),
                   ready_timeout_s=float(body.get("readyTimeoutSeconds") or 300.0))
