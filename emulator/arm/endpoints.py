"""SDK v2 online endpoints (no Flask here): the endpoint as an ARM resource, its traffic rules, its keys and
aml tokens, and the ARM long-running operations the client polls.

An endpoint is one ``online_endpoints`` row (ARM body, two keys, a token secret); its deployments are
``online_deployments`` rows. Creating or updating an endpoint does no work that takes time, so its operation
is finished when it is recorded; deployments' operations follow their rollout."""
from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from typing import Annotated, Any, Callable

from pydantic import StringConstraints

from ..deploy import tokens
from ..error_catalog import (
    arm_operation_not_found,
    endpoint_not_found,
    mirror_traffic_invalid,
    traffic_to_missing_deployments,
    traffic_total_invalid,
    wrong_auth_mode,
)
from ..errors import BadRequest, NotFound
from ..validation import canonical
from .assets import PROVIDER, _system_data
from .endpoint_schema import NETWORK_ACCESS

ENDPOINT_TYPE = f"{PROVIDER}/workspaces/onlineEndpoints"
MAX_MIRROR_PERCENT = 50
OPERATION_KEPT_S = 24 * 3600
DELEGATED = "Delegated"  # an arm_operations row whose status is the core operation's of the same id
DELEGATED_ALL = "DelegatedAll"  # ... whose status is that of every core operation its error column lists
# The core's operation statuses as ARM's (azure-core polls until succeeded, failed or canceled).
_ARM_STATUS = {"Succeeded": "Succeeded", "Failed": "Failed", "Cancelled": "Canceled", "Canceled": "Canceled"}
OperationId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{36}$")]


def _workspace_name(workspace_id: str) -> str:
    return workspace_id.rsplit("/", 1)[1]


def _row(conn: sqlite3.Connection, workspace_id: str, name: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM online_endpoints WHERE workspace_id = ? AND name = ?",
                       (workspace_id, name)).fetchone()
    if row is None:
        raise NotFound.of(endpoint_not_found(name, _workspace_name(workspace_id)))
    return row


def deployment_names(conn: sqlite3.Connection, workspace_id: str, endpoint: str) -> list[str]:
    return [r["name"] for r in conn.execute(
        "SELECT name FROM online_deployments WHERE workspace_id = ? AND endpoint = ? ORDER BY created_at",
        (workspace_id, endpoint))]


def record(conn: sqlite3.Connection, workspace_id: str, name: str) -> sqlite3.Row:
    """The endpoint's row (body, keys, token secret); 404 when there is none."""
    return _row(conn, workspace_id, name)


def check_traffic(traffic: dict[str, int], mirror: dict[str, int], deployments: list[str], endpoint: str) -> None:
    """Azure's rules: live traffic adds up to 0 or 100 and names existing deployments; mirror traffic goes to
    one existing deployment, at most 50%, that takes no live traffic."""
    known = {d.lower() for d in deployments}
    missing = sorted(n for n in {**traffic, **mirror} if n.lower() not in known)
    if missing:
        raise BadRequest.of(traffic_to_missing_deployments(missing, endpoint))
    total = sum(traffic.values())
    if total not in (0, 100):
        raise BadRequest.of(traffic_total_invalid(total))
    mirrored = {n: p for n, p in mirror.items() if p}
    if len(mirrored) > 1:
        raise BadRequest.of(mirror_traffic_invalid("only one deployment can receive mirrored traffic."))
    for name, percent in mirrored.items():
        if percent > MAX_MIRROR_PERCENT:
            raise BadRequest.of(mirror_traffic_invalid(f"at most {MAX_MIRROR_PERCENT}% can be mirrored."))
        if traffic.get(name):
            raise BadRequest.of(mirror_traffic_invalid(f"deployment {name} already receives live traffic."))


def _canonical(names: dict[str, int], deployments: list[str]) -> dict[str, int]:
    # The client lowercases traffic keys; keep each deployment's own spelling.
    spelled = {d.lower(): d for d in deployments}
    return {spelled.get(n.lower(), n): p for n, p in names.items() if p}


