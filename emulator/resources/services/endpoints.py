"""AKS endpoints (the SDK's ``AksEndpoint``, computeType AKSENDPOINT): up to six versions behind one scoring
URI, each with a share of the traffic; what is not assigned goes to the default version (no Flask here).

An endpoint is a row of its own (its keys, auth, tags, scoring URI) without replicas. Each version is a
hidden AKS service row named ``<endpoint>.<version>`` (a dot no service name can hold), deployed by the
engine like any service and never listed as one; its record says which endpoint it belongs to. The
endpoint's state and its ``versions`` map are derived from the version rows whenever it is read, and its
traffic split (``fakeAzure.split``: the versions' routes and weights) is what the gateway routes by."""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable, Iterable

from pydantic import TypeAdapter

from ... import paths
from ...errors import BadRequest, Conflict, NotFound
from ..models import service as models
from . import service
from .schema import ENDPOINT, MAX_ENDPOINT_VERSIONS, ServiceName

# A version's own fields (the rest of a /versions/<v>/... patch is the version's service body).
_PLACEMENT_FIELDS = ("isDefault", "type", "trafficPercentile")
# What a patch may change on the endpoint itself (AksEndpoint.update).
_ENDPOINT_FIELDS = ("/authEnabled", "/aadAuthEnabled", "/appInsightsEnabled", "/kvTags", "/description")
CONTROL, TREATMENT = "Control", "Treatment"
_VERSION_NAME: TypeAdapter[str] = TypeAdapter(ServiceName)


class VersionNotFound(NotFound):
    code = "WebserviceNotFound"


def hidden_name(endpoint: str, version: str) -> str:
    return f"{endpoint}.{version}"


def is_hidden(name: str) -> bool:
    """Whether ``name`` is a version's row (service names hold no dot)."""
    return "." in name


def is_endpoint(body: dict[str, Any]) -> bool:
    return body.get("computeType") == ENDPOINT


def version_of(body: dict[str, Any]) -> str | None:
    """The version name of a version's row, None for any other service."""
    return (body.get("fakeAzure") or {}).get("version")


def version_name(body: dict[str, Any]) -> str:
    """The version name of one of ``versions()``' records."""
    return str(body["fakeAzure"]["version"])


def versions(conn: sqlite3.Connection, ws_id: str, endpoint: str) -> list[dict[str, Any]]:
    """The endpoint's version records, oldest first."""
    rows = conn.execute("SELECT body FROM services WHERE workspace_id = ? AND name LIKE ? ORDER BY created_at",
                        (ws_id, endpoint + ".%")).fetchall()
    bodies = [json.loads(r["body"]) for r in rows]
    return [b for b in bodies if (b.get("fakeAzure") or {}).get("endpoint") == endpoint]


# --- what the SDK reads ---------------------------------------------------------------------------------

