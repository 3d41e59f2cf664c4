"""What ``fake-azure ps`` lists, read off the store: an AKS endpoint's versions under their endpoint's name and
scoring URI (the endpoint itself holds no replicas), a local service, replicas counted as running or not."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emulator.resources.admin.running import deployments
from emulator.store import Store

WS = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"


def _replica(state: str) -> dict[str, Any]:
    return {"id": state.lower(), "state": state}


def _service(conn: Any, body: dict[str, Any], at: float) -> None:
    conn.execute("INSERT INTO services (workspace_id, name, compute_name, state, body, secrets, created_at) "
                 "VALUES (?, ?, ?, ?, ?, '{}', ?)", (WS, body["name"], body.get("computeName"), body["state"],
                                                     json.dumps(body), at))


def test_endpoint_versions_and_local_services_are_listed_in_their_sdks_words(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    with store.transaction() as conn:
        conn.execute("INSERT INTO workspaces (id, subscription_id, resource_group, name, location, body, created_at) "
                     "VALUES (?, 'sub', 'rg', 'ws', 'eastus', '{}', 1)", (WS,))
        _service(conn, {"name": "ep", "state": "Healthy", "computeType": "AKSENDPOINT", "computeName": "aks-cpu",
                        "scoringUri": "http://127.0.0.1:1/api/v1/service/ep/score"}, 1)
        _service(conn, {"name": "ep.v1", "state": "Transitioning", "computeType": "AKS", "computeName": "aks-cpu",
                        "deploymentStatus": {"desiredReplicas": 3},
                        "fakeAzure": {"endpoint": "ep", "version": "v1", "replicas": [
                            _replica("Running"), _replica("Pending"), _replica("CrashLoopBackOff")]}}, 2)
        _service(conn, {"name": "mine", "state": "Healthy", "computeType": "Local", "numReplicas": 1,
                        "scoringUri": "http://localhost:6789/score",
                        "fakeAzure": {"replicas": [_replica("Running")]}}, 3)

    listed = [{k: d[k] for k in ("workspace", "resourceGroup", "sdk", "kind", "name", "compute", "state", "replicas",
                                  "scoringUri")} for d in deployments(store.read())]
    assert listed == [
        {"workspace": "ws", "resourceGroup": "rg", "sdk": "v1", "kind": "endpoint version", "name": "ep/v1",
         "compute": "aks-cpu", "state": "Transitioning", "replicas": {"running": 1, "desired": 3},
         "scoringUri": "http://127.0.0.1:1/api/v1/service/ep/score"},
        {"workspace": "ws", "resourceGroup": "rg", "sdk": "v1", "kind": "webservice", "name": "mine",
         "compute": "Local", "state": "Healthy", "replicas": {"running": 1, "desired": 1},
         "scoringUri": "http://localhost:6789/score"}]
