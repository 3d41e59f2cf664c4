"""Mirror of ``azureml.core.container_registry``: connection details for a (private) image registry."""
from __future__ import annotations

from typing import Any


class _RunConfigElement:
    """Rejects unknown attributes once constructed, like the SDK's ``_AbstractRunConfigElement``.

    A typo such as ``env.docker.base_imag = ...`` raises ``AttributeError`` in the SDK instead of
    silently creating a new attribute; subclasses set ``self._initialized = True`` last in ``__init__``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        # hasattr() runs property getters (e.g. gpu_support's warning) exactly as the SDK's check does.
        if getattr(self, "_initialized", False) and not hasattr(self, name):
            raise AttributeError("{} has no attribute {}".format(self.__class__, name))
        super().__setattr__(name, value)


class RegistryIdentity(_RunConfigElement):
    """User-assigned managed identity used to pull from a registry."""

    def __init__(self) -> None:
        self.resource_id: str | None = None
        self.client_id: str | None = None
        self._initialized = True

    def _serialize_to_dict(self) -> dict[str, Any]:
        return {"resourceId": self.resource_id, "clientId": self.client_id}

    @staticmethod
    def _deserialize_from_dict(data: dict[str, Any] | None) -> "RegistryIdentity | None":
        if data is None:
            return None
        identity = RegistryIdentity()
        identity.resource_id = data.get("resourceId")
        identity.client_id = data.get("clientId")
        return identity


class ContainerRegistry(_RunConfigElement):
    """Defines a connection to a container registry (address, username, password)."""

    def __init__(self) -> None:
        self.address: str | None = None
        self.username: str | None = None
        self.password: str | None = None
        self.registry_identity: RegistryIdentity | None = None
        self._initialized = True

    def _serialize_to_dict(self) -> dict[str, Any]:
        """Return the SDK's camelCase form (``address``, ``username``, ``password``, ``registryIdentity``)."""
        return {
            "address": self.address,
            "username": self.username,
            "password": self.password,
            "registryIdentity": self.registry_identity._serialize_to_dict() if self.registry_identity else None,
        }

    @staticmethod
    def _deserialize_from_dict(data: dict[str, Any] | None) -> "ContainerRegistry":
        registry = ContainerRegistry()
        if data:
            registry.address = data.get("address")
            registry.username = data.get("username")
            registry.password = data.get("password")
            registry.registry_identity = RegistryIdentity._deserialize_from_dict(data.get("registryIdentity"))
        return registry
