"""What each AKS endpoint request does (no Flask): create with its first version, patch (versions added,
changed, removed; the endpoint's own fields), delete, and how a finished operation settles the versions.

One operation per request, on the endpoint, as the SDK polls it; a request deploys or removes at most one
version's replicas (the SDK's create_version, update_version and delete_version each touch one). The
endpoint's route, with its traffic split, is published again after every change (records.py's split)."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ... import error_catalog
from ...errors import BadRequest, Conflict
from ...operations import OperationStatus, Outcome
from ...scheduler import Unschedulable
from ..models import service as models
from . import endpoints, service
from .actions import operation_extra, refuse_while_busy, supersede
from .schema import MAX_ENDPOINT_VERSIONS

if TYPE_CHECKING:
    from ...cloud import Cloud


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _lifecycle() -> Any:
    from ...deploy import lifecycle  # the deployment core imports this package

    return lifecycle


def _plan(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any]) -> Outcome:
    """Place a version's replicas: the operation's outcome (pending, or Azure's Unschedulable failure)."""
    body["fakeAzure"]["replicas"] = []  # a (re)deployment replaces every replica
    try:
        body["fakeAzure"]["replicas"] = service.plan_replicas(conn, ws_id, body, service.desired_replicas(body))
        return Outcome(pending=True)
    except Unschedulable as exc:
        return Outcome(OperationStatus.FAILED, error=service.unschedulable_error(exc))


def _save_endpoint(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any],
                   version_bodies: list[dict[str, Any]]) -> None:
    """The endpoint's split and (derived) state, as its versions now stand."""
    body["fakeAzure"]["split"] = endpoints.split(body["name"], version_bodies)
    _lifecycle().endpoint_settled(conn, ws_id, body, version_bodies)


def create(cloud: Cloud, ws_body: dict[str, Any], payload: dict[str, Any]) -> tuple[dict, str]:
    """Record the endpoint and its first version, and deploy the version. Returns the body and the operation."""
    ws_id, name = ws_body["id"], payload["name"]
    if len(payload["versions"]) != 1:
        raise BadRequest("An endpoint is created with one version; add the others with create_version.",
                         code="BadRequest")
    (version, version_payload), = payload["versions"].items()
    endpoints.check_version_name(name, version)
    with cloud.store.transaction() as conn:
        if service.row(conn, ws_id, name) is not None:  # overwrite included: an endpoint's versions are its own
            raise Conflict.of(error_catalog.service_exists(name, ws_body["name"]))
        body = endpoints.endpoint_body(ws_body, payload, _now())
        if not body["computeName"]:
            raise BadRequest("An AKS endpoint deployment needs a computeName.", code="BadRequest")
        first = endpoints.version_body(conn, ws_body, body, version, {**version_payload, "isDefault": True})
        outcome = _plan(conn, ws_id, first)
        outcome.running_status, outcome.extra = OperationStatus.RUNNING.value, operation_extra("Create")
        _lifecycle().deploy_begun(conn, ws_id, body, service.new_secrets(payload))
        _lifecycle().deploy_begun(conn, ws_id, first, service.new_secrets({}))  # its keys are the endpoint's
        _save_endpoint(conn, ws_id, body, [first])
        supersede(cloud, conn, ws_id, name, "deployed again")
        op_id = cloud.operations.start(conn, ws_id, "service.create", name, outcome)
    _publish(cloud, ws_id, name)
    if outcome.pending:
        cloud.engine.deploy(ws_id, first["name"], op_id)
    return endpoints.present(cloud.store.read(), ws_id, service.get(cloud.store.read(), ws_id, name)), op_id


def _publish(cloud: Cloud, ws_id: str, name: str) -> None:
    """The endpoint's route (auth, split) on its cluster's gateway; its scoring URI recorded the first time."""
    uri = cloud.engine.publish_route(ws_id, name)
    with cloud.store.transaction() as conn:
        body = service.get(conn, ws_id, name)
        if body.get("scoringUri") != uri:
            body["scoringUri"] = uri
            _save_endpoint(conn, ws_id, body, endpoints.versions(conn, ws_id, name))


