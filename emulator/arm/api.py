"""ARM routes of the SDK v2 client (``azure-ai-ml``): the workspace, model/environment/code containers and
versions, code pending uploads, and the default datastore with its secrets.

They live in their own Flask app (emulator/arm/app.py), served only by the HTTPS listener: v1's
control plane uses some of the same paths for other bodies (``.../models/{id}``, ``.../datastores``)."""
from __future__ import annotations

import time
import uuid
from typing import Any

from flask import Blueprint, Flask, jsonify, request

from ..errors import NotFound, PreconditionFailed
from ..http import cloud, validated
from ..resources.services import service as services
from ..resources.workspaces import service as workspaces
from . import assets, storage
from .schema import (
    AssetName,
    AssetVersion,
    CodeVersionPut,
    ContainerListQuery,
    DatastoreListQuery,
    DatastoreName,
    EnvironmentVersionPut,
    ListSecretsBody,
    ModelVersionPut,
    PendingUploadBody,
    VersionListQuery,
)

PREFIX = "/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<ws>"
STRICT_ENVIRON_KEY = "fake_azure.strict_workspaces"
SECRET_LIFETIME_S = 3600
BODIES = {"models": ModelVersionPut, "environments": EnvironmentVersionPut, "codes": CodeVersionPut}
NAMED = {"name": AssetName}
VERSIONED = {"name": AssetName, "version": AssetVersion}
blueprint = Blueprint("arm", __name__)


def workspace(sub: str, rg: str, ws: str) -> dict[str, Any]:
    """The request's workspace, made on first use as v1's ``Workspace(...)`` does, unless the client's
    activation asked for strict workspaces (its ARM base URL ends in ``/strict/``): then a 404."""
    c = cloud()
    ws_id = workspaces.workspace_id(sub, rg, ws)
    try:
        return workspaces.get(c.store.read(), ws_id)
    except NotFound:
        if request.environ.get(STRICT_ENVIRON_KEY):
            raise NotFound(f"The Resource '{workspaces.ARM_PROVIDER}/workspaces/{ws}' under resource group "
                           f"'{rg}' was not found.", code="ResourceNotFound") from None
    with c.store.transaction() as conn:
        body, _ = workspaces.create_or_get(conn, sub, rg, ws, c.settings.default_location)
    return body


def _storage_suffix() -> str:
    port = request.host.rsplit(":", 1)[1] if ":" in request.host else "443"
    return f"{storage.STORAGE_SUFFIX}:{port}"


