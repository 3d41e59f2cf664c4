"""Why a deployment failed: ``DeployFailed`` carries the operation error Azure reports for it."""
from __future__ import annotations

from typing import Any

# A deployment given up because its service is being deleted (or its workspace, or the daemon stops).
ABANDONED_ERROR = {"code": "DeploymentCancelled", "statusCode": 409,
                   "message": "The deployment was abandoned: the service is being deleted."}

# The SDK's local-deployment failures (azureml._model_management._util), as operation errors.
LOCAL_CRASH_ERROR = {"code": "ContainerCrashed", "statusCode": 500,
                     "message": "Error: Container has crashed. Did your init method fail?"}

TIMED_OUT_ERROR = {"code": "DeploymentTimedOut", "statusCode": 504, "message": (
    "The deployment operation polling has TimedOut. The service creation is taking longer than our "
    "normal time. We are still trying to achieve the desired state for the web service. Please "
    "check the webservice state for the current webservice health. You can run "
    "print(service.state) from the python SDK to retrieve the current state of the webservice.")}


def local_port_in_use_error(port: int, exc: Exception) -> dict[str, Any]:
    return {"code": "PortInUse", "statusCode": 409, "message": (
        "Docker container start has failed, the port you are attempting to use is already in use:\n"
        f"port {port} is already in use on 127.0.0.1 ({exc})")}


def replica_start_failed_error(replica_id: str, detail: str) -> dict[str, Any]:
    """A replica that could not be launched at all (the runtime refused, or failed unexpectedly)."""
    return {"code": "ReplicaStartFailed", "statusCode": 500,
            "message": f"Replica {replica_id} could not start: {detail}"}


def environment_build_error(message: str) -> dict[str, Any]:
    return {"code": "EnvironmentBuildFailed", "statusCode": 400,
            "message": f"Failed to build the environment for the service:\n{message}"}


GPU_REQUIRED_ERROR = {"code": "GpuUnavailable", "statusCode": 400, "message": (
    "FAKE_AZURE_GPU_POLICY=require: the service's replicas were given GPUs on the emulated cluster, but "
    "this host has no NVIDIA GPU to run them on.")}


def internal_error(name: str, exc: Exception) -> dict[str, Any]:
    """A bug must still end the operation, never leave it pending."""
    return {"code": "InternalError", "statusCode": 500, "message": f"fake-azure failed to deploy {name}: {exc!r}"}


class DeployFailed(Exception):
    def __init__(self, error: dict[str, Any], sub_operation: str = "DeployService") -> None:
        super().__init__(error.get("message"))
        self.error = error
        self.sub_operation = sub_operation