def update(cloud: Cloud, ws_body: dict[str, Any], name: str, patch: list[dict[str, Any]]) -> tuple[dict, str]:
    """Apply the SDK's JSON patch (create_version, update_version, delete_version, update); the operation."""
    ws_id = ws_body["id"]
    request = endpoints.VersionPatch(name, patch)
    with cloud.store.transaction() as conn:
        body = service.get(conn, ws_id, name)
        refuse_while_busy(cloud, conn, ws_id, name)
        current = {endpoints.version_name(v): v for v in endpoints.versions(conn, ws_id, name)}
        for version in request.removed + list(request.changed):
            if version not in current and version not in request.added:
                raise endpoints.version_missing(name, version)
        for version in request.added:
            if version in current:
                raise endpoints.version_exists(name, version)
        kept = {v: b for v, b in current.items() if v not in request.removed}
        if not kept and not request.added:
            raise BadRequest(f"Version {request.removed[0]} is the only version of endpoint {name}; delete the "
                             "endpoint instead.", code="BadRequest")
        if len(kept) + len(request.added) > MAX_ENDPOINT_VERSIONS:
            raise endpoints.too_many(name)
        endpoints.apply_own(body, request.own)
        deploying = []
        for version, version_payload in request.added.items():
            kept[version] = endpoints.version_body(conn, ws_body, body, version, version_payload)
            deploying.append(version)

        def models_of(ids: list[str]) -> list[dict[str, Any]]:
            return [models.get(conn, ws_id, i) for i in ids]

        for version, operations in request.changed.items():
            if endpoints.apply_to_version(kept[version], operations, models_of) and version not in deploying:
                deploying.append(version)
        if len(deploying) + (1 if request.removed else 0) > 1:
            raise BadRequest("One request deploys or removes one version of an endpoint.", code="BadRequest")
        endpoints.settle(name, list(kept.values()), request.defaults_set)
        lifecycle = _lifecycle()
        outcome = Outcome(OperationStatus.SUCCEEDED)
        for version in deploying:
            target = kept[version]
            outcome = _plan(conn, ws_id, target)
            target["deploymentStatus"]["desiredReplicas"] = service.desired_replicas(target)
            if version in request.added:
                lifecycle.deploy_begun(conn, ws_id, target, service.new_secrets({}))
            else:
                kept[version] = lifecycle.update_begun(conn, ws_id, target)
        for version, target in kept.items():
            if version not in deploying:
                kept[version] = lifecycle.patched(conn, ws_id, target)
        for version in request.removed:
            lifecycle.deleted(conn, ws_id, current[version]["name"])
        if request.removed:
            outcome = Outcome(pending=True)  # the engine resolves it once the version's replicas are down
        _save_endpoint(conn, ws_id, body, list(kept.values()))
        outcome.running_status, outcome.extra = OperationStatus.RUNNING.value, operation_extra("Update")
        op_id = cloud.operations.start(conn, ws_id, "service.update", name, outcome)
    _publish(cloud, ws_id, name)  # the new split (a removed version takes no more requests), keys, auth
    if request.removed:
        cloud.engine.delete_several(ws_id, [current[v]["name"] for v in request.removed], op_id)
    elif deploying and outcome.pending:
        cloud.engine.deploy(ws_id, kept[deploying[0]]["name"], op_id)
    return endpoints.present(cloud.store.read(), ws_id, service.get(cloud.store.read(), ws_id, name)), op_id


def delete(cloud: Cloud, ws_id: str, name: str) -> str:
    """Start deleting the endpoint and every version of it; the operation id."""
    with cloud.store.transaction() as conn:
        refuse_while_busy(cloud, conn, ws_id, name)
        hidden = [v["name"] for v in endpoints.versions(conn, ws_id, name)]
        for version in hidden:
            _lifecycle().deleted(conn, ws_id, version)
        op_id = cloud.operations.start(conn, ws_id, "service.delete", name,
                                       Outcome(pending=True, running_status=OperationStatus.RUNNING.value,
                                               extra=operation_extra("Delete")))
    cloud.engine.unpublish_route(ws_id, name)
    cloud.engine.delete_several(ws_id, hidden, op_id)
    return op_id


def finish_operation(conn: sqlite3.Connection, ws_id: str, name: str, outcome: Any) -> bool:
    """A revealed create/update operation of an endpoint: its deploying version becomes Healthy or Failed
    (lifecycle's transition), and the endpoint's state follows. False when ``name`` is not an endpoint."""
    found = service.row(conn, ws_id, name)
    if found is None or not endpoints.is_endpoint(json.loads(found["body"])):
        return False
    for version in endpoints.versions(conn, ws_id, name):  # only the deploying one is Transitioning
        _lifecycle().deploy_operation_finished(conn, ws_id, version["name"], outcome)
    body = json.loads(found["body"])
    _save_endpoint(conn, ws_id, body, endpoints.versions(conn, ws_id, name))
    return True
