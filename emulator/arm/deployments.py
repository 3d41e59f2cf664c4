"""SDK v2 managed online deployments (no Flask here): a front end on the deployment core, as a v1 webservice is.

A deployment is two records: its ARM body (``online_deployments``), which the client reads, and a core record
in ``services`` named ``{endpoint}~{deployment}`` (no v1 name holds a '~', and AKS endpoint versions use a
dot, so none of them clash) that the deployment engine runs: replicas of one environment, code and models,
behind a gateway, supervised, with get_logs. Its operations are the core's (``service.create/update/delete``,
with the core's finishers); the ARM operation URLs the client polls name them (endpoints.delegate_operation).

Model, code and environment versions are read here, once, into the core record's ``fakeAzure.launch``:
the blobs of the workspace storage account they name (relative paths, content digests), so the engine never
reads a v2 asset."""
from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from typing import TYPE_CHECKING, Any

import yaml

from .. import catalog
from ..deploy import lifecycle
from ..error_catalog import (
    asset_reference_not_served,
    crash_loop_back_off,
    deployment_crash_loop_back_off,
    deployment_has_traffic,
    deployment_not_found,
    deployment_operation_in_progress,
    deployment_timed_out,
    endpoint_compute_type_mismatch,
    environment_build_failed,
    image_build_failure,
    instance_type_not_supported,
    kubernetes_unschedulable,
    out_of_quota,
    resource_not_ready,
)
from ..errors import BadRequest, NotFound
from ..operations import OperationStatus, Outcome
from ..paths import relative_path
from ..resources.services import actions
from ..resources.services import service as services
from ..resources.services.state import ServiceState
from ..scheduler import Unschedulable
from . import assets, endpoints, kubernetes
from .deployment_records import (
    CORE_SEPARATOR,
    KUBERNETES,
    MANAGED,
    Sizing,
    arm_body,
    core_name,
    core_record,
    managed_replicas,
)

if TYPE_CHECKING:
    from ..cloud import Cloud

_VERSIONED = re.compile(r"/workspaces/(?P<ws>[^/]+)/(?P<kind>models|environments|codes)/(?P<name>[^/]+)"
                        r"/versions/(?P<version>[^/]+)$")
# The core record's state, as the ARM body's provisioningState (Transitioning: the PUT's own word).
_PROVISIONING = {ServiceState.HEALTHY.value: "Succeeded", ServiceState.UNHEALTHY.value: "Succeeded",
                 ServiceState.FAILED.value: "Failed", ServiceState.UNSCHEDULABLE.value: "Failed"}


# --- the assets a deployment names ------------------------------------------------------------------------

def _version(conn: sqlite3.Connection, ws_body: dict[str, Any], kind: str, reference: str) -> tuple[str, str, dict]:
    """(name, version, ARM body) of the asset version an ARM id names; 400 for what is not served here."""
    found = _VERSIONED.search(reference or "")
    if found is None or found["kind"] != kind or found["ws"].lower() != ws_body["name"].lower():
        raise BadRequest.of(asset_reference_not_served(kind, reference))
    return found["name"], found["version"], assets.get_version(conn, ws_body["id"], kind, found["name"],
                                                               found["version"])


def _blobs_under(conn: sqlite3.Connection, account: str, container: str, path: str) -> dict[str, str]:
    """{blob name: sha256} of the blob ``path`` itself and of every blob below it."""
    rows = conn.execute("SELECT name, sha256 FROM storage_blobs WHERE account = ? AND container = ? AND "
                        "(name = ? OR substr(name, 1, ?) = ?)",
                        (account, container, path, len(path) + 1, path + "/")).fetchall()
    return {r["name"]: r["sha256"] for r in rows}


def _location_of(ws_body: dict[str, Any], uri: str, kind: str) -> tuple[str, str, str]:
    """(account, container, path) of an asset's content: a datastore path or a blob URL of the workspace's account."""
    location = assets.content_location(ws_body, uri)
    if location is None:
        raise BadRequest.of(asset_reference_not_served(kind, uri))
    return location


