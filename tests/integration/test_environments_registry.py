"""Registered environments: versions, latest, list and the SDK's failure text."""
from __future__ import annotations

import uuid

import pytest

from fake_azure.core import Workspace
from fake_azure.core.environment import Environment
from fake_azure.core.environment_registry import EnvironmentRegistry


def _env(name: str, image: str = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04") -> Environment:
    env = Environment(name)
    env.docker.base_image = image
    env.python.user_managed_dependencies = True
    return env


def test_register_allocates_versions_and_returns_the_registered_copy(ws):
    registry = EnvironmentRegistry(ws)
    env = _env("gpu-env")

    first = registry.register(env)
    assert (first.name, first.version, env.version) == ("gpu-env", "1", "1")
    assert first is not env
    second = registry.register(env)
    assert second.version == "2"
    assert second.docker.base_image == env.docker.base_image
    assert second.python.user_managed_dependencies is True


def test_get_latest_or_a_version(ws):
    registry = EnvironmentRegistry(ws)
    registry.register(_env("versioned", "image:one"))
    registry.register(_env("versioned", "image:two"))

    assert registry.get("versioned").version == "2"
    assert registry.get("versioned").docker.base_image == "image:two"
    assert registry.get("versioned", "1").docker.base_image == "image:one"
    assert Environment._serialize_to_dict(registry.get("versioned", "1"))["docker"]["baseImage"] == "image:one"


def test_list_returns_the_latest_version_of_each_name(ws):
    registry = EnvironmentRegistry(ws)
    for name in ("b-env", "a-env", "b-env"):
        registry.register(_env(name))

    listed = registry.list()

    assert [(e.name, e.version) for e in listed] == [("a-env", "1"), ("b-env", "2")]
    assert all(isinstance(e, Environment) for e in listed)
    assert set(ws.environments) == {"a-env", "b-env"}


def test_not_found_raises_the_sdk_exception_text(ws):
    registry = EnvironmentRegistry(ws)
    registry.register(_env("present"))
    for args in (("absent",), ("present", "9")):
        with pytest.raises(Exception) as caught:
            registry.get(*args)
        assert type(caught.value) is Exception
        assert str(caught.value).startswith("Error retrieving the environment definition. Code: 404\n: ")
        assert '"code":"EnvironmentNotFound"' in str(caught.value)


def test_labels(ws):
    registry = EnvironmentRegistry(ws)
    registry.register(_env("labelled", "image:one"))
    registry.register(_env("labelled", "image:two"))
    with pytest.raises(Exception) as caught:
        registry.get("labelled", label="prod")
    assert str(caught.value).startswith("Error retrieving the environment definition labelled with label prod. "
                                        "Code: 404\n: ")

    registry.label("labelled", "1", ["prod"])
    assert registry.get("labelled", label="prod").version == "1"
    registry.label("labelled", "2", ["prod"])  # a label moves to the newer version
    assert registry.get("labelled", label="prod").version == "2"


def test_workspaces_are_isolated(ws, emulator_home):
    other = Workspace(ws.subscription_id, ws.resource_group, f"ws-{uuid.uuid4().hex[:10]}")
    EnvironmentRegistry(ws).register(_env("mine"))
    assert EnvironmentRegistry(other).list() == []
    with pytest.raises(Exception, match="Code: 404"):
        EnvironmentRegistry(other).get("mine")
