"""Mirror of ``azureml.core.webservice.unknown_webservice``: services of a type this client does not know."""
from __future__ import annotations

from typing import Any

from fake_azure.core.webservice.webservice import UNKNOWN_WEBSERVICE_TYPE, Webservice


class UnknownWebservice(Webservice):
    """Stands in for services whose ``computeType`` matches no known subclass (e.g. IoT, MIR)."""

    _webservice_type = UNKNOWN_WEBSERVICE_TYPE

    @staticmethod
    # The SDK's own signature, without the base's ``overwrite``: kept for parity.
    def _deploy(workspace: Any, name: str, image: Any,  # type: ignore[override]
                deployment_config: Any, deployment_target: Any) -> Any:
        raise NotImplementedError("Cannot deploy Webservice because webservice type is not known.")

    def run(self, input: Any) -> Any:
        """Not supported for unknown service types."""
        raise NotImplementedError("Cannot run Webservice because webservice type is not known.")

    def update(self, *args: Any) -> None:
        """Not supported for unknown service types."""
        raise NotImplementedError("Cannot update Webservice because webservice type is not known.")

    def get_token(self) -> Any:
        """Not supported for unknown service types."""
        raise NotImplementedError("Unknown webservices do not support Token Authentication.")
