"""Mirror of ``azureml.core.webservice.local``: local (Docker) deployment configuration.

The container lifecycle of ``LocalWebservice`` lands with the deploy issue; the methods the SDK
never supports for local services already raise its ``NotImplementedError`` texts.
"""
from __future__ import annotations

import logging
from typing import Any

from fake_azure.core.webservice.webservice import (
    LOCAL_WEBSERVICE_TYPE,
    Webservice,
    WebserviceDeploymentConfiguration,
)
from fake_azure.exceptions import WebserviceException

module_logger = logging.getLogger(__name__)


class LocalWebservice(Webservice):
    """A model served from a local container (``computeType`` ``Local``); states are lower-case."""

    STATE_DELETED = "deleted"
    STATE_DEPLOYING = "deploying"
    STATE_FAILED = "failed"
    STATE_RUNNING = "running"
    STATE_UNKNOWN = "unknown"

    _webservice_type = LOCAL_WEBSERVICE_TYPE

    @staticmethod
    def deploy_configuration(port: int | None = None) -> "LocalWebserviceDeploymentConfiguration":
        """Create a local deployment configuration; ``port`` None/0 picks a free host port."""
        return LocalWebserviceDeploymentConfiguration(port)

    @classmethod
    def deserialize(cls, workspace: Any, webservice_payload: Any) -> Any:
        """Not supported for local services."""
        raise NotImplementedError("Local web services cannot be deserialized.")

    def get_keys(self) -> Any:
        """Not supported: local services have no auth."""
        raise NotImplementedError("Local web services do not support auth keys.")

    def get_token(self) -> Any:
        """Not supported: local services have no auth."""
        raise NotImplementedError("Local web services do not support Token Authentication.")

    def regen_key(self, key: str) -> Any:
        """Not supported: local services have no auth."""
        raise NotImplementedError("Local web services do not support auth keys.")


class LocalWebserviceDeploymentConfiguration(WebserviceDeploymentConfiguration):
    """Deployment settings of a local service; create it with ``LocalWebservice.deploy_configuration``."""

    _webservice_type = LocalWebservice

    def __init__(self, port: int | None = None) -> None:
        super().__init__(LocalWebservice)
        self.port = port
        self.validate_configuration()

    def validate_configuration(self) -> None:
        """Raise ``WebserviceException`` unless ``port`` is falsy or an int in [1, 65535]."""
        if self.port and not (isinstance(self.port, int) and 1 <= self.port <= 65535):
            raise WebserviceException("Invalid configuration, port must be an integer in range [1, 65535]",
                                      logger=module_logger)

    def print_deploy_configuration(self) -> None:
        """Nothing to print for local deployments (as in the SDK)."""
