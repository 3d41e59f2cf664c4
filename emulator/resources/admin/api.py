"""The test-only admin API under /_emulator/. The SDK facade never calls it for normal operations."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ...errors import BadRequest
from ...http import body_json, cloud
from ...progress import ProgressPolicy, ProgressPolicyError

blueprint = Blueprint("admin", __name__, url_prefix="/_emulator")


@blueprint.post("/reset")
def reset():
    cloud().engine.reset()  # replicas first: nothing may keep serving a service that no longer exists
    cloud().store.reset()
    return jsonify({"reset": True})


@blueprint.get("/progress")
def get_progress():
    return jsonify({"policy": str(cloud().progress)})


@blueprint.put("/progress")
def put_progress():
    payload = body_json()
    try:
        policy = ProgressPolicy.parse(str(payload.get("policy", "")))
    except ProgressPolicyError as exc:
        raise BadRequest(str(exc)) from exc
    cloud().set_progress(policy)
    return jsonify({"policy": str(policy)})


@blueprint.get("/runtime")
def runtime():
    return jsonify({"runtime": cloud().runtime_name, "environmentsInUse": cloud().engine.environments_in_use()})
