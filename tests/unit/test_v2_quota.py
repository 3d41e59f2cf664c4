"""The vCPU quota of SDK v2 managed deployments (emulator/arm/deployments.py): what counts against it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator.arm import deployments
from emulator.errors import BadRequest
from emulator.store import Store

SUB = "/subscriptions/s1"


def _core(store: Store, ws_id: str, endpoint: str, name: str, vcpus: int, count: int, listed: bool = True,
          compute_type: str = "Managed") -> None:
    body = {"name": f"{endpoint}~{name}", "computeType": compute_type, "numReplicas": count,
            "containerResourceRequirements": {"cpu": vcpus},
            "fakeAzure": {"frontEnd": "v2"}}
    with store.transaction() as conn:
        conn.execute("INSERT INTO services (workspace_id, name, compute_name, state, body, secrets, created_at) "
                     "VALUES (?, ?, NULL, 'Healthy', ?, '{}', 0)", (ws_id, body["name"], json.dumps(body)))
        if listed:  # a deployment being deleted has lost its ARM row already
            conn.execute("INSERT INTO online_deployments (workspace_id, endpoint, name, body, created_at) "
                         "VALUES (?, ?, ?, '{}', 0)", (ws_id, endpoint, name))


def test_the_quota_counts_the_subscriptions_live_deployments_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    ws = {"id": f"{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w1"}
    other_ws = f"{SUB}/resourceGroups/rg2/providers/Microsoft.MachineLearningServices/workspaces/w2"
    _core(store, ws["id"], "ep", "blue", 4, 2)  # 8
    _core(store, other_ws, "ep", "green", 8, 1)  # 8, another workspace of the subscription
    _core(store, ws["id"], "ep", "gone", 96, 10, listed=False)  # being deleted: not counted
    _core(store, "/subscriptions/s2/resourceGroups/rg/providers/x/workspaces/w", "ep", "blue", 96, 10)  # not ours
    _core(store, ws["id"], "k8s", "blue", 96, 10, compute_type="AKS")  # a Kubernetes deployment: its cluster's
    conn = store.read()
    deployments._check_quota(conn, ws, "ep~new", "Standard_DS3_v2", 4, limit=20)
    with pytest.raises(BadRequest, match=r"Current usage/limit: 16/20. Additional needed: 8"):
        deployments._check_quota(conn, ws, "ep~new", "Standard_DS3_v2", 8, limit=20)
    # Replacing blue: its own 8 vCPUs are not counted twice.
    deployments._check_quota(conn, ws, "ep~blue", "Standard_DS3_v2", 12, limit=20)


def test_a_subscription_whose_id_only_matches_as_a_like_pattern_is_not_counted(tmp_path: Path) -> None:
    """'_' and '%' in a subscription id are characters, not wildcards: my_sub's quota is not myXsub's."""
    store = Store(tmp_path / "state.db")
    ws = {"id": "/subscriptions/my_sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w"}
    _core(store, "/subscriptions/myXsub/resourceGroups/rg/providers/x/workspaces/w", "ep", "blue", 96, 10)
    deployments._check_quota(store.read(), ws, "ep~new", "Standard_DS3_v2", 8, limit=20)