def present(conn: sqlite3.Connection, ws_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """An endpoint as the SDK reads it: its record, its state derived, its versions as AKS services
    (``AksEndpoint.versions``) behind its scoring URI and auth."""
    from ...deploy import lifecycle  # the deployment core imports this package

    version_bodies = versions(conn, ws_id, body["name"])
    shown = {key: value for key, value in body.items() if key != "fakeAzure"}
    if version_bodies:  # read now: a version's replica lost since the last write shows
        state, shown["error"] = lifecycle.endpoint_state(version_bodies)
        shown["state"] = state.value
    shown["versions"] = {}
    for version in version_bodies:
        view = {key: value for key, value in version.items() if key != "fakeAzure"}
        view.update(name=version_name(version), scoringUri=body.get("scoringUri"), authEnabled=body.get("authEnabled"),
                    aadAuthEnabled=body.get("aadAuthEnabled"))
        shown["versions"][version_name(version)] = view
    return shown


def listed(conn: sqlite3.Connection, ws_id: str, bodies: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """A service list as the SDK gets it: versions are not services of their own, endpoints are presented."""
    return [present(conn, ws_id, b) if is_endpoint(b) else b for b in bodies if version_of(b) is None]


# --- the split --------------------------------------------------------------------------------------------

def split(endpoint: str, version_bodies: list[dict[str, Any]]) -> list[list[Any]]:
    """The gateway's weights: each version's traffic percentile, the default version's plus what no version
    was given. 400 when the percentiles add up to more than 100."""
    total = sum(int(b.get("trafficPercentile") or 0) for b in version_bodies)
    if total > 100:
        raise BadRequest(f"The traffic percentiles of endpoint {endpoint}'s versions add up to {total}; together "
                         "they cannot exceed 100 (the default version takes what is left).", code="BadRequest")
    weights = []
    for body in version_bodies:
        weight = int(body.get("trafficPercentile") or 0) + (100 - total if body.get("isDefault") else 0)
        weights.append([body["name"], weight])
    return weights


def settle(endpoint: str, version_bodies: list[dict[str, Any]], defaults_set: list[str]) -> None:
    """One default version (the last one a patch made default, else the oldest), at most one control."""
    named = {version_name(b): b for b in version_bodies}
    chosen = next((v for v in reversed(defaults_set) if v in named), None)
    if chosen is None:
        defaults = [v for v, b in named.items() if b.get("isDefault")]
        chosen = defaults[0] if defaults else next(iter(named), None)
    for name, body in named.items():
        body["isDefault"] = name == chosen
    controls = [v for v, b in named.items() if b.get("type") == CONTROL]
    if len(controls) > 1:
        raise BadRequest(f"Endpoint {endpoint} can have one control version, not {len(controls)} "
                         f"({', '.join(controls)}); the others are treatments.", code="BadRequest")


# --- records ----------------------------------------------------------------------------------------------

def check_version_name(endpoint: str, name: str) -> str:
    """A version name is a service name (the SDK's rule) and a single path segment (its folder's name)."""
    _VERSION_NAME.validate_python(name)  # the SDK's "provided service name is invalid" text when it is not
    return paths.segment(name, "version name", "BadArgument")


def endpoint_body(ws: dict[str, Any], payload: dict[str, Any], now: str) -> dict[str, Any]:
    """The endpoint's own record (``AksEndpointDeploymentConfiguration._build_create_payload``)."""
    aad = bool(payload.get("aadAuthEnabled"))
    return {
        "name": payload["name"], "description": payload.get("description"),
        "kvTags": payload.get("kvTags") or {}, "properties": payload.get("properties") or {},
        "createdTime": now, "updatedTime": now, "error": None,
        "computeType": ENDPOINT, "computeName": payload.get("computeName"), "scoringUri": None,
        # Key auth is on by default, as for an AKS service (unless token auth is asked for).
        "authEnabled": payload["authEnabled"] if payload.get("authEnabled") is not None else not aad,
        "aadAuthEnabled": aad, "appInsightsEnabled": bool(payload.get("appInsightsEnabled")),
        "namespace": payload.get("namespace") or "azureml-" + ws["name"],
        "deploymentStatus": None, "createdBy": {"userName": "fake-azure"}, "location": ws["location"],
        "fakeAzure": {"replicas": [], "split": []},
    }


def version_body(conn: sqlite3.Connection, ws: dict[str, Any], endpoint: dict[str, Any], name: str,
                 payload: dict[str, Any]) -> dict[str, Any]:
    """A version's record: an AKS service on the endpoint's cluster, auth left to the endpoint's route."""
    request = payload["environmentImageRequest"]
    model_dtos = [models.get(conn, ws["id"], model_id) for model_id in request.get("modelIds") or []]
    as_service = {**payload, "name": hidden_name(endpoint["name"], name), "computeType": "AKS",
                  "computeName": endpoint["computeName"], "authEnabled": False, "aadAuthEnabled": False,
                  "kvTags": payload.get("kvTags") or payload.get("tags"),
                  "namespace": payload.get("namespace") or endpoint["namespace"]}
    body = service.build_body(conn, ws, as_service, model_dtos)
    body.update(trafficPercentile=int(payload.get("trafficPercentile") or 0), isDefault=bool(payload.get("isDefault")),
                type=payload.get("type") or TREATMENT)
    body["fakeAzure"].update(endpoint=endpoint["name"], version=name)
    return body


class VersionPatch:
    """A JSON patch sorted by what it touches: versions added, removed, changed; the endpoint's own fields."""

    def __init__(self, endpoint: str, patch: list[dict[str, Any]]) -> None:
        self.added: dict[str, dict[str, Any]] = {}
        self.removed: list[str] = []
        self.changed: dict[str, list[dict[str, Any]]] = {}
        self.own: list[dict[str, Any]] = []
        self.defaults_set: list[str] = []
        for operation in patch:
            op, path = operation.get("op"), operation.get("path", "")
            parts = path.strip("/").split("/")
            if parts[0] != "versions":
                # Exact paths (AksEndpoint.update's): a prefix would let "/authEnabledX" or "/kvTags/k" through.
                own = path in _ENDPOINT_FIELDS or (parts[0] == "properties" and len(parts) == 2 and bool(parts[1]))
                if not own or op == "remove":
                    raise BadRequest(f"Unsupported patch operation {op} {path!r} on endpoint {endpoint}.",
                                     code="BadRequest")
                self.own.append(operation)
                continue
            if len(parts) < 2:
                raise BadRequest(f"Unsupported patch operation {op} {path!r} on endpoint {endpoint}.",
                                 code="BadRequest")
            version = check_version_name(endpoint, parts[1])
            if len(parts) == 2 and op == "add":
                self.added[version] = {**operation.get("value", {}), "name": version}
                if self.added[version].get("isDefault"):
                    self.defaults_set.append(version)
            elif len(parts) == 2 and op == "remove":
                self.removed.append(version)
            elif len(parts) > 2 and op in ("replace", "add"):
                inner = "/" + "/".join(parts[2:])
                if inner == "/tags":  # update_version's name for the version's tags
                    inner = "/kvTags"
                if inner == "/isDefault" and operation.get("value"):
                    self.defaults_set.append(version)
                self.changed.setdefault(version, []).append({**operation, "path": inner})
            else:
                raise BadRequest(f"Unsupported patch operation {op} {path!r} on endpoint {endpoint}.",
                                 code="BadRequest")


def apply_own(body: dict[str, Any], operations: list[dict[str, Any]]) -> None:
    """The endpoint's own fields (``AksEndpoint.update``): auth, app insights, tags, properties, description."""
    for operation in operations:
        parts = operation["path"].strip("/").split("/")
        if parts[0] == "properties":
            body.setdefault("properties", {})[parts[1]] = operation.get("value")
        else:
            body[parts[0]] = operation.get("value")
    if body.get("authEnabled") and body.get("aadAuthEnabled"):
        raise BadRequest("An endpoint cannot have both key and token authentication enabled.", code="BadRequest")


def apply_to_version(body: dict[str, Any], operations: list[dict[str, Any]],
                     models_of: Callable[[list[str]], list[dict[str, Any]]]) -> bool:
    """A version's changes: its placement fields here, the rest as a service's patch. Whether it redeploys."""
    placement = [o for o in operations if o["path"].strip("/") in _PLACEMENT_FIELDS]
    for operation in placement:
        body[operation["path"].strip("/")] = operation.get("value")
    if body.get("trafficPercentile") is None:
        body["trafficPercentile"] = 0
    rest = [o for o in operations if o not in placement]
    if not rest:
        return False
    hidden = body["name"]
    body["name"] = version_name(body)  # checked as a service's name would be: the version's is one
    try:
        return service.apply_patch(body, rest, models_of)
    finally:
        body["name"] = hidden


def version_missing(endpoint: str, version: str) -> VersionNotFound:
    return VersionNotFound(f"Endpoint {endpoint} has no version named {version}.")


def version_exists(endpoint: str, version: str) -> Conflict:
    return Conflict(f"Endpoint {endpoint} already has a version named {version}.", code="Conflict")


def too_many(endpoint: str) -> BadRequest:
    return BadRequest(f"Endpoint {endpoint} can have at most {MAX_ENDPOINT_VERSIONS} versions.", code="BadRequest")
