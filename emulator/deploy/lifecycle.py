"""The engine's writes to service records, one named transition each: what a deployment, a lost or
returning replica, a crash loop or a scaling step does to the record Azure's SDK reads.

Each takes the caller's write transaction (``conn``) so that the caller's checks and the write are one;
states move through ``services.save`` (the allowed transitions of resources/services/state.py). The
state diagram is in docs/architecture.md."""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable

from ..operations import Outcome
from ..resources.services import service as services
from ..resources.services.state import ServiceState
from ..runtimes.base import ReplicaHandle
from .records import ReplicaRecord, replicas_of, set_replicas

# States in which a service's replicas are watched (and restarted) by the supervisor.
SUPERVISED_STATES = (ServiceState.HEALTHY.value, ServiceState.UNHEALTHY.value)
# States a restarted daemon brings back (a service that was serving or deploying).
RESTORED_STATES = SUPERVISED_STATES + (ServiceState.TRANSITIONING.value,)


def serving(conn: sqlite3.Connection, ws_id: str, name: str) -> dict[str, Any] | None:
    """The service's record while it is supervised (Healthy or Unhealthy), else None."""
    found = services.row(conn, ws_id, name)
    if found is None or found["state"] not in SUPERVISED_STATES:
        return None
    return json.loads(found["body"])


def _mark_running(body: dict[str, Any], handles: dict[str, ReplicaHandle]) -> int:
    """Replicas with a handle run where it says; returns how many replicas the record holds."""
    replicas = replicas_of(body)
    for replica in replicas:
        if replica.id in handles:
            replica.running(handles[replica.id])
    set_replicas(body, replicas)
    return len(replicas)


def deploy_begun(conn: sqlite3.Connection, ws_id: str, name: str) -> None:
    """A restarted daemon brings the service back: Transitioning until its replicas are."""
    services.save(conn, ws_id, services.get(conn, ws_id, name), ServiceState.TRANSITIONING)


def deploy_operation_finished(conn: sqlite3.Connection, ws_id: str, name: str, outcome: Outcome) -> None:
    """A create/update operation the progress policy has revealed: a service still Transitioning becomes
    Healthy (success) or Failed with the operation's error. An update that redeployed nothing (tags,
    keys, auth) left the state as it was, and it stands."""
    found = services.row(conn, ws_id, name)
    if found is None:
        return
    body = json.loads(found["body"])
    if body["state"] != ServiceState.TRANSITIONING.value:
        return
    body["error"] = None if outcome.succeeded else outcome.error
    services.save(conn, ws_id, body, ServiceState.HEALTHY if outcome.succeeded else ServiceState.FAILED)


def deployed(conn: sqlite3.Connection, ws_id: str, name: str, scoring_uri: str,
             handles: dict[str, ReplicaHandle]) -> None:
    """Every replica is ready and published. The state moves when the operation is revealed (its
    finisher), or with ``restored`` for a restored service, which has no operation."""
    current = services.get(conn, ws_id, name)
    current["scoringUri"] = scoring_uri
    count = _mark_running(current, handles)
    current["deploymentStatus"].update(availableReplicas=count, updatedReplicas=count, desiredReplicas=count,
                                       error=None)
    if (current.get("autoScaler") or {}).get("autoscaleEnabled"):  # it reports what runs
        current["numReplicas"] = count
    services.save(conn, ws_id, current)


def restored(conn: sqlite3.Connection, ws_id: str, name: str) -> None:
    """A restored service (no operation to reveal its state) is Healthy again once deployed."""
    current = services.get(conn, ws_id, name)
    if current["state"] != ServiceState.HEALTHY.value:
        services.save(conn, ws_id, current, ServiceState.HEALTHY)


def deploy_failed(conn: sqlite3.Connection, ws_id: str, name: str, error: dict[str, Any],
                  mark_failed: bool = False) -> bool:
    """Why the replicas are down; ``mark_failed`` also fails the service (no operation will). False when
    the service is gone."""
    if services.row(conn, ws_id, name) is None:
        return False
    current = services.get(conn, ws_id, name)
    current["deploymentStatus"]["error"] = error
    current["deploymentStatus"]["availableReplicas"] = 0
    replicas = replicas_of(current)
    for replica in replicas:
        replica.state = "CrashLoopBackOff" if error.get("code") == "KubernetesDeploymentFailed" else "Failed"
    set_replicas(current, replicas)
    if mark_failed:
        current["error"] = error
    services.save(conn, ws_id, current, ServiceState.FAILED if mark_failed else None)
    return True


def crash_looped(conn: sqlite3.Connection, ws_id: str, name: str) -> bool:
    """A replica kept crashing after its restarts: the service fails with Azure's CrashLoopBackOff."""
    return deploy_failed(conn, ws_id, name, services.crash_loop_error(name), mark_failed=True)


def replica_lost(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any], replica_id: str, available: int) -> None:
    """A replica died or hung and was taken down: the service is Unhealthy until it is back."""
    replicas = replicas_of(body)
    for replica in replicas:
        if replica.id == replica_id:
            replica.down()
    set_replicas(body, replicas)
    body["deploymentStatus"]["availableReplicas"] = available
    services.save(conn, ws_id, body, ServiceState.UNHEALTHY if body["state"] != ServiceState.UNHEALTHY.value else None)


def replica_back(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any], replica_id: str,
                 handle: ReplicaHandle | None, handles: dict[str, ReplicaHandle]) -> None:
    """A restart ended: the replica runs again (``handle``) or crashed again (None); Healthy once every
    replica is back."""
    replicas = replicas_of(body)
    for replica in replicas:
        if replica.id == replica_id:
            replica.restarts += 1
            if handle is not None:
                replica.running(handle)
            else:
                replica.state = "CrashLoopBackOff"
    set_replicas(body, replicas)
    body["deploymentStatus"]["availableReplicas"] = len(handles)
    everyone_back = all(r.id in handles for r in replicas)
    back_to_healthy = everyone_back and body["state"] != ServiceState.HEALTHY.value
    services.save(conn, ws_id, body, ServiceState.HEALTHY if back_to_healthy else None)


def scale_planned(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any], replicas: list[ReplicaRecord]) -> None:
    """A scaling step begins: the replicas it keeps and the ones it placed (Pending until they run)."""
    set_replicas(body, replicas)
    services.save(conn, ws_id, body)


def scaled(conn: sqlite3.Connection, ws_id: str, name: str, desired: int, handles: dict[str, ReplicaHandle]) -> int:
    """A scaling step ended: the replicas that run, and the counts the SDK reads. Returns the count."""
    body = services.get(conn, ws_id, name)
    count = _mark_running(body, handles)
    body["numReplicas"] = count
    body["deploymentStatus"].update(desiredReplicas=desired, availableReplicas=count, updatedReplicas=count)
    services.save(conn, ws_id, body)
    return count


def replicas_forgotten(conn: sqlite3.Connection, ws_id: str, name: str, replica_ids: Iterable[str]) -> None:
    """Replicas planned for a scale-out that never became ready leave the record."""
    gone = set(replica_ids)
    body = services.get(conn, ws_id, name)
    set_replicas(body, [r for r in replicas_of(body) if r.id not in gone])
    services.save(conn, ws_id, body)


def route_moved(conn: sqlite3.Connection, ws_id: str, name: str, scoring_uri: str) -> None:
    """A restored service's gateway could not have its remembered port back: the URI changes."""
    current = services.get(conn, ws_id, name)
    current["scoringUri"] = scoring_uri
    services.save(conn, ws_id, current)
