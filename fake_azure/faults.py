"""Fault injection for tests: make the local cloud fail the way Azure sometimes does.

Test support only, with no Azure counterpart: this is the one facade module that calls the daemon's
test-only admin API (``/_emulator/faults``). See docs/reliability.md.

    from fake_azure import faults
    faults.fail_requests("my-svc", count=2)      # the next 2 scoring calls get 503
    faults.kill_replica("my-svc")                # the supervisor restarts it
    faults.clear()
"""
from __future__ import annotations

from typing import Any, Optional, Union

from ._client import CloudClient

FAULTS_PATH = "/_emulator/faults"
WorkspaceRef = Union[str, Any, None]  # an ARM id, a Workspace, or None (any workspace)


def _workspace_id(workspace: WorkspaceRef) -> Optional[str]:
    """The workspace's ARM id, as the local cloud keys resources (a Workspace or the id itself)."""
    if workspace is None or isinstance(workspace, str):
        return workspace
    return (f"/subscriptions/{workspace.subscription_id}/resourceGroups/{workspace.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace.name}")


def _add(payload: dict[str, Any], workspace: WorkspaceRef = None) -> dict[str, Any]:
    scope = _workspace_id(workspace)
    if scope is not None:
        payload["workspace"] = scope
    return CloudClient.connect().admin("POST", FAULTS_PATH, json=payload)


def kill_replica(service: str, workspace: WorkspaceRef = None) -> dict[str, Any]:
    """Kill one replica process of ``service`` now; returns which one (``{"replica": id, ...}``)."""
    return _add({"kind": "kill_replica", "service": service}, workspace)


def fail_requests(service: str, count: int = 1, status: int = 503, workspace: WorkspaceRef = None) -> dict[str, Any]:
    """The front end answers the next ``count`` scoring calls to ``service`` with ``status``."""
    return _add({"kind": "fail_requests", "service": service, "count": count, "status": status}, workspace)


def slow_requests(service: str, count: int = 1, delay_ms: int = 1000, workspace: WorkspaceRef = None) -> dict[str, Any]:
    """The front end holds the next ``count`` scoring calls to ``service`` for ``delay_ms`` before passing them on."""
    return _add({"kind": "slow_requests", "service": service, "count": count, "delay_ms": delay_ms}, workspace)


def fail_next_build(workspace: WorkspaceRef = None) -> dict[str, Any]:
    """The next deployment's environment build (in ``workspace``) fails with ``EnvironmentBuildFailed``."""
    return _add({"kind": "fail_next_build"}, workspace)


def fail_provisioning(workspace: WorkspaceRef = None) -> dict[str, Any]:
    """The next AKS cluster created (in ``workspace``) fails provisioning."""
    return _add({"kind": "fail_provisioning"}, workspace)


def pending() -> list[dict[str, Any]]:
    """Faults not yet used up."""
    return CloudClient.connect().admin("GET", FAULTS_PATH)["value"]


def clear() -> int:
    """Forget every pending fault; returns how many there were."""
    return CloudClient.connect().admin("DELETE", FAULTS_PATH)["cleared"]
