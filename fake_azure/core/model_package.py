"""``Model.package`` and ``ModelPackage`` (azureml.core.model 1.61) for the local cloud.

A package is built by the daemon (emulator/packaging/packages.py): a Docker image on the docker runtime's
engine, or with ``generate_dockerfile=True`` a Docker build context (Dockerfile, environment, score.py,
models) that ``save()`` writes into a folder. The image is on the daemon's engine already: ``pull()``
checks that it is there (docs/parity.md).
"""
from __future__ import annotations

import io
import logging
import os
import tarfile
import time
from typing import Any

from ..exceptions import WebserviceException
from .container_registry import ContainerRegistry

module_logger = logging.getLogger(__name__)
_TERMINAL = ("Succeeded", "Failed", "Cancelled", "TimedOut")


def image_request(workspace: Any, models: list, inference_config: Any, label: str) -> dict[str, Any]:
    """The environment image request of ``models`` + ``inference_config`` (the deploy path's, source uploaded)."""
    from ._deploy import build_environment_image_request

    inference_config, use_env_path = inference_config._convert_parts(label)
    if not use_env_path:
        raise WebserviceException("Error, model packaging requires an InferenceConfig containing "
                                  "an Environment object.", logger=module_logger)
    return build_environment_image_request(workspace, label, [model.id for model in models], inference_config)


def package(workspace: Any, models: list, inference_config: Any = None, generate_dockerfile: bool = False,
            image_name: str | None = None, image_label: str | None = None) -> "ModelPackage":
    if inference_config is None:
        # No-code packaging: the SDK's no-code image request; the service brings the environment and entry script.
        from ._deploy import no_code_image_request

        request = no_code_image_request(list(models))
    else:
        request = image_request(workspace, list(models), inference_config, "package")
    body = {"imageRequest": request, "packageType": "DockerBuildContext" if generate_dockerfile else "DockerImage",
            "imageName": image_name, "imageLabel": image_label}
    created = workspace._client.json("POST", workspace._arm_path + "/packages", "webservice",
                                     json={k: v for k, v in body.items() if v is not None})
    return ModelPackage(workspace, created["operationId"], inference_config.environment if inference_config else None)


class ModelPackage(object):
    """A packaging of models and their dependencies into a Docker image or a Dockerfile build context."""

    def __init__(self, workspace, operation_id, environment):
        self.workspace = workspace
        self._operation_id = operation_id
        self._environment = environment
        self.update_creation_state()

    def __repr__(self):
        properties = [("workspace", self.workspace.__repr__()), ("generate_dockerfile", self.generate_dockerfile),
                      ("state", self.state)]
        if not self.generate_dockerfile and self.state == "Succeeded":
            properties.append(("location", self.location))
        return "{}({})".format(self.__class__.__name__, ", ".join("{}={}".format(n, v) for n, v in properties))

    @property
    def _path(self) -> str:
        return self.workspace._arm_path + "/packages/" + self._operation_id

    def update_creation_state(self):
        """Refresh ``state``, ``location``, ``error`` and ``generate_dockerfile`` from the cloud."""
        self._refresh()

    def _refresh(self, wait_seconds: float = 0.0):
        operation = self.workspace._client.json(
            "GET", self.workspace._arm_path + "/operations/" + self._operation_id, "webservice",
            params={"waitSeconds": wait_seconds} if wait_seconds else None)
        self.generate_dockerfile = operation["operationType"] == "PackageDockerBuildContext"
        self.error = operation.get("error")
        self.location = operation.get("resourceLocation")
        self.package_build_log_uri = operation.get("operationLog")
        self.state = operation["state"]

    def get_logs(self, decode=True, offset=0):
        """The package creation log (from byte ``offset``)."""
        response = self.workspace._client.request("GET", self._path + "/log", "webservice",
                                                  params={"offset": int(offset)})
        return response.text if decode else response.content

    def wait_for_creation(self, show_output=False):
        """Wait until the package is created; ``WebserviceException`` if creation did not succeed."""
        logs_offset = 0
        while self.state not in _TERMINAL:
            time.sleep(self.workspace._settings.poll_interval)
            self._refresh(wait_seconds=1.0)  # the daemon holds the poll: no tight loop
            if show_output:
                logs = self.get_logs(decode=False, offset=logs_offset)
                logs_offset += len(logs)
                print(logs.decode("utf-8", "replace"), end="")
        if show_output:
            logs = self.get_logs(decode=False, offset=logs_offset)
            print(logs.decode("utf-8", "replace"), end="")
            print("Package creation {}".format(self.state))
        if self.state != "Succeeded":
            if self.error and "statusCode" in self.error and "message" in self.error:
                error_message = "StatusCode: {}\nMessage: {}".format(self.error["statusCode"], self.error["message"])
            else:
                error_message = self.error
            raise WebserviceException("Package creation reached non-successful terminal state.\n"
                                      "State: {}\nError:\n{}\n".format(self.state, error_message))

    def get_container_registry(self):
        """Where the image lives: the daemon's Docker engine (no address or credentials, docs/parity.md)."""
        if self.state != "Succeeded":
            self.wait_for_creation(show_output=True)
        return ContainerRegistry()

    def pull(self):
        """Make the image available locally: it was built on the daemon's engine, so this checks it is there."""
        if self.generate_dockerfile:
            raise WebserviceException("A Dockerfile package cannot be pulled. Use save() instead.")
        if self.state != "Succeeded":
            self.wait_for_creation(show_output=True)
        self.workspace._client.json("POST", self._path + "/pull", "webservice")

    def save(self, output_directory):
        """Write the Dockerfile build context into ``output_directory`` (created if missing)."""
        if not self.generate_dockerfile:
            raise WebserviceException("Docker images cannot be saved to a local directory. Use pull() instead.")
        if os.path.exists(output_directory) and not os.path.isdir(output_directory):
            raise WebserviceException("Error, output path is not a directory: {}".format(output_directory),
                                      logger=module_logger)
        if self.state != "Succeeded":
            self.wait_for_creation(show_output=True)
        response = self.workspace._client.request("GET", self._path + "/context", "webservice")
        os.makedirs(output_directory, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(response.content), mode="r") as archive:
            archive.extractall(output_directory, filter="data")  # nothing lands outside the folder
        module_logger.debug("Successfully saved Dockerfile package to {}".format(output_directory))

    def serialize(self):
        """This package as the SDK's JSON-serializable dict."""
        return {"generateDockerfile": self.generate_dockerfile, "state": self.state, "location": self.location}


__all__ = ["ModelPackage", "package"]
