"""REST routes of registered environments (paths shaped like the environment service's v1.0 API)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ...http import WORKSPACE_PREFIX, cloud, validated, workspace_scope
from . import service
from .schema import EnvironmentDefinition, EnvironmentName, LabelsPut

ENVIRONMENTS = WORKSPACE_PREFIX + "/environments"
blueprint = Blueprint("environments", __name__)


@blueprint.get(ENVIRONMENTS)
@blueprint.get(ENVIRONMENTS + "/")
@validated()
def list_environments(sub: str, rg: str, ws: str):
    return jsonify({"value": service.list_latest(cloud().store.read(), workspace_scope(sub, rg, ws))})


@blueprint.put(ENVIRONMENTS + "/<name>")
@validated(body=EnvironmentDefinition, path={"name": EnvironmentName})
def register_environment(sub: str, rg: str, ws: str, name: str, payload: dict):
    ws_id = workspace_scope(sub, rg, ws)
    definition = payload
    with cloud().store.transaction() as conn:
        body = service.register(conn, ws_id, name, definition)
    return jsonify(body)


@blueprint.get(ENVIRONMENTS + "/<name>")
@validated()
def get_latest_environment(sub: str, rg: str, ws: str, name: str):
    return jsonify(service.get(cloud().store.read(), workspace_scope(sub, rg, ws), name))


@blueprint.get(ENVIRONMENTS + "/<name>/versions/<version>")
@validated()
def get_environment(sub: str, rg: str, ws: str, name: str, version: str):
    return jsonify(service.get(cloud().store.read(), workspace_scope(sub, rg, ws), name, version))


@blueprint.get(ENVIRONMENTS + "/<name>/labels/<label>")
@validated()
def get_labeled_environment(sub: str, rg: str, ws: str, name: str, label: str):
    return jsonify(service.get_by_label(cloud().store.read(), workspace_scope(sub, rg, ws), name, label))


@blueprint.put(ENVIRONMENTS + "/<name>/versions/<version>/metadata")
@validated(body=LabelsPut)
def label_environment(sub: str, rg: str, ws: str, name: str, version: str, payload: dict):
    ws_id = workspace_scope(sub, rg, ws)
    labels = payload["Labels"]
    with cloud().store.transaction() as conn:
        service.set_labels(conn, ws_id, name, version, labels)
    return jsonify(True)
