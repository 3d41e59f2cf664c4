"""The test-only admin API under /_emulator/. The SDK facade never calls it for normal operations."""
from __future__ import annotations

import sys

from flask import Blueprint, jsonify

from ...errors import BadRequest, NotFound
from ...http import cloud, validated
from ...progress import ProgressPolicy, ProgressPolicyError
from . import clusters, running
from .schema import FaultPost, ManagedClusterPut, ManagedClusterQuery, ProgressPut

blueprint = Blueprint("admin", __name__, url_prefix="/_emulator")


@blueprint.post("/reset")
@validated()
def reset():
    cloud().faults.clear()
    cloud().engine.reset()  # replicas first: nothing may keep serving a service that no longer exists
    cloud().store.reset()
    return jsonify({"reset": True})


@blueprint.get("/progress")
@validated()
def get_progress():
    return jsonify({"policy": str(cloud().progress)})


@blueprint.put("/progress")
@validated(body=ProgressPut)
def put_progress(payload: dict):
    try:
        policy = ProgressPolicy.parse(str(payload.get("policy", "")))
    except ProgressPolicyError as exc:
        raise BadRequest(str(exc)) from exc
    cloud().set_progress(policy)
    return jsonify({"policy": str(policy)})


@blueprint.post("/faults")
@validated(body=FaultPost)
def add_fault(payload: dict):
    """Inject a fault (docs/reliability.md). ``kill_replica`` acts at once; the others wait for their event."""
    fault = cloud().faults.add(payload)  # validates every kind, kill_replica included
    if fault.kind == "kill_replica":
        return jsonify(cloud().engine.kill_replica(fault.service or "", fault.workspace)), 201
    return jsonify(fault.to_body()), 201


@blueprint.get("/faults")
@validated()
def list_faults():
    return jsonify({"value": cloud().faults.pending()})


@blueprint.delete("/faults")
@validated()
def clear_faults():
    return jsonify({"cleared": cloud().faults.clear()})


@blueprint.get("/runtime")
@validated()
def runtime():
    engine = cloud().engine
    # The daemon's interpreter serves the replicas whose environment it satisfies (nothing built for them):
    # `fake-azure images` counts those apart from its built environments.
    return jsonify({"runtime": cloud().runtime_name, "environmentsInUse": engine.environments_in_use(),
                    "replicasByEnvironment": engine.replicas_by_environment(), "daemonInterpreter": sys.executable})


@blueprint.get("/deployments")
@validated()
def list_deployments():
    """Every deployment of every workspace, its compute, state, replicas and scoring URI (``fake-azure ps``)."""
    return jsonify({"value": running.deployments(cloud().store.read())})


@blueprint.put("/managedClusters")
@validated(body=ManagedClusterPut)
def create_managed_cluster(payload: dict):
    """An AKS cluster outside any workspace (``fake-azure aks create``), for SDK v2's KubernetesCompute to attach."""
    with cloud().store.transaction() as conn:
        body = clusters.create(conn, payload)
    return jsonify({k: v for k, v in body.items() if k != "fakeAzure"}), 201


@blueprint.get("/managedClusters")
@validated()
def list_managed_clusters():
    return jsonify({"value": [{k: v for k, v in b.items() if k != "fakeAzure"}
                              for b in clusters.list_all(cloud().store.read())]})


@blueprint.delete("/managedClusters")
@validated(query=ManagedClusterQuery)
def delete_managed_cluster(query: ManagedClusterQuery):
    with cloud().store.transaction() as conn:
        placed = clusters.delete(conn, query.id)
        if placed is None:
            raise NotFound(f"Managed cluster {query.id} not found.", code="ResourceNotFound")
    clusters.stop_pods(cloud().engine, placed)
    return jsonify({"deleted": query.id})
