"""The one writer of service records: every change to a service's state (and every write of its row) is a
named transition here, from the API's (a create, an update, a delete) to the engine's (a deployment, a
lost or returning replica, a crash loop, a scaling step). tests/unit/test_state_writers.py keeps it so.

Each takes the caller's write transaction (``conn``) so that the caller's checks and the write are one;
states move through ``ServiceState``'s allowed transitions (resources/services/state.py), replicas through
``ReplicaState``'s (records.py). The state diagram is in docs/architecture.md."""
from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timezone
from typing import Any, Iterable

from ..operations import Outcome
from ..resources.services import service as services
from ..resources.services.state import ServiceState, check_transition
from ..runtimes.base import ReplicaHandle
from .records import ReplicaRecord, ReplicaState, ServiceRecord

# States in which a service's replicas are watched (and restarted) by the supervisor.
SUPERVISED_STATES = (ServiceState.HEALTHY, ServiceState.UNHEALTHY)
# States a restarted daemon brings back (a service that was serving or deploying).
RESTORED_STATES = SUPERVISED_STATES + (ServiceState.TRANSITIONING,)


# --- reading ---------------------------------------------------------------------------------------------

def find(conn: sqlite3.Connection, ws_id: str, name: str) -> ServiceRecord | None:
    found = services.row(conn, ws_id, name)
    return None if found is None else ServiceRecord.from_row(found)


def read(conn: sqlite3.Connection, ws_id: str, name: str) -> ServiceRecord:
    """The service's record; Azure's WebserviceNotFound when there is none."""
    found = find(conn, ws_id, name)
    if found is None:
        raise services.not_found(name)
    return found


def serving(conn: sqlite3.Connection, ws_id: str, name: str) -> ServiceRecord | None:
    """The service's record while it is supervised (Healthy or Unhealthy), else None."""
    found = find(conn, ws_id, name)
    return found if found is not None and found.state in SUPERVISED_STATES else None


def _write(conn: sqlite3.Connection, ws_id: str, record: ServiceRecord,
           new: ServiceState | None = None) -> dict[str, Any]:
    """Store the record (``new``: its state moves there first, if allowed); returns the body written."""
    if new is not None:
        record.state = check_transition(record.state.value, new, record.name)
    wire = record.to_wire()
    wire["updatedTime"] = datetime.now(timezone.utc).isoformat()
    conn.execute("UPDATE services SET state = ?, body = ? WHERE workspace_id = ? AND name = ?",
                 (record.state.value, json.dumps(wire), ws_id, record.name))
    record.wire = wire
    return wire


# --- the API's transitions: a create, an update, a delete ------------------------------------------------

def deploy_begun(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any], secret_values: dict[str, Any],
                 retiring: list[ReplicaRecord] | None = None) -> None:
    """A create request: the new record (``body``, planned) goes in Transitioning until its operation ends;
    ``retiring``: the running replicas of the record it replaces (``replaced``)."""
    body["state"] = ServiceState.TRANSITIONING.value
    if retiring:
        body.setdefault("fakeAzure", {})["retiringReplicas"] = [r.to_wire() for r in retiring]
    conn.execute("INSERT INTO services (workspace_id, name, compute_name, state, body, secrets, created_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)", (ws_id, body["name"], body.get("computeName"), body["state"],
                                                  json.dumps(body), json.dumps(secret_values), time.time()))


def _as_stored(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any]) -> ServiceRecord:
    """``body`` (a request's change to the record) as a record; its state must be the stored one: a state
    moves only through the transitions here, never with a body written back."""
    record = ServiceRecord.from_wire(body)
    stored = read(conn, ws_id, record.name)
    if record.state is not stored.state:
        raise RuntimeError(f"service {record.name} is {stored.state.value}: a body saying {record.state.value} "
                           "cannot move it (deploy/lifecycle.py's transitions do)")
    return record