def put(conn: sqlite3.Connection, workspace_id: str, name: str, payload: dict[str, Any], scoring_base: str,
        now: float) -> tuple[dict[str, Any], bool]:
    """Create or update an endpoint. Returns (the response body, created); the stored record is Succeeded."""
    old = conn.execute("SELECT body, created_at FROM online_endpoints WHERE workspace_id = ? AND name = ?",
                       (workspace_id, name)).fetchone()
    props = payload["properties"]
    deployments = deployment_names(conn, workspace_id, name)
    traffic, mirror = props.get("traffic") or {}, props.get("mirrorTraffic") or {}
    check_traffic(traffic, mirror, deployments, name)
    if props.get("compute") and any(mirror.values()):  # Azure's rule: no mirrored traffic on Kubernetes
        raise BadRequest.of(mirror_traffic_invalid("mirror traffic is not supported on Kubernetes online endpoints"))
    if old is not None and bool(props.get("compute")) != bool(json.loads(old["body"])["properties"].get("compute")):
        raise BadRequest("An endpoint's compute type cannot change: delete it and create it again.",
                         code="BadArgument")
    old_body = json.loads(old["body"]) if old is not None else None
    old_props = old_body["properties"] if old_body else {}
    uri = f"{scoring_base}{workspace_id}/onlineEndpoints/{name}"
    identity = (old_body or {}).get("identity") or {
        "type": (payload.get("identity") or {}).get("type", "SystemAssigned"),
        "principalId": str(uuid.uuid4()), "tenantId": str(uuid.uuid4())}
    stored_props = {
        "authMode": props["authMode"], "description": props.get("description", old_props.get("description")),
        "properties": props.get("properties") or old_props.get("properties") or {},
        "traffic": _canonical(traffic, deployments), "mirrorTraffic": _canonical(mirror, deployments),
        "scoringUri": f"{uri}/score", "swaggerUri": f"{uri}/swagger.json",
        "publicNetworkAccess": canonical(props.get("publicNetworkAccess") or "Enabled", NETWORK_ACCESS),
        "provisioningState": "Succeeded"}
    if props.get("compute"):
        stored_props["compute"] = props["compute"]
    created = old["created_at"] if old is not None else now
    body = {"id": f"{workspace_id}/onlineEndpoints/{name}", "name": name, "type": ENDPOINT_TYPE,
            "location": payload["location"],
            "kind": payload.get("kind") or ("K8S" if props.get("compute") else "Managed"),
            "identity": identity, "tags": payload.get("tags") or {}, "properties": stored_props,
            "systemData": _system_data(created, now)}
    if old is None:
        conn.execute("INSERT INTO online_endpoints (workspace_id, name, body, primary_key, secondary_key, token_secret,"
                     " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (workspace_id, name, json.dumps(body), secrets.token_urlsafe(24), secrets.token_urlsafe(24),
                      secrets.token_hex(32), now))
    else:
        conn.execute("UPDATE online_endpoints SET body = ? WHERE workspace_id = ? AND name = ?",
                     (json.dumps(body), workspace_id, name))
    # The PUT's own answer shows the transition; the operation it returns is already finished.
    answer = json.loads(json.dumps(body))
    answer["properties"]["provisioningState"] = "Creating" if old is None else "Updating"
    return answer, old is None


def get(conn: sqlite3.Connection, workspace_id: str, name: str) -> dict[str, Any]:
    return json.loads(_row(conn, workspace_id, name)["body"])


def list_all(conn: sqlite3.Connection, workspace_id: str) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in conn.execute(
        "SELECT body FROM online_endpoints WHERE workspace_id = ? ORDER BY created_at", (workspace_id,))]


def delete(conn: sqlite3.Connection, workspace_id: str, name: str) -> None:
    _row(conn, workspace_id, name)
    conn.execute("DELETE FROM online_deployments WHERE workspace_id = ? AND endpoint = ?", (workspace_id, name))
    conn.execute("DELETE FROM online_endpoints WHERE workspace_id = ? AND name = ?", (workspace_id, name))


def _require_auth(row: sqlite3.Row, wanted: str) -> None:
    mode = json.loads(row["body"])["properties"]["authMode"]
    if mode != wanted:
        raise BadRequest.of(wrong_auth_mode(row["name"], mode, wanted))


def keys_of(conn: sqlite3.Connection, workspace_id: str, name: str) -> dict[str, str]:
    """The endpoint's keys whatever its auth mode (its deployments' gateway routes are guarded by them)."""
    row = _row(conn, workspace_id, name)
    return {"primaryKey": row["primary_key"], "secondaryKey": row["secondary_key"]}


