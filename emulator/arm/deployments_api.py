"""ARM routes of SDK v2 online deployments: create/replace (201/200 + ``Azure-AsyncOperation``, followed until
the replicas are ready), get, list, delete (202 + ``Location``), getLogs. The work is emulator/arm/deployments.py's."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..http import cloud, validated
from . import deployments
from .api import workspace
from .endpoint_schema import DeploymentName, EndpointName, GetLogsBody, OnlineDeploymentPut
from .endpoints_api import ENDPOINTS, async_headers, location_headers

DEPLOYMENTS = ENDPOINTS + "/<name>/deployments"
OF_ENDPOINT = {"name": EndpointName}
NAMED = {"name": EndpointName, "deployment": DeploymentName}
blueprint = Blueprint("arm_deployments", __name__)


@blueprint.get(DEPLOYMENTS)
@validated(path=OF_ENDPOINT)
def list_deployments(sub: str, rg: str, ws: str, name: str):
    return jsonify({"value": deployments.list_all(cloud(), workspace(sub, rg, ws), name)})


@blueprint.get(DEPLOYMENTS + "/<deployment>")
@validated(path=NAMED)
def get_deployment(sub: str, rg: str, ws: str, name: str, deployment: str):
    return jsonify(deployments.get(cloud(), workspace(sub, rg, ws), name, deployment))


@blueprint.put(DEPLOYMENTS + "/<deployment>")
@validated(path=NAMED, body=OnlineDeploymentPut)
def put_deployment(sub: str, rg: str, ws: str, name: str, deployment: str, payload: dict):
    ws_body = workspace(sub, rg, ws)
    body, created, op_id = deployments.put(cloud(), ws_body, name, deployment, payload)
    return jsonify(body), 201 if created else 200, async_headers(sub, ws_body["location"], op_id)


@blueprint.delete(DEPLOYMENTS + "/<deployment>")
@validated(path=NAMED)
def delete_deployment(sub: str, rg: str, ws: str, name: str, deployment: str):
    ws_body = workspace(sub, rg, ws)
    op_id = deployments.delete(cloud(), ws_body, name, deployment)
    return "", 202, location_headers(sub, ws_body["location"], op_id)


@blueprint.post(DEPLOYMENTS + "/<deployment>/getLogs")
@validated(path=NAMED, body=GetLogsBody, body_optional=True)
def get_logs(sub: str, rg: str, ws: str, name: str, deployment: str, payload: dict):
    content = deployments.logs(cloud(), workspace(sub, rg, ws), name, deployment, payload.get("tail"),
                               payload.get("containerType"))
    return jsonify({"content": content})