def update_begun(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """An update that changes what runs (``body``, patched and planned): Transitioning until its operation
    ends; the replicas running now are kept aside as retiring. Returns the body written."""
    record = _as_stored(conn, ws_id, body)
    record.retiring = [r for r in read(conn, ws_id, record.name).replicas if r.state is ReplicaState.RUNNING]
    return _write(conn, ws_id, record, ServiceState.TRANSITIONING)


def patched(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """An update that changes no replica (tags, auth, request limits): the state stands. Returns the body
    written."""
    return _write(conn, ws_id, _as_stored(conn, ws_id, body))


def replaced(conn: sqlite3.Connection, ws_id: str, name: str) -> list[ReplicaRecord]:
    """A create over an existing service (an overwrite, a second PUT): the old record goes; its running replicas,
    which serve until the new ones are ready, are returned for the new record (``deploy_begun``)."""
    running = [r for r in read(conn, ws_id, name).replicas if r.state is ReplicaState.RUNNING]
    deleted(conn, ws_id, name)
    return running


def deleted(conn: sqlite3.Connection, ws_id: str, name: str) -> None:
    """The record goes: a delete's operation ended, or a create with overwrite replaces the service."""
    conn.execute("DELETE FROM services WHERE workspace_id = ? AND name = ?", (ws_id, name))


def deploy_operation_finished(conn: sqlite3.Connection, ws_id: str, name: str, outcome: Outcome) -> None:
    """A create/update operation the progress policy has revealed: a service still Transitioning becomes
    Healthy (success) or Failed with the operation's error. An update that redeployed nothing (tags,
    keys, auth) left the state as it was, and it stands."""
    record = find(conn, ws_id, name)
    if record is None or record.state is not ServiceState.TRANSITIONING:
        return
    record.error = None if outcome.succeeded else outcome.error
    _write(conn, ws_id, record, ServiceState.HEALTHY if outcome.succeeded else ServiceState.FAILED)


# --- AKS endpoints: an endpoint's record has no replicas; its state is its versions' ---------------------

def endpoint_state(version_bodies: list[dict[str, Any]]) -> tuple[ServiceState, Any]:
    """An AKS endpoint's state and error, derived from its versions' records: the least settled one speaks
    for it (one deploying: Transitioning; else one failed: Failed; ...; all serving: Healthy)."""
    states = [ServiceState(body["state"]) for body in version_bodies]
    for state in (ServiceState.TRANSITIONING, ServiceState.FAILED, ServiceState.UNSCHEDULABLE,
                  ServiceState.UNHEALTHY):
        if state in states:
            error = next((body.get("error") for body in version_bodies
                          if body["state"] == state.value and body.get("error")), None)
            return state, error
    return ServiceState.HEALTHY, None


def endpoint_settled(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any],
                     version_bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """An AKS endpoint's record (``body``: its split, auth, tags...) written with the state its versions give
    it: derived, so it follows them wherever they went, not a move of its own. Returns the body written."""
    state, body["error"] = endpoint_state(version_bodies) if version_bodies else (ServiceState(body["state"]), None)
    body["state"] = state.value
    body["updatedTime"] = datetime.now(timezone.utc).isoformat()
    conn.execute("UPDATE services SET state = ?, body = ? WHERE workspace_id = ? AND name = ?",
                 (state.value, json.dumps(body), ws_id, body["name"]))
    return body


# --- the engine's transitions ----------------------------------------------------------------------------

def restore_begun(conn: sqlite3.Connection, ws_id: str, name: str) -> None:
    """A restarted daemon brings the service back: Transitioning until its replicas are."""
    _write(conn, ws_id, read(conn, ws_id, name), ServiceState.TRANSITIONING)


def _mark_running(record: ServiceRecord, handles: dict[str, ReplicaHandle]) -> int:
    """Replicas with a handle run where it says; returns how many replicas the record holds."""
    for replica in record.replicas:
        if replica.id in handles:
            replica.running(handles[replica.id])
    return len(record.replicas)


def deployed(conn: sqlite3.Connection, ws_id: str, name: str, scoring_uri: str,
             handles: dict[str, ReplicaHandle]) -> None:
    """Every replica is ready and published. The state moves when the operation is revealed (its
    finisher), or with ``restored`` for a restored service, which has no operation."""
    record = read(conn, ws_id, name)
    record.scoring_uri = scoring_uri
    count = _mark_running(record, handles)
    status = record.deployment_status
    status.available = status.updated = status.desired = count
    status.error = None
    record.retiring = []  # replaced: they stop once they drain
    autoscale = record.autoscale
    if autoscale is not None and autoscale.enabled:  # it reports what runs
        record.num_replicas = count
    _write(conn, ws_id, record)


def restored(conn: sqlite3.Connection, ws_id: str, name: str) -> None:
    """A restored service (no operation to reveal its state) is Healthy again once deployed."""
    record = read(conn, ws_id, name)
    if record.state is not ServiceState.HEALTHY:
        _write(conn, ws_id, record, ServiceState.HEALTHY)


def deploy_failed(conn: sqlite3.Connection, ws_id: str, name: str, error: dict[str, Any],
                  mark_failed: bool = False) -> bool:
    """Why the replicas are down; ``mark_failed`` also fails the service (no operation will). False when
    the service is gone."""
    record = find(conn, ws_id, name)
    if record is None:
        return False
    record.deployment_status.error = error
    record.deployment_status.available = 0
    crash_looped = error.get("code") == "KubernetesDeploymentFailed"
    for replica in record.replicas:
        replica.move_to(ReplicaState.CRASH_LOOP_BACK_OFF if crash_looped else ReplicaState.FAILED)
    record.retiring = []  # stopped with the rest
    if mark_failed:
        record.error = error
    _write(conn, ws_id, record, ServiceState.FAILED if mark_failed else None)
    return True


def update_failed_old_serving(conn: sqlite3.Connection, ws_id: str, name: str, error: dict[str, Any]) -> None:
    """An update whose new replicas failed while the old ones still serve (Kubernetes keeps the old ReplicaSet's
    pods when a rollout cannot progress): the record holds the old replicas again, and why the update failed.
    The operation's end fails the service (deploy_operation_finished)."""
    record = find(conn, ws_id, name)
    if record is None:
        return
    record.replicas, record.retiring = record.retiring, []
    record.deployment_status.error = error
    record.deployment_status.available = len(record.replicas)
    _write(conn, ws_id, record)


def stopped_by_restart(conn: sqlite3.Connection, ws_id: str, name: str) -> None:
    """A failed service's replicas that still served (an update's old ones) are gone with the daemon: a new
    daemon does not bring a failed service back."""
    record = find(conn, ws_id, name)
    if record is None or not any(r.state is ReplicaState.RUNNING for r in record.replicas):
        return
    for replica in record.replicas:
        if replica.state is ReplicaState.RUNNING:
            replica.down(ReplicaState.FAILED)
    record.deployment_status.available = 0
    _write(conn, ws_id, record)


def crash_looped(conn: sqlite3.Connection, ws_id: str, name: str) -> bool:
    """A replica kept crashing after its restarts: the service fails with Azure's CrashLoopBackOff."""
    return deploy_failed(conn, ws_id, name, services.crash_loop_error(name), mark_failed=True)


def replica_lost(conn: sqlite3.Connection, ws_id: str, record: ServiceRecord, replica_id: str,
                 available: int) -> None:
    """A replica died or hung and was taken down: the service is Unhealthy until it is back."""
    replica = record.replica(replica_id)
    if replica is not None:
        replica.down()
    record.deployment_status.available = available
    _write(conn, ws_id, record, ServiceState.UNHEALTHY if record.state is not ServiceState.UNHEALTHY else None)


def replica_back(conn: sqlite3.Connection, ws_id: str, record: ServiceRecord, replica_id: str,
                 handle: ReplicaHandle | None, handles: dict[str, ReplicaHandle]) -> None:
    """A restart ended: the replica runs again (``handle``) or crashed again (None); Healthy once every
    replica is back."""
    replica = record.replica(replica_id)
    if replica is not None:
        replica.restarts += 1
        if handle is not None:
            replica.running(handle)
        else:
            replica.move_to(ReplicaState.CRASH_LOOP_BACK_OFF)
    record.deployment_status.available = len(handles)
    everyone_back = all(r.id in handles for r in record.replicas)
    back_to_healthy = everyone_back and record.state is not ServiceState.HEALTHY
    _write(conn, ws_id, record, ServiceState.HEALTHY if back_to_healthy else None)


def scale_planned(conn: sqlite3.Connection, ws_id: str, record: ServiceRecord, replicas: list[ReplicaRecord]) -> None:
    """A scaling step begins: the replicas it keeps and the ones it placed (Pending until they run)."""
    record.replicas = replicas
    _write(conn, ws_id, record)


def scaled(conn: sqlite3.Connection, ws_id: str, name: str, desired: int, handles: dict[str, ReplicaHandle]) -> int:
    """A scaling step ended: the replicas that run, and the counts the SDK reads. Returns the count."""
    record = read(conn, ws_id, name)
    count = _mark_running(record, handles)
    record.num_replicas = count
    status = record.deployment_status
    status.desired, status.available, status.updated = desired, count, count
    _write(conn, ws_id, record)
    return count


def replicas_forgotten(conn: sqlite3.Connection, ws_id: str, name: str, replica_ids: Iterable[str]) -> None:
    """Replicas planned for a scale-out that never became ready leave the record."""
    gone = set(replica_ids)
    record = read(conn, ws_id, name)
    record.replicas = [r for r in record.replicas if r.id not in gone]
    _write(conn, ws_id, record)


def route_moved(conn: sqlite3.Connection, ws_id: str, name: str, scoring_uri: str) -> None:
    """A restored service's gateway could not have its remembered port back: the URI changes."""
    record = read(conn, ws_id, name)
    record.scoring_uri = scoring_uri
    _write(conn, ws_id, record)
