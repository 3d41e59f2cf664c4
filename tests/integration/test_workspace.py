"""Workspace through the facade: create-on-first-use, config files (vs the real SDK's errors), get/create/list."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import azureml.core.workspace as real_workspace_module
import pytest

from fake_azure.core import Workspace
from fake_azure.core import authentication as auth
from fake_azure.core.workspace import DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID
from fake_azure.exceptions import ProjectSystemException, UserErrorException, WorkspaceException

SUB = "00000000-0000-0000-0000-0000000000aa"
RealWorkspace = real_workspace_module.Workspace


def _name(prefix: str = "ws") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _scope(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{name}"


def _real_error(**kwargs) -> tuple[str, str]:
    """What the real SDK raises for from_config(...) (these errors come before any network call)."""
    with pytest.raises(Exception) as info:
        RealWorkspace.from_config(**kwargs)
    return type(info.value).__name__, info.value.message


def _fake_error(**kwargs) -> tuple[str, str]:
    with pytest.raises(UserErrorException) as info:
        Workspace.from_config(**kwargs)
    return type(info.value).__name__, info.value.message


def test_real_sdk_is_the_real_one() -> None:
    assert RealWorkspace.__module__ == "azureml.core.workspace"
    assert "site-packages" in real_workspace_module.__file__


# --- constructor ------------------------------------------------------------------------------------------------


def test_constructor_creates_on_first_use(emulator_home) -> None:
    name = _name()
    assert name not in Workspace.list(SUB)
    ws = Workspace(SUB, "rg-a", name)
    assert (ws.subscription_id, ws.resource_group, ws.name) == (SUB, "rg-a", name)
    assert ws.location == "eastus"
    assert ws.sku == "basic"
    listed = Workspace.list(SUB)[name]
    assert len(listed) == 1 and listed[0] == ws


def test_second_construction_finds_the_same_workspace(emulator_home) -> None:
    name = _name()
    first = Workspace(SUB, "rg-a", name, _location="westus2")
    second = Workspace(SUB, "rg-a", name, _location="northeurope")
    assert second.location == first.location == "westus2"
    assert second.get_details()["workspaceid"] == first.get_details()["workspaceid"]
    assert second == first and hash(second) == hash(first)


def test_names_and_groups_are_case_insensitive(emulator_home) -> None:
    name = _name("Ws")
    first = Workspace(SUB, "RG-Mixed", name)
    second = Workspace(SUB, "rg-mixed", name.lower())
    assert first == second
    assert second.get_details()["workspaceid"] == first.get_details()["workspaceid"]


def test_keyword_arguments_like_the_sdk(emulator_home) -> None:
    ws = Workspace(subscription_id=SUB, resource_group="rg-kw", workspace_name=_name(), tags={"team": "ml"})
    assert ws.tags == {"team": "ml"}


def test_get_details(emulator_home) -> None:
    name = _name()
    details = Workspace(SUB, "rg-d", name).get_details()
    assert details["id"] == _scope(SUB, "rg-d", name)
    assert details["name"] == name
    assert details["location"] == "eastus"
    assert details["type"] == "Microsoft.MachineLearningServices/workspaces"
    uuid.UUID(details["workspaceid"])


def test_repr(emulator_home) -> None:
    name = _name()
    assert repr(Workspace(SUB, "rg-r", name)) == (
        f"Workspace.create(name='{name}', subscription_id='{SUB}', resource_group='rg-r')")


def test_strict_mode_refuses_unknown_workspaces(emulator_home, monkeypatch: pytest.MonkeyPatch) -> None:
    existing = Workspace(SUB, "rg-s", _name())
    monkeypatch.setenv("FAKE_AZURE_STRICT_WORKSPACES", "1")
    name = _name()
    with pytest.raises(ProjectSystemException) as info:
        Workspace(SUB, "rg-s", name)
    assert info.value.message == "Workspace not found."
    assert name not in Workspace.list(SUB)
    assert Workspace(SUB, "rg-s", existing.name) == existing  # existing ones still load


BAD_NAMES = ["ab", "-starts-with-dash", "has space", "x" * 34, "dots.not.allowed"]
SDK_BAD_NAME = ("Workspace name must be between 3 and 33 characters long. Its first character has to be "
                "alphanumeric, and the rest may contain hyphens and underscores. No whitespace is allowed.")


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_invalid_workspace_names_are_refused_with_the_sdk_text(emulator_home, bad: str) -> None:
    from azureml._base_sdk_common.common import _valid_workspace_name

    assert not _valid_workspace_name(bad)  # the SDK's own rule agrees the name is bad
    with pytest.raises(UserErrorException) as info:
        Workspace(SUB, "rg-bad", bad)
    assert info.value.message == SDK_BAD_NAME
    assert bad not in Workspace.list(SUB)


@pytest.mark.parametrize("suffix", ["#evil", "?api-version=1", "/computes", "%2Fevil"])
def test_names_reach_the_cloud_whole(emulator_home, suffix: str) -> None:
    # Pasted into the URL unescaped, "wsx#evil" bound to the workspace "wsx".
    name, group = _name("wsx"), _name("rg-esc")
    existing = Workspace(SUB, group, name)
    for load in (lambda: Workspace(SUB, group, name + suffix),
                 lambda: Workspace.get(name + suffix, subscription_id=SUB, resource_group=group),
                 lambda: Workspace.create(name + suffix, subscription_id=SUB, resource_group=group, exist_ok=True)):
        with pytest.raises(UserErrorException) as info:
            load()
        assert info.value.message == SDK_BAD_NAME
    assert list(Workspace.list(SUB, resource_group=group)) == [name]
    assert Workspace(SUB, group, name) == existing


@pytest.mark.parametrize("good", ["abc", "a_b-c", "Ab1", "x" * 33, "9lives"])
def test_names_the_sdk_accepts_are_accepted(emulator_home, good: str) -> None:
    from azureml._base_sdk_common.common import _valid_workspace_name

    if not _valid_workspace_name(good):
        pytest.fail(f"test data: the SDK rejects {good!r}")
    assert Workspace(SUB, "rg-good", good).name == good


@pytest.mark.parametrize("bad", BAD_NAMES + [""])
def test_create_with_an_invalid_name_matches_the_sdk(emulator_home, bad: str) -> None:
    from azureml._base_sdk_common.common import check_valid_resource_name

    with pytest.raises(Exception) as real_info:
        check_valid_resource_name(bad, "Workspace")
    with pytest.raises(UserErrorException) as info:
        Workspace.create(bad, subscription_id=SUB, resource_group="rg-bad", show_output=False)
    assert type(info.value).__name__ == type(real_info.value).__name__ == "UserErrorException"
    assert info.value.message == real_info.value.message == SDK_BAD_NAME


@pytest.mark.parametrize("auth_object", [
    auth.InteractiveLoginAuthentication(),
    auth.InteractiveLoginAuthentication(force=True, tenant_id="t"),
    auth.AzureCliAuthentication(),
    auth.ServicePrincipalAuthentication(tenant_id="t", service_principal_id="id",
                                        service_principal_password="secret"),
    auth.MsiAuthentication(),
    auth.TokenAuthentication(lambda audience: "token"),
], ids=lambda a: type(a).__name__)
def test_auth_objects_are_accepted(emulator_home, tmp_path: Path, auth_object) -> None:
    ws = Workspace(SUB, "rg-auth", _name(), auth=auth_object)
    assert ws.name
    assert auth_object.get_authentication_header() == {"Authorization": "Bearer fake-azure-local"}
    ws.write_config(path=str(tmp_path))
    assert Workspace.from_config(path=str(tmp_path), auth=auth_object) == ws
    assert Workspace.get(ws.name, auth=auth_object, subscription_id=SUB, resource_group="rg-auth") == ws


def test_delete(emulator_home, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(SUB, "rg-del", _name())
    ws.delete()
    assert ws.name not in Workspace.list(SUB)
    monkeypatch.setenv("FAKE_AZURE_STRICT_WORKSPACES", "true")
    with pytest.raises(ProjectSystemException, match="Workspace not found."):
        Workspace(SUB, "rg-del", ws.name)


# --- config files -----------------------------------------------------------------------------------------------


def test_write_config_matches_the_sdk_file(emulator_home, tmp_path: Path) -> None:
    from azureml._project import project_info

    ws = Workspace(SUB, "rg-c", _name())
    ws.write_config(path=str(tmp_path / "ours"))
    ours = (tmp_path / "ours" / ".azureml" / "config.json").read_text()
    (tmp_path / "sdk").mkdir()
    project_info.add(None, _scope(SUB, "rg-c", ws.name), str(tmp_path / "sdk" / "config.json"),
                     is_config_file_path=True)
    assert ours == (tmp_path / "sdk" / "config.json").read_text()
    assert json.loads(ours) == {"Id": None, "Scope": _scope(SUB, "rg-c", ws.name)}


def test_write_config_then_from_config_from_a_nested_directory(emulator_home, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(SUB, "rg-c", _name())
    ws.write_config(path=str(tmp_path))
    nested = tmp_path / "a" / "b" / "c"
    nested.mkdir(parents=True)
    assert Workspace.from_config(path=str(nested)) == ws
    monkeypatch.chdir(nested)
    found = Workspace.from_config()
    assert found == ws
    assert (found.subscription_id, found.resource_group, found.name) == (SUB, "rg-c", ws.name)


def test_write_config_default_path_is_the_current_directory(emulator_home, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace(SUB, "rg-c", _name())
    monkeypatch.chdir(tmp_path)
    ws.write_config()
    assert (tmp_path / ".azureml" / "config.json").is_file()
    assert Workspace.from_config() == ws


def test_write_config_prefers_an_existing_aml_config_dir(emulator_home, tmp_path: Path) -> None:
    (tmp_path / "aml_config").mkdir()
    ws = Workspace(SUB, "rg-c", _name())
    ws.write_config(path=str(tmp_path))
    assert (tmp_path / "aml_config" / "config.json").is_file()
    assert not (tmp_path / ".azureml").exists()
    assert Workspace.from_config(path=str(tmp_path)) == ws


def test_write_config_with_file_name_and_from_config_with_file_name(emulator_home, tmp_path: Path) -> None:
    ws = Workspace(SUB, "rg-c", _name())
    ws.write_config(path=str(tmp_path), file_name="other")
    assert (tmp_path / ".azureml" / "other.json").is_file()
    assert Workspace.from_config(path=str(tmp_path), _file_name="other.json") == ws
    assert _fake_error(path=str(tmp_path))[0] == "UserErrorException"  # config.json is not there


def test_from_config_with_a_direct_file_path(emulator_home, tmp_path: Path) -> None:
    name = _name()
    config = tmp_path / "anywhere.json"
    config.write_text(json.dumps({"subscription_id": SUB, "resource_group": "rg-f", "workspace_name": name}))
    ws = Workspace.from_config(path=str(config))
    assert (ws.subscription_id, ws.resource_group, ws.name) == (SUB, "rg-f", name)


def test_from_config_scope_form(emulator_home, tmp_path: Path) -> None:
    name = _name()
    (tmp_path / "config.json").write_text(json.dumps({"Scope": _scope(SUB, "rg-scope", name)}))
    ws = Workspace.from_config(path=str(tmp_path))
    assert (ws.subscription_id, ws.resource_group, ws.name) == (SUB, "rg-scope", name)


def test_from_config_scope_wins_over_keys(emulator_home, tmp_path: Path) -> None:
    name = _name()
    (tmp_path / "config.json").write_text(json.dumps({
        "Scope": _scope(SUB, "rg-scope", name), "subscription_id": "other", "resource_group": "other",
        "workspace_name": "other-name"}))
    assert Workspace.from_config(path=str(tmp_path)).name == name


def test_from_config_search_order(emulator_home, tmp_path: Path) -> None:
    """.azureml beats aml_config beats the plain directory; config.json beats project.json."""
    names = {key: _name() for key in ("azureml", "aml_config", "plain", "legacy")}

    def write(path: Path, name: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"subscription_id": SUB, "resource_group": "rg-o", "workspace_name": name}))

    write(tmp_path / "config.json", names["plain"])
    assert Workspace.from_config(path=str(tmp_path)).name == names["plain"]
    write(tmp_path / "aml_config" / "config.json", names["aml_config"])
    assert Workspace.from_config(path=str(tmp_path)).name == names["aml_config"]
    write(tmp_path / ".azureml" / "project.json", names["legacy"])
    assert Workspace.from_config(path=str(tmp_path)).name == names["legacy"]
    write(tmp_path / ".azureml" / "config.json", names["azureml"])
    assert Workspace.from_config(path=str(tmp_path)).name == names["azureml"]


def test_missing_config_error_matches_the_sdk(tmp_path: Path) -> None:
    nested = tmp_path / "x" / "y"
    nested.mkdir(parents=True)
    real = _real_error(path=str(nested))
    assert _fake_error(path=str(nested)) == real
    assert real[1] == (
        f"The workspace configuration file config.json, could not be found in {nested} or its parent directories. "
        "Please check whether the workspace configuration file exists, or provide the full path to the "
        "configuration file as an argument. You can download a configuration file for your workspace, via "
        "http://ml.azure.com and clicking on the name of your workspace in the right top.")


def test_missing_config_error_for_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert _fake_error() == _real_error()
    assert _fake_error(path=".") == _real_error(path=".")
    assert _fake_error(path="sub/dir") == _real_error(path="sub/dir")


def test_missing_config_error_for_a_nonexistent_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "does-not-exist")
    assert _fake_error(path=missing) == _real_error(path=missing)


def test_missing_config_error_with_a_file_name(tmp_path: Path) -> None:
    assert _fake_error(path=str(tmp_path), _file_name="x.json") == _real_error(path=str(tmp_path),
                                                                             _file_name="x.json")


@pytest.mark.parametrize("content", [
    {"subscription_id": SUB},
    {"subscription_id": SUB, "resource_group": "rg"},
    {"resource_group": "rg", "workspace_name": "w"},
    {},
    {"Scope": ""},
])
def test_config_lacking_keys_matches_the_sdk(tmp_path: Path, content: dict) -> None:
    nested = tmp_path / "deep" / "er"
    nested.mkdir(parents=True)
    config = tmp_path / ".azureml" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps(content))
    real = _real_error(path=str(nested))
    assert _fake_error(path=str(nested)) == real
    assert real[1] == (f"The config file found in: {config} does not seem to contain the required parameters. "
                       "Please make sure it contains your subscription_id, resource_group and workspace_name.")
    assert _fake_error(path=str(config)) == _real_error(path=str(config))


# --- get / create / list ----------------------------------------------------------------------------------------


def test_get_by_name_only_finds_the_workspace(emulator_home) -> None:
    name = _name()
    created = Workspace(SUB, "rg-get", name)
    found = Workspace.get(name)
    assert found == created
    assert (found.subscription_id, found.resource_group) == (SUB, "rg-get")


def test_get_by_name_and_subscription(emulator_home) -> None:
    name = _name()
    Workspace(SUB, "rg-get2", name)
    assert Workspace.get(name, subscription_id=SUB).resource_group == "rg-get2"


def test_get_ambiguous_name_raises_workspace_exception(emulator_home) -> None:
    name = _name()
    Workspace(SUB, "rg-one", name)
    Workspace(SUB, "rg-two", name)
    with pytest.raises(WorkspaceException) as info:
        Workspace.get(name)
    assert info.value.found_multiple is True
    assert name in info.value.message
    assert Workspace.get(name, subscription_id=SUB, resource_group="rg-two").resource_group == "rg-two"


def test_get_unknown_name_creates_it_in_the_default_scope(emulator_home) -> None:
    name = _name()
    ws = Workspace.get(name)
    assert (ws.subscription_id, ws.resource_group) == (DEFAULT_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP)


def test_get_unknown_name_in_strict_mode(emulator_home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_AZURE_STRICT_WORKSPACES", "1")
    with pytest.raises(ProjectSystemException, match="Workspace not found."):
        Workspace.get(_name())


def test_get_passes_location(emulator_home) -> None:
    assert Workspace.get(_name(), subscription_id=SUB, resource_group="rg-loc", location="japaneast").location \
        == "japaneast"


def test_create_new_workspace(emulator_home, capsys: pytest.CaptureFixture[str]) -> None:
    name = _name()
    ws = Workspace.create(name, subscription_id=SUB, resource_group="rg-new", location="westeurope",
                          tags={"a": "b"})
    assert (ws.name, ws.subscription_id, ws.resource_group, ws.location) == (name, SUB, "rg-new", "westeurope")
    assert ws.tags == {"a": "b"}
    assert capsys.readouterr().out == f"Deployed Workspace with name {name}.\n"
    assert Workspace(SUB, "rg-new", name) == ws


def test_create_existing_without_exist_ok_is_a_workspace_exception(emulator_home) -> None:
    name = _name()
    Workspace.create(name, subscription_id=SUB, resource_group="rg-ex", show_output=False)
    with pytest.raises(WorkspaceException) as info:
        Workspace.create(name, subscription_id=SUB, resource_group="rg-ex", show_output=False)
    assert info.value.message == (f"Workspace with name '{name}' already exists under resource group with name "
                                  "'rg-ex'.")
    assert info.value.found_multiple is False


def test_create_existing_with_exist_ok_returns_it(emulator_home, capsys: pytest.CaptureFixture[str]) -> None:
    name = _name()
    first = Workspace.create(name, subscription_id=SUB, resource_group="rg-ok", location="westus")
    capsys.readouterr()
    again = Workspace.create(name, subscription_id=SUB, resource_group="rg-ok", exist_ok=True)
    assert again == first and again.location == "westus"
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("sku", ["basic", "enterprise"])
def test_sku_is_the_stored_workspaces(emulator_home, sku: str) -> None:
    name = _name()
    created = Workspace.create(name, subscription_id=SUB, resource_group="rg-sku", sku=sku, show_output=False)
    assert created.sku == sku and created.get_details()["sku"] == sku
    # A later load reads the sku from the cloud (the SDK: the autorest workspace's sku.tier), not its default.
    for loaded in (Workspace.get(name, subscription_id=SUB, resource_group="rg-sku"), Workspace(SUB, "rg-sku", name),
                   Workspace.list(SUB, resource_group="rg-sku")[name][0]):
        assert loaded.sku == sku
        assert loaded.get_details()["sku"] == sku


def test_create_defaults(emulator_home) -> None:
    ws = Workspace.create(_name(), show_output=False)
    assert (ws.subscription_id, ws.resource_group, ws.location) == (DEFAULT_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP,
                                                                    "eastus")


def test_list_by_subscription_and_resource_group(emulator_home) -> None:
    sub = "00000000-0000-0000-0000-" + uuid.uuid4().hex[:12]
    a, b, c = _name(), _name(), _name()
    Workspace(sub, "rg-l1", a)
    Workspace(sub, "rg-l1", b)
    Workspace(sub, "rg-l2", c)
    everything = Workspace.list(sub)
    assert sorted(everything) == sorted([a, b, c])
    assert all(isinstance(v, list) and len(v) == 1 and isinstance(v[0], Workspace) for v in everything.values())
    assert everything[c][0].resource_group == "rg-l2"
    assert sorted(Workspace.list(sub, resource_group="rg-l1")) == sorted([a, b])
    assert sorted(Workspace.list(sub, resource_group="RG-L1")) == sorted([a, b])
    assert Workspace.list("no-such-subscription") == {}


def test_list_groups_same_names_across_resource_groups(emulator_home) -> None:
    sub = "00000000-0000-0000-0000-" + uuid.uuid4().hex[:12]
    name = _name()
    Workspace(sub, "rg-x", name)
    Workspace(sub, "rg-y", name)
    listed = Workspace.list(sub)
    assert list(listed) == [name]
    assert sorted(w.resource_group for w in listed[name]) == ["rg-x", "rg-y"]


def test_compute_targets_of_a_new_workspace_is_empty(ws) -> None:
    assert ws.compute_targets == {}