def keys(conn: sqlite3.Connection, workspace_id: str, name: str) -> dict[str, str]:
    row = _row(conn, workspace_id, name)
    _require_auth(row, "Key")
    return {"primaryKey": row["primary_key"], "secondaryKey": row["secondary_key"]}


def regenerate_key(conn: sqlite3.Connection, workspace_id: str, name: str, key_type: str) -> None:
    """A new random key. The request's ``keyValue`` is ignored: azure-ai-ml sends the current key there, and
    regenerating must still change it."""
    row = _row(conn, workspace_id, name)
    _require_auth(row, "Key")
    column = "primary_key" if key_type == "Primary" else "secondary_key"
    conn.execute(f"UPDATE online_endpoints SET {column} = ? WHERE workspace_id = ? AND name = ?",
                 (secrets.token_urlsafe(24), workspace_id, name))


def token(conn: sqlite3.Connection, workspace_id: str, name: str, now: float | None = None) -> dict[str, Any]:
    row = _row(conn, workspace_id, name)
    _require_auth(row, "AMLToken")
    issued = tokens.issue(row["token_secret"], f"{workspace_id}/onlineEndpoints/{name}", now)
    return {"accessToken": issued["accessToken"], "tokenType": "Bearer",
            "expiryTimeUtc": issued["expiryOn"], "refreshAfterTimeUtc": issued["refreshAfter"]}


def start_operation(conn: sqlite3.Connection, workspace_id: str, status: str = "Succeeded",
                    error: dict[str, Any] | None = None) -> str:
    op_id = str(uuid.uuid4())
    # Clients poll an operation for moments; a day-old one is nobody's any more.
    conn.execute("DELETE FROM arm_operations WHERE created_at < ?", (time.time() - OPERATION_KEPT_S,))
    conn.execute("INSERT INTO arm_operations (id, workspace_id, status, error, created_at) VALUES (?, ?, ?, ?, ?)",
                 (op_id, workspace_id, status, json.dumps(error) if error else None, time.time()))
    return op_id


def delegate_operation(conn: sqlite3.Connection, workspace_id: str, op_id: str) -> None:
    """An ARM operation URL for the core operation ``op_id`` (a deployment's): its status is the core's."""
    conn.execute("INSERT INTO arm_operations (id, workspace_id, status, error, created_at) VALUES (?, ?, ?, ?, ?)",
                 (op_id, workspace_id, DELEGATED, None, time.time()))


def delegate_operations(conn: sqlite3.Connection, workspace_id: str, core_ops: list[str]) -> str:
    """An ARM operation that ends when every one of ``core_ops`` has (an endpoint's delete: its deployments')."""
    op_id = str(uuid.uuid4())
    conn.execute("INSERT INTO arm_operations (id, workspace_id, status, error, created_at) VALUES (?, ?, ?, ?, ?)",
                 (op_id, workspace_id, DELEGATED_ALL, json.dumps(core_ops), time.time()))
    return op_id


def operation(conn: sqlite3.Connection, op_id: str,
              core_poll: Callable[[str, str], dict[str, Any]]) -> dict[str, Any]:
    """An operation's ARM status body; ``core_poll(workspace_id, op_id)`` polls a delegated one."""
    row = conn.execute("SELECT * FROM arm_operations WHERE id = ?", (op_id,)).fetchone()
    if row is None:
        raise NotFound.of(arm_operation_not_found(op_id))
    status, error = row["status"], json.loads(row["error"]) if row["error"] else None
    if status == DELEGATED:
        polled = core_poll(row["workspace_id"], op_id)
        status, error = _ARM_STATUS.get(polled["status"], "InProgress"), polled.get("error")
    elif status == DELEGATED_ALL:  # each poll also advances the core operations (their finishers run)
        polls = [core_poll(row["workspace_id"], core_op) for core_op in error or []]
        states = [_ARM_STATUS.get(p["status"], "InProgress") for p in polls]
        failed = next((p for p, state in zip(polls, states) if state == "Failed"), None)
        status = "Failed" if failed else "InProgress" if "InProgress" in states else "Succeeded"
        error = failed.get("error") if failed else None
    body: dict[str, Any] = {"id": op_id, "name": op_id, "status": status}
    if error and status == "Failed":
        body["error"] = error
    return body
