"""Why a deployment failed: ``DeployFailed`` carries the operation error Azure reports for it. The payloads
are the error catalog's (emulator/error_catalog.py); these names keep the deploy modules' call sites short."""
from __future__ import annotations

from typing import Any

from .. import error_catalog

# A deployment given up because its service is being deleted (or its workspace, or the daemon stops).
ABANDONED_ERROR = error_catalog.deployment_cancelled().payload()

# The SDK's local-deployment failures (azureml._model_management._util), as operation errors.
LOCAL_CRASH_ERROR = error_catalog.container_crashed().payload()

TIMED_OUT_ERROR = error_catalog.deployment_timed_out().payload()

GPU_REQUIRED_ERROR = error_catalog.gpu_unavailable().payload()


def local_port_in_use_error(port: int, exc: Exception) -> dict[str, Any]:
    return error_catalog.port_in_use(port, str(exc)).payload()


def replica_start_failed_error(replica_id: str, detail: str) -> dict[str, Any]:
    """A replica that could not be launched at all (the runtime refused, or failed unexpectedly)."""
    return error_catalog.replica_start_failed(replica_id, detail).payload()


def environment_build_error(message: str) -> dict[str, Any]:
    return error_catalog.environment_build_failed(message).payload()


def internal_error(name: str, exc: Exception) -> dict[str, Any]:
    """A bug must still end the operation, never leave it pending."""
    return error_catalog.deployment_internal_error(name, exc).payload()


class DeployFailed(Exception):
    def __init__(self, error: dict[str, Any], sub_operation: str = "DeployService") -> None:
        super().__init__(error.get("message"))
        self.error = error
        self.sub_operation = sub_operation
