"""Workspace.get/list/create build their workspaces from the bodies they already hold: no extra GETs."""
from __future__ import annotations

import uuid

import pytest

from fake_azure._client import CloudClient
from fake_azure.core import Workspace

SUB = "00000000-0000-0000-0000-0000000000ab"


def _name() -> str:
    return f"ws-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    original = CloudClient.request

    def counting(self, method, path, family, **kwargs):
        seen.append((method, path))
        return original(self, method, path, family, **kwargs)

    monkeypatch.setattr(CloudClient, "request", counting)
    return seen


def test_get_by_name_only_is_one_list_request(emulator_home, calls) -> None:
    name = _name()
    created = Workspace(SUB, "rg-req", name)
    calls.clear()
    found = Workspace.get(name)
    assert [method for method, _ in calls] == ["GET"]
    assert calls[0][1] == "/providers/Microsoft.MachineLearningServices/workspaces"
    assert found == created
    assert (found.name, found.subscription_id, found.resource_group, found.location, found.sku) == \
        (name, SUB, "rg-req", created.location, "basic")
    assert found.get_details() == created.get_details()


def test_get_keeps_the_name_as_spelled(emulator_home, calls) -> None:
    name = _name()
    Workspace(SUB, "rg-req", name)
    found = Workspace.get(name.upper())
    assert found.name == name.upper() and found.resource_group == "rg-req"


def test_list_is_one_request(emulator_home, calls) -> None:
    sub = "00000000-0000-0000-0000-" + uuid.uuid4().hex[:12]
    a, b = _name(), _name()
    made = {a: Workspace(sub, "rg-l1", a, sku="enterprise", tags={"k": "v"}), b: Workspace(sub, "rg-l2", b)}
    calls.clear()
    listed = Workspace.list(sub)
    assert len(calls) == 1
    assert sorted(listed) == sorted([a, b])
    for name, workspace in made.items():
        (loaded,) = listed[name]
        assert loaded == workspace
        assert loaded.get_details() == workspace.get_details()
        assert (loaded.location, loaded.sku, loaded.tags) == (workspace.location, workspace.sku, workspace.tags)
    assert listed[a][0].sku == "enterprise" and listed[a][0].tags == {"k": "v"}


def test_create_is_a_list_and_a_put(emulator_home, calls) -> None:
    name = _name()
    created = Workspace.create(name, subscription_id=SUB, resource_group="rg-req", location="westus",
                               sku="enterprise", show_output=False)
    assert [method for method, _ in calls] == ["GET", "PUT"]
    assert (created.name, created.location, created.sku) == (name, "westus", "enterprise")
    assert Workspace(SUB, "rg-req", name) == created