def _model_files(conn: sqlite3.Connection, ws_body: dict[str, Any], name: str, version: str, uri: str
                 ) -> dict[str, str]:
    """A model's files relative to AZUREML_MODEL_DIR, registered by either SDK: the registered file or folder keeps
    its own name there (a v1 model's layout is the one its v1 services have)."""
    files = assets.model_files(conn, ws_body, name, version)
    if files is None:
        raise BadRequest.of(asset_reference_not_served("models", uri))
    return {path: digest for path, (digest, _) in files.items()}


def _code_files(conn: sqlite3.Connection, ws_body: dict[str, Any], uri: str) -> dict[str, str]:
    """A code folder's files relative to the folder (the app root the scoring script is named in)."""
    account, container, path = _location_of(ws_body, uri, "codes")
    return {name[len(path) + 1:]: digest for name, digest in _blobs_under(conn, account, container, path).items()
            if name != path}


def _environment(version: dict[str, Any], variables: dict[str, str]) -> dict[str, Any]:
    """A v2 environment (image + conda file) in the shape the core builds from (a serialized v1 Environment)."""
    props = version["properties"]
    if props.get("build"):
        raise BadRequest.of(asset_reference_not_served("environments", version["id"] + " (a Docker build context)"))
    try:  # the environment route keeps condaFile as the string it was given
        conda = yaml.safe_load(props.get("condaFile") or "") or {}
    except yaml.YAMLError as exc:
        raise BadRequest(f"The conda file of environment {version['id']} is not valid YAML: "
                         f"{str(exc).splitlines()[0]}", code="BadArgument") from None
    return {"name": version["id"], "python": {"condaDependencies": conda if isinstance(conda, dict) else {},
                                              "userManagedDependencies": False},
            "docker": {"baseImage": props.get("image")}, "environmentVariables": variables}


