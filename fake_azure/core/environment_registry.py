"""A workspace's registered environments in the local cloud (what ``Environment.register/get/list`` use)."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .environment import Environment


class EnvironmentRegistry:
    """Versioned environment definitions of one workspace: register, get (latest, version or label), list.

    Failures raise what the SDK's environment client raises: a bare ``Exception`` whose text wraps
    the status code and the service's response body.
    """

    def __init__(self, workspace: Any) -> None:
        self._workspace = workspace
        self._client = workspace._client

    def _path(self, name: str | None = None) -> str:
        path = self._workspace._arm_path + "/environments"
        return path if name is None else path + "/" + quote(name, safe="")

    def register(self, env: Environment) -> Environment:
        """Store ``env`` as the next version of its name; sets ``env.version`` and returns the registered copy."""
        definition = Environment._serialize_to_dict(env)
        body = self._client.json("PUT", self._path(env.name), "environment.register", json=definition)
        env.version = body["version"]
        return Environment._deserialize_from_dict(body)

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Environment:
        """The latest version of ``name``, or ``version``, or the version labelled ``label``."""
        context: tuple[str, ...]
        if label:
            path, family, context = self._path(name) + "/labels/" + quote(label, safe=""), "environment.get_label", \
                (name, label)
        elif version is not None:
            path, family, context = self._path(name) + "/versions/" + quote(str(version), safe=""), \
                "environment.get", ()
        else:
            path, family, context = self._path(name), "environment.get", ()
        response = self._client.request("GET", path, family, error_context=context)
        return Environment._deserialize_from_dict(response.json())

    def label(self, name: str, version: str, labels: list[str]) -> None:
        """Point each of ``labels`` at version ``version`` of ``name``."""
        path = self._path(name) + "/versions/" + quote(str(version), safe="") + "/metadata"
        self._client.request("PUT", path, "environment.label", json={"Labels": labels})

    def list(self) -> list[Environment]:
        """The latest version of every registered environment, by name."""
        bodies = self._client.json("GET", self._path(), "environment.list")["value"]
        return [Environment._deserialize_from_dict(body) for body in bodies]
