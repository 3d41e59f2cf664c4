"""What ``fake-azure ps`` lists (no Flask here): every deployment of every workspace, in the words of the SDK
that made it, with its compute, state, replicas running of desired and scoring URI.

The deployment core keeps one record per deployment in the services table; this module tells them apart:
an SDK v1 webservice (ACI, AKS, Local) by its own name; an AKS endpoint's version (hidden record
``{endpoint}.{version}``) as ``ENDPOINT/VERSION``, the endpoint itself holding no replicas; an SDK v2 online
deployment (core record ``{endpoint}~{deployment}``) as ``ENDPOINT/DEPLOYMENT``, with its ARM state."""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from ...arm import deployments as deployments_api
from ...arm.deployment_records import FRONT_END
from ...deploy.records import ReplicaState, ServiceRecord
from ..services import endpoints
from ..services import service as services


def _v1_compute(body: dict[str, Any]) -> str:
    kind = str(body.get("computeType") or "")
    if kind in ("ACI", services.LOCAL):
        return kind
    return str(body.get("computeName") or kind)


def _replicas(body: dict[str, Any]) -> tuple[int, int]:
    """(running, desired): replicas whose process serves, and how many the deployment wants now."""
    record = ServiceRecord.from_wire(body)
    running = sum(1 for r in record.replicas if r.state == ReplicaState.RUNNING)
    return running, record.deployment_status.desired or services.desired_replicas(body)


def _entry(ws: sqlite3.Row, sdk: str, kind: str, name: str, compute: str, state: str, body: dict[str, Any],
           scoring_uri: str | None) -> dict[str, Any]:
    running, desired = _replicas(body)
    return {"workspace": ws["name"], "resourceGroup": ws["resource_group"], "subscriptionId": ws["subscription_id"],
            "sdk": sdk, "kind": kind, "name": name, "compute": compute, "state": state,
            "coreState": body.get("state"), "replicas": {"running": running, "desired": desired},
            "scoringUri": scoring_uri}


def _v2_entry(conn: sqlite3.Connection, ws: sqlite3.Row, body: dict[str, Any]) -> dict[str, Any]:
    extra = body["fakeAzure"]
    endpoint, deployment = str(extra["onlineEndpoint"]), str(extra["onlineDeployment"])
    found = conn.execute("SELECT body FROM online_endpoints WHERE workspace_id = ? AND name = ?",
                         (ws["id"], endpoint)).fetchone()
    endpoint_props = json.loads(found["body"])["properties"] if found is not None else {}
    arm = conn.execute("SELECT * FROM online_deployments WHERE workspace_id = ? AND endpoint = ? AND name = ?",
                       (ws["id"], endpoint, deployment)).fetchone()
    # The provisioning state as the client reads it now (derived from the core record's state; the stored body
    # keeps the PUT's Creating/Updating). A view: unlike a client's GET, it counts as no poll.
    state = deployments_api.current(conn, ws["id"], arm)["properties"].get("provisioningState") \
        if arm is not None else None
    # A Kubernetes deployment runs on the endpoint's attached compute (its ARM id): the user's name for it.
    compute = str(endpoint_props["compute"]).rstrip("/").rsplit("/", 1)[-1] if endpoint_props.get("compute") \
        else "Managed"
    return _entry(ws, "v2", "online deployment", f"{endpoint}/{deployment}", compute,
                  str(state or body.get("state")), body, endpoint_props.get("scoringUri"))


def deployments(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every deployment of every workspace, workspaces and deployments oldest first."""
    listed: list[dict[str, Any]] = []
    for ws in conn.execute("SELECT id, subscription_id, resource_group, name FROM workspaces ORDER BY created_at"):
        rows = conn.execute("SELECT body FROM services WHERE workspace_id = ? ORDER BY created_at", (ws["id"],))
        bodies = [json.loads(r["body"]) for r in rows]
        endpoint_uris = {b["name"]: b.get("scoringUri") for b in bodies if endpoints.is_endpoint(b)}
        for body in bodies:
            extra = body.get("fakeAzure") or {}
            if extra.get("frontEnd") == FRONT_END:
                listed.append(_v2_entry(conn, ws, body))
            elif endpoints.is_endpoint(body):
                continue  # no replicas of its own: its versions are listed
            elif endpoints.version_of(body) is not None:
                endpoint = str(extra.get("endpoint"))
                listed.append(_entry(ws, "v1", "endpoint version", f"{endpoint}/{endpoints.version_name(body)}",
                                     _v1_compute(body), str(body.get("state")), body, endpoint_uris.get(endpoint)))
            else:
                listed.append(_entry(ws, "v1", "webservice", str(body["name"]), _v1_compute(body),
                                     str(body.get("state")), body, body.get("scoringUri")))
    return listed