def _launch(conn: sqlite3.Connection, ws_body: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    launch: dict[str, Any] = {"models": [], "source": None}
    if props.get("model"):
        name, version, body = _version(conn, ws_body, "models", props["model"])
        if not version.isdigit():  # the replica layout's model folders are numbered, as v1's
            raise BadRequest.of(asset_reference_not_served("models", f"{props['model']} (a version that is not a "
                                                                     "number)"))
        launch["models"].append({"name": name, "version": version,
                                 "files": _model_files(conn, ws_body, name, version,
                                                       body["properties"].get("modelUri") or "")})
    code = props.get("codeConfiguration")
    if code:
        _, _, body = _version(conn, ws_body, "codes", code["codeId"])
        files = _code_files(conn, ws_body, body["properties"]["codeUri"])
        key = hashlib.sha256(json.dumps(sorted(files.items())).encode()).hexdigest()[:32]
        # Refused here, before anything is written (the launch resolves it inside the code folder again).
        entry = relative_path(code["scoringScript"], "scoring script")
        launch["source"] = {"key": key, "files": files, "entry": entry}
    return launch


# --- records ------------------------------------------------------------------------------------------------

def _row(conn: sqlite3.Connection, ws_body: dict[str, Any], endpoint: str, name: str) -> sqlite3.Row:
    found = conn.execute("SELECT * FROM online_deployments WHERE workspace_id = ? AND endpoint = ? AND name = ?",
                         (ws_body["id"], endpoint, name)).fetchone()
    if found is None:
        raise NotFound.of(deployment_not_found(name, endpoint, ws_body["name"]))
    return found


def current(conn: sqlite3.Connection, ws_id: str, row: sqlite3.Row) -> dict[str, Any]:
    """The ARM body as the client sees it now: its provisioning state read from the core record's state (a view;
    nothing is written)."""
    body = json.loads(row["body"])
    core = services.row(conn, ws_id, core_name(row["endpoint"], row["name"]))
    if core is None or core["state"] not in _PROVISIONING:
        return body  # the PUT's own word (Creating, Updating) while the core record is Transitioning
    return {**body, "properties": {**body["properties"], "provisioningState": _PROVISIONING[core["state"]]}}


def on_kubernetes(conn: sqlite3.Connection, ws_id: str, core: str) -> bool:
    """Whether the core record ``core`` is a Kubernetes online deployment's (its pods on an attached cluster)."""
    row = services.row(conn, ws_id, core)
    return row is not None and json.loads(row["body"]).get("computeType") != MANAGED


def v2_error(error: dict[str, Any], kubernetes: bool = False) -> dict[str, Any]:
    """A core operation's error as a v2 deployment's: v1's crash loop is a managed deployment's ResourceNotReady
    and a Kubernetes one's DeploymentCrashLoopBackOff; a readiness timeout is ResourceNotReady."""
    if kubernetes and error.get("code") == crash_loop_back_off("").code:
        return deployment_crash_loop_back_off().payload()
    if error.get("code") in (crash_loop_back_off("").code, deployment_timed_out().code):
        return resource_not_ready().payload()
    if error.get("code") == environment_build_failed("").code:
        return image_build_failure(str(error.get("message") or "")).payload()
    return error


def _check_quota(conn: sqlite3.Connection, ws_body: dict[str, Any], core: str, instance_type: str, needed: int,
                 limit: int) -> None:
    """The subscription's managed deployments (all workspaces; the one being replaced and those being deleted
    aside) and this one must fit its vCPU quota."""
    subscription = ws_body["id"].split("/")[2]
    prefix = f"/subscriptions/{subscription}/"
    used = 0
    for row in conn.execute("SELECT s.workspace_id, s.name, s.body FROM services s JOIN online_deployments d ON "
                            "d.workspace_id = s.workspace_id AND s.name = d.endpoint || ? || d.name "
                            # A prefix compared as text: LIKE would read '_' and '%' in the id as wildcards.
                            "WHERE lower(substr(s.workspace_id, 1, ?)) = lower(?)",
                            (CORE_SEPARATOR, len(prefix), prefix)):
        body = json.loads(row["body"])
        if body["computeType"] != MANAGED:  # Kubernetes deployments use their cluster's capacity
            continue
        if not (row["workspace_id"] == ws_body["id"] and row["name"] == core):
            used += int(body["containerResourceRequirements"]["cpu"]) * int(body.get("numReplicas") or 1)
    if used + needed > limit:
        raise BadRequest.of(out_of_quota(instance_type, subscription, used, limit, needed))


# --- requests ------------------------------------------------------------------------------------------------

def _sizing(conn: sqlite3.Connection, ws_body: dict[str, Any], endpoint: dict[str, Any],
            props: dict[str, Any]) -> Sizing:
    """Where the deployment's replicas run and what each gets; 400 for a deployment its endpoint cannot hold, an
    unknown VM size or instance type."""
    kind, compute = props["endpointComputeType"], endpoint["properties"].get("compute")
    if (kind == KUBERNETES) != bool(compute):
        raise BadRequest.of(endpoint_compute_type_mismatch(endpoint["name"], KUBERNETES if compute else MANAGED,
                                                           kind))
    if kind == KUBERNETES:
        attached = kubernetes.of_endpoint(conn, ws_body, compute)
        return kubernetes.pod_sizing(attached, props.get("instanceType"), props.get("containerResourceRequirements"))
    if not props.get("instanceType"):
        raise BadRequest("Invalid request body: properties.instanceType: a managed deployment needs an instance "
                         "type.", code="BadRequest")
    size = catalog.lookup(props["instanceType"])
    if size is None:
        raise BadRequest.of(instance_type_not_supported(props["instanceType"], catalog.available_names()))
    return Sizing.managed(endpoint["name"], size)


def put(cloud: Cloud, ws_body: dict[str, Any], endpoint: str, name: str,
        payload: dict[str, Any]) -> tuple[dict[str, Any], bool, str]:
    """Create or replace a deployment: (ARM body, created, core operation id); the engine deploys it."""
    ws_id, props = ws_body["id"], payload["properties"]
    count = (payload.get("sku") or {}).get("capacity") or 1
    core = core_name(endpoint, name)
    now = time.time()
    with cloud.store.transaction() as conn:
        sizing = _sizing(conn, ws_body, endpoints.get(conn, ws_id, endpoint), props)  # 404: an unknown endpoint
        _, _, env_version = _version(conn, ws_body, "environments", props["environmentId"])
        environment = _environment(env_version, {k: str(v) for k, v in (props.get("environmentVariables")
                                                                          or {}).items()})
        launch = _launch(conn, ws_body, props)
        old = conn.execute("SELECT created_at FROM online_deployments WHERE workspace_id = ? AND endpoint = ? AND "
                           "name = ?", (ws_id, endpoint, name)).fetchone()
        if sizing.compute_type == MANAGED:  # a Kubernetes deployment takes its cluster's capacity instead
            _check_quota(conn, ws_body, core, sizing.instance_type, int(sizing.cpu) * count,
                         cloud.settings.v2_vcpu_quota)
        existing = services.row(conn, ws_id, core)
        retiring = None
        if existing is not None:
            _refuse_while_busy(cloud, conn, ws_id, endpoint, name)  # 409 while an earlier operation runs
            retiring = lifecycle.replaced(conn, ws_id, core)  # the engine replaces its replicas
        record = core_record(ws_body, endpoint, name, props, sizing, count, environment, launch)
        if existing is not None:  # its route keeps serving the old replicas until the new ones are ready
            record["scoringUri"] = json.loads(existing["body"]).get("scoringUri")
        state = "Creating" if old is None else "Updating"
        outcome = Outcome(pending=True, running_status=state)
        if sizing.compute_type == MANAGED:
            record["fakeAzure"]["replicas"] = managed_replicas(sizing, count)
        else:  # pods on the cluster's node pool, beside its other services (v1's and v2's), or none fit
            try:
                record["fakeAzure"]["replicas"] = actions.plan_update(conn, ws_id, record, retiring)
            except Unschedulable as exc:
                if existing is not None:  # an update that fits nowhere: refused, the old pods keep serving
                    raise BadRequest.of(kubernetes_unschedulable(exc.message)) from None
                outcome = Outcome(OperationStatus.FAILED, error=kubernetes_unschedulable(exc.message).payload())
        keys = endpoints.keys_of(conn, ws_id, endpoint)
        lifecycle.deploy_begun(conn, ws_id, record, services.new_secrets({"keys": keys}), retiring)
        actions.supersede(cloud, conn, ws_id, core, "deployed again")
        op_id = cloud.operations.start(conn, ws_id, "service.create" if existing is None else "service.update", core,
                                       outcome)
        created = old["created_at"] if old is not None else now
        body = arm_body(ws_id, endpoint, name, payload, sizing, state, created, now)
        conn.execute("INSERT OR REPLACE INTO online_deployments (workspace_id, endpoint, name, body, created_at) "
                     "VALUES (?, ?, ?, ?, ?)", (ws_id, endpoint, name, json.dumps(body), created))
        endpoints.delegate_operation(conn, ws_id, op_id)
    if outcome.pending:
        cloud.engine.deploy(ws_id, core, op_id)
    return body, old is None, op_id


def get(cloud: Cloud, ws_body: dict[str, Any], endpoint: str, name: str) -> dict[str, Any]:
    actions.bring_up_to_date(cloud, ws_body["id"], core_name(endpoint, name))  # a read counts as a poll
    conn = cloud.store.read()
    return current(conn, ws_body["id"], _row(conn, ws_body, endpoint, name))


def list_all(cloud: Cloud, ws_body: dict[str, Any], endpoint: str) -> list[dict[str, Any]]:
    ws_id = ws_body["id"]
    conn = cloud.store.read()
    endpoints.get(conn, ws_id, endpoint)  # 404 for an unknown endpoint
    rows = conn.execute("SELECT * FROM online_deployments WHERE workspace_id = ? AND endpoint = ? "
                        "ORDER BY created_at", (ws_id, endpoint)).fetchall()
    for row in rows:
        actions.bring_up_to_date(cloud, ws_id, core_name(endpoint, row["name"]))
    conn = cloud.store.read()
    return [current(conn, ws_id, row) for row in rows]


def delete(cloud: Cloud, ws_body: dict[str, Any], endpoint: str, name: str) -> str:
    """Start deleting a deployment that takes no traffic: the core operation id."""
    ws_id = ws_body["id"]
    with cloud.store.transaction() as conn:
        _row(conn, ws_body, endpoint, name)
        props = endpoints.get(conn, ws_id, endpoint)["properties"]
        percent = {**(props.get("mirrorTraffic") or {}), **(props.get("traffic") or {})}.get(name, 0)
        if percent:
            raise BadRequest.of(deployment_has_traffic(name, endpoint, percent))
        op_id = _start_delete(cloud, conn, ws_id, endpoint, name)
    cloud.engine.delete(ws_id, core_name(endpoint, name), op_id)
    return op_id


def _refuse_while_busy(cloud: Cloud, conn: sqlite3.Connection, ws_id: str, endpoint: str, name: str) -> None:
    """409 while the deployment's previous operation runs, in a v2 user's words (not the core record's name)."""
    actions.refuse_while_busy(cloud, conn, ws_id, core_name(endpoint, name), lambda _, kind, op_id: (
        deployment_operation_in_progress(name, endpoint, kind, op_id)))


def _start_delete(cloud: Cloud, conn: sqlite3.Connection, ws_id: str, endpoint: str, name: str) -> str:
    core = core_name(endpoint, name)
    _refuse_while_busy(cloud, conn, ws_id, endpoint, name)
    conn.execute("DELETE FROM online_deployments WHERE workspace_id = ? AND endpoint = ? AND name = ?",
                 (ws_id, endpoint, name))
    op_id = cloud.operations.start(conn, ws_id, "service.delete", core, {"pending": True, "runningStatus": "Deleting"})
    endpoints.delegate_operation(conn, ws_id, op_id)
    return op_id


def delete_all(cloud: Cloud, conn: sqlite3.Connection, ws_id: str, endpoint: str) -> list[tuple[str, str]]:
    """Inside the endpoint delete's transaction: start deleting every deployment; (core name, operation id) each,
    for :func:`hand_over` once the transaction has committed."""
    return [(core_name(endpoint, name), _start_delete(cloud, conn, ws_id, endpoint, name))
            for name in endpoints.deployment_names(conn, ws_id, endpoint)]


def hand_over(cloud: Cloud, ws_id: str, deletes: list[tuple[str, str]]) -> None:
    for core, op_id in deletes:
        cloud.engine.delete(ws_id, core, op_id)


def sync_keys(cloud: Cloud, ws_id: str, endpoint: str) -> None:
    """The endpoint's keys changed: its deployments' gateway routes take the new ones."""
    with cloud.store.transaction() as conn:
        keys = endpoints.keys_of(conn, ws_id, endpoint)
        names = endpoints.deployment_names(conn, ws_id, endpoint)
        for name in names:
            core = core_name(endpoint, name)
            if services.row(conn, ws_id, core) is not None:
                services.save_secrets(conn, ws_id, core, {**services.secrets_of(conn, ws_id, core), **keys})
    for name in names:
        cloud.engine.refresh_auth(ws_id, core_name(endpoint, name))


def logs(cloud: Cloud, ws_body: dict[str, Any], endpoint: str, name: str, tail: int | None,
         container_type: str | None) -> str:
    _row(cloud.store.read(), ws_body, endpoint, name)
    if (container_type or "InferenceServer").lower() == "storageinitializer":
        return ""  # nothing is downloaded: the model files are the daemon's own
    return cloud.engine.logs(ws_body["id"], core_name(endpoint, name), tail or 0)
