"""REST routes of datasets: saved definitions (``.../saveddatasets``) and registrations (``.../datasets``).
Routes only: the work is in ``service``."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ...http import WORKSPACE_PREFIX, cloud, validated, workspace_body, workspace_scope
from ..datastores import service as datastores
from . import service
from .schema import DatasetDefinition, DatasetGetQuery, DatasetListQuery, DatasetRegistration

SAVED = WORKSPACE_PREFIX + "/saveddatasets"
DATASETS = WORKSPACE_PREFIX + "/datasets"
blueprint = Blueprint("datasets", __name__)


@blueprint.post(SAVED)
@validated(body=DatasetDefinition)
def save_dataset(sub: str, rg: str, ws: str, payload: dict):
    definition = DatasetDefinition.model_validate(payload).model_dump(mode="json", exclude_none=True)
    workspace = workspace_body(sub, rg, ws)
    for name in {path["datastoreName"] for path in definition["paths"]}:
        datastores.body(workspace, name)  # 404 DatastoreNotFound: a dataset reads existing datastores only
    return jsonify(service.save(cloud().store, workspace["id"], definition))


@blueprint.get(SAVED + "/<dataset_id>")
@validated()
def get_saved_dataset(sub: str, rg: str, ws: str, dataset_id: str):
    return jsonify(service.get_saved(cloud().store.read(), workspace_scope(sub, rg, ws), dataset_id))


@blueprint.post(DATASETS)
@validated(body=DatasetRegistration)
def register_dataset(sub: str, rg: str, ws: str, payload: dict):
    request = DatasetRegistration.model_validate(payload)
    body = service.register(cloud().store, workspace_scope(sub, rg, ws), request.name, request.savedDatasetId,
                            request.description, request.tags, request.createNewVersion)
    return jsonify(body)


@blueprint.get(DATASETS)
@validated(query=DatasetListQuery)
def list_datasets(sub: str, rg: str, ws: str, query: DatasetListQuery):
    ws_id = workspace_scope(sub, rg, ws)
    conn = cloud().store.read()
    if query.savedDatasetId is not None:
        return jsonify({"value": service.registrations_of(conn, ws_id, query.savedDatasetId)})
    return jsonify({"value": service.latest_of_each(conn, ws_id)})


@blueprint.get(DATASETS + "/<name>")
@validated(query=DatasetGetQuery)
def get_dataset(sub: str, rg: str, ws: str, name: str, query: DatasetGetQuery):
    return jsonify(service.get(cloud().store.read(), workspace_scope(sub, rg, ws), name, query.version))