@blueprint.get(PREFIX)
@validated()
def get_workspace(sub: str, rg: str, ws: str):
    body = dict(workspace(sub, rg, ws))
    account = storage.account_name(body)
    body["properties"] = {**body["properties"], "storageAccount": (
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}")}
    return jsonify(body)


def _register(kind: str) -> None:
    base = f"{PREFIX}/{kind}"

    @validated(query=ContainerListQuery)
    def list_containers(sub: str, rg: str, ws: str, query: ContainerListQuery):
        ws_id = workspace(sub, rg, ws)["id"]
        return jsonify({"value": assets.list_containers(cloud().store.read(), ws_id, kind,
                                                        view=query.listViewType or "All")})

    @validated(path=NAMED)
    def get_container(sub: str, rg: str, ws: str, name: str):
        ws_id = workspace(sub, rg, ws)["id"]
        return jsonify(assets.container(cloud().store.read(), ws_id, kind, name))

    @validated(path=NAMED, query=VersionListQuery)
    def list_versions(sub: str, rg: str, ws: str, name: str, query: VersionListQuery):
        ws_id = workspace(sub, rg, ws)["id"]
        oldest_first = (query.orderBy or "").lower().endswith(" asc")
        return jsonify({"value": assets.list_versions(cloud().store.read(), ws_id, kind, name,
                                                      top=query.top, oldest_first=oldest_first,
                                                      content_hash=query.hash, view=query.listViewType or "All")})

    @validated(path=VERSIONED)
    def get_version(sub: str, rg: str, ws: str, name: str, version: str):
        ws_id = workspace(sub, rg, ws)["id"]
        return jsonify(assets.get_version(cloud().store.read(), ws_id, kind, name, version))

    @validated(path=VERSIONED, body=BODIES[kind])
    def put_version(sub: str, rg: str, ws: str, name: str, version: str, payload: dict):
        ws_id = workspace(sub, rg, ws)["id"]
        with cloud().store.transaction() as conn:
            body, created = assets.put_version(conn, ws_id, kind, name, version, payload["properties"], time.time())
        return jsonify(body), 201 if created else 200

    for rule, view, methods in ((base, list_containers, ["GET"]), (base + "/<name>", get_container, ["GET"]),
                                (base + "/<name>/versions", list_versions, ["GET"]),
                                (base + "/<name>/versions/<version>", get_version, ["GET"]),
                                (base + "/<name>/versions/<version>", put_version, ["PUT"])):
        blueprint.add_url_rule(rule, endpoint=f"{kind}_{view.__name__}", view_func=view, methods=methods)


for _kind in assets.KINDS:
    _register(_kind)


@blueprint.delete(PREFIX + "/models/<name>/versions/<version>")
@validated(path=VERSIONED)
def delete_model_version(sub: str, rg: str, ws: str, name: str, version: str):
    # The REST API's delete (the client has it as models._model_versions_operation.delete): the workspace's one
    # model registry, so a v1-registered version goes too. v1's rule stands: not while a v1 service is deployed
    # with it (its replicas read the files at each start); v2 deployments keep the files they were launched with.
    ws_id = workspace(sub, rg, ws)["id"]
    with cloud().store.transaction() as conn:
        assets.get_version(conn, ws_id, "models", name, version)  # the ARM 404 for an unknown version
        users = services.deployed_with(conn, ws_id, f"{name}:{version}")
        if users:
            raise PreconditionFailed(f"Model {name}:{version} is used by the deployed service(s) "
                                     f"{', '.join(sorted(users))}; delete them first.", code="DeletionRequired")
        assets.delete_version(conn, ws_id, "models", name, version)
    return "", 200


@blueprint.post(PREFIX + "/codes/<name>/versions/<version>/startPendingUpload")
@validated(path=VERSIONED, body=PendingUploadBody, body_optional=True)
def start_pending_upload(sub: str, rg: str, ws: str, name: str, version: str, payload: dict):
    body = workspace(sub, rg, ws)
    account = storage.account_name(body)
    # One container per pending upload: the client takes a SAS URI's last path segment as its container.
    container = f"code-{uuid.uuid4().hex}"
    blob_uri = f"https://{account}{storage.BLOB_HOST_SUFFIX}:{_storage_suffix().rsplit(':', 1)[1]}/{container}"
    sas = storage.sas_token(cloud().token, account, time.time() + SECRET_LIFETIME_S)
    return jsonify({"blobReferenceForConsumption": {
        "blobUri": blob_uri, "storageAccountArmId": body["properties"].get("storageAccount"),
        "credential": {"credentialType": "SAS", "sasUri": f"{blob_uri}?{sas}"}},
        "pendingUploadId": payload.get("pendingUploadId") or str(uuid.uuid4()),
        "pendingUploadType": "TemporaryBlobReference"})


@blueprint.get(PREFIX + "/datastores")
@validated(query=DatastoreListQuery)
def list_datastores(sub: str, rg: str, ws: str, query: DatastoreListQuery):
    # The default datastore is the only one; isDefault=false therefore lists none.
    found = [] if query.isDefault is False else [
        assets.default_datastore(workspace(sub, rg, ws), _storage_suffix())]
    return jsonify({"value": found})


@blueprint.get(PREFIX + "/datastores/<name>")
@validated(path={"name": DatastoreName})
def get_datastore(sub: str, rg: str, ws: str, name: str):
    return jsonify(assets.datastore(workspace(sub, rg, ws), name, _storage_suffix()))


@blueprint.post(PREFIX + "/datastores/<name>/listSecrets")
@validated(path={"name": DatastoreName}, body=ListSecretsBody, body_optional=True)
def list_datastore_secrets(sub: str, rg: str, ws: str, name: str, payload: dict):
    record = assets.datastore(workspace(sub, rg, ws), name, _storage_suffix())
    hours = payload.get("expireAfterHours") or 1
    account = record["properties"]["accountName"]
    return jsonify({"secretsType": "Sas",
                    "sasToken": storage.sas_token(cloud().token, account, time.time() + hours * 3600)})


def register(app: Flask) -> None:
    app.register_blueprint(blueprint)
