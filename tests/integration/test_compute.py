"""AKS compute targets through the facade, against the session's local cloud (see tests/conftest.py)."""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

import pytest

from fake_azure._client import CloudClient
from fake_azure.core.compute import AksCompute, ComputeTarget
from fake_azure.core.compute.aks import AksUpdateConfiguration, SslConfiguration
from fake_azure.exceptions import ComputeTargetException, UserErrorException

FINISHED_OK = 'Provisioning operation finished, operation "Succeeded"\n'
FAILED_PREFIX = ("Compute object provisioning polling reached non-successful terminal state, current provisioning "
                 "state: Failed\nProvisioning operation error:\n")


@contextmanager
def progress_policy(policy: str) -> Iterator[CloudClient]:
    """Switch the daemon's progress policy through the admin API; always back to immediate."""
    client = CloudClient.connect()
    try:
        assert client.admin("PUT", "/_emulator/progress", json={"policy": policy}) == {"policy": policy}
        assert client.admin("GET", "/_emulator/progress") == {"policy": policy}
        yield client
    finally:
        client.admin("PUT", "/_emulator/progress", json={"policy": "immediate"})


def _create(ws, name: str, **config) -> AksCompute:
    target = ComputeTarget.create(ws, name, AksCompute.provisioning_configuration(**config))
    assert isinstance(target, AksCompute)
    return target


def _provisioned(ws, name: str, **config) -> AksCompute:
    target = _create(ws, name, **config)
    target.wait_for_completion()
    assert target.provisioning_state == "Succeeded"
    return target


# --- the seed flow ----------------------------------------------------------------------------------------------


def _seed(ws) -> tuple[object, bool]:
    """What deploy scripts do, written against azureml.core (the import hook maps it to the facade)."""
    from azureml.core.compute import AksCompute as UserAksCompute
    from azureml.core.compute import ComputeTarget as UserComputeTarget
    from azureml.core.compute_target import ComputeTargetException as UserComputeTargetException

    try:
        target = UserComputeTarget(ws, "aks-gpu")
        print("Found existing compute target")
        return target, False
    except UserComputeTargetException:
        config = UserAksCompute.provisioning_configuration(vm_size="Standard_NC6")
        target = UserComputeTarget.create(ws, "aks-gpu", config)
        target.wait_for_completion(show_output=True)
        return target, True


def test_seed_flow_creates_then_finds(ws, activated, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    first, created = _seed(ws)
    out = capsys.readouterr().out
    assert created is True
    assert out == "Succeeded" + FINISHED_OK
    assert first.provisioning_state == "Succeeded"
    assert first.agent_vm_size == "Standard_NC6"

    second, created_again = _seed(ws)
    assert created_again is False
    assert capsys.readouterr().out == "Found existing compute target\n"
    assert type(second) is AksCompute
    assert second.id == first.id
    assert second.provisioning_state == "Succeeded"
    assert second.agent_vm_size == "Standard_NC6"


def test_created_cluster_attributes(ws) -> None:
    target = _provisioned(ws, "aks-attrs", vm_size="Standard_NC6")
    assert target.name == "aks-attrs"
    assert target.type == "AKS"
    assert target.agent_count == 3
    assert target.agent_vm_size == "Standard_NC6"
    assert target.cluster_purpose == "FastProd"
    assert target.provisioning_state == "Succeeded"
    assert target.provisioning_errors is None
    assert target.is_attached is False
    assert target.location == ws.location == "eastus"
    assert target.cluster_location == "eastus"
    assert target.workspace is ws
    assert target.id == f"{ws._arm_path}/computes/aks-attrs"
    assert target.load_balancer_type == "PublicIp"
    assert target.cluster_fqdn and target.cluster_fqdn.startswith("aks-attrs-")
    assert isinstance(target.created_on, datetime) and target.created_on.tzinfo is not None
    assert isinstance(target.modified_on, datetime) and target.modified_on >= target.created_on
    assert target.system_services and target.system_services[0].service_type == "ScoringFrontEnd"
    assert "Microsoft.ContainerService/managedClusters/aks-attrs" in target.cluster_resource_id
    assert repr(target).startswith(f"AksCompute(workspace={ws!r}, name=aks-attrs, id={target.id}, type=AKS, "
                                   "provisioning_state=Succeeded, location=eastus, tags=None)")


def test_create_returns_at_once_in_creating_state(ws) -> None:
    with progress_policy("polls:3"):
        target = _create(ws, "aks-async")
        assert target.provisioning_state == "Creating"
        assert target._operation_endpoint and "/operations/" in target._operation_endpoint
        target.wait_for_completion()
    assert target.provisioning_state == "Succeeded"


def test_default_configuration_is_three_d3_v2_nodes(ws) -> None:
    target = _provisioned(ws, "aks-default")
    assert (target.agent_count, target.agent_vm_size, target.cluster_purpose) == (3, "Standard_D3_v2", "FastProd")


def test_vm_size_is_matched_case_insensitively_and_stored_canonically(ws) -> None:
    target = _provisioned(ws, "aks-case", vm_size="standard_nc6")
    assert target.agent_vm_size == "Standard_NC6"


def test_location_differing_from_the_workspace_warns(ws, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        target = _provisioned(ws, "aks-west", location="westus2")
    assert target.cluster_location == "westus2"
    assert ("You might see network latency and increased data transfer costs if you chose a cluster location "
            "different from the location of your workspace") in caplog.text


# --- subclass dispatch and lookups ------------------------------------------------------------------------------


def test_constructor_dispatches_to_aks_compute(ws) -> None:
    _provisioned(ws, "aks-dispatch")
    by_base = ComputeTarget(ws, "aks-dispatch")
    by_sub = AksCompute(ws, "aks-dispatch")
    assert type(by_base) is AksCompute
    assert type(by_sub) is AksCompute
    assert by_base.provisioning_state == by_sub.provisioning_state == "Succeeded"
    assert by_base.agent_count == 3


def test_keyword_constructor(ws) -> None:
    _provisioned(ws, "aks-kw")
    assert ComputeTarget(workspace=ws, name="aks-kw").name == "aks-kw"


def test_missing_target_raises_compute_target_not_found(ws) -> None:
    for cls in (ComputeTarget, AksCompute):
        with pytest.raises(ComputeTargetException) as info:
            cls(ws, "nope")
        assert info.value.message == ("ComputeTargetNotFound: Compute Target with name nope not found in provided "
                                      "workspace")


def test_targets_are_scoped_to_their_workspace(ws) -> None:
    from fake_azure.core import Workspace

    _provisioned(ws, "aks-scoped")
    other = Workspace(ws.subscription_id, ws.resource_group, ws.name + "-b")
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(other, "aks-scoped")


def test_bare_constructor_returns_an_empty_object() -> None:
    bare = AksCompute(None, None)
    assert type(bare) is AksCompute
    assert not hasattr(bare, "name")


@pytest.mark.parametrize("name", ["amlcompute", "local", "containerinstance"])
def test_reserved_names_are_rejected(ws, name: str) -> None:
    with pytest.raises(UserErrorException) as info:
        ComputeTarget.create(ws, name, AksCompute.provisioning_configuration())
    assert type(info.value) is UserErrorException
    assert info.value.message == f"Please specify a different target name. {name} is a reserved name."
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(ws, name)


def test_reserved_names_are_case_sensitive_like_the_sdk(ws) -> None:
    assert _provisioned(ws, "Local").name == "Local"


# --- server-side failures ---------------------------------------------------------------------------------------


def test_unknown_vm_size_fails_on_wait(ws, capsys: pytest.CaptureFixture[str]) -> None:
    target = _create(ws, "aks-bad", vm_size="Standard_NC7_nope")
    with pytest.raises(ComputeTargetException) as info:
        target.wait_for_completion(show_output=True)
    message = info.value.message
    assert message.startswith(FAILED_PREFIX + "StatusCode: 400\nMessage: Virtual Machine size: 'Standard_NC7_nope' "
                                              "is not supported for subscription")
    assert f"for subscription {ws.subscription_id} in location 'eastus'" in message
    assert "The available VM sizes are '" in message
    assert capsys.readouterr().out == 'FailedProvisioning operation finished, operation "Failed"\n'
    assert target.provisioning_state == "Failed"
    assert target.provisioning_errors[0]["error"]["code"] == "VMSizeNotSupported"
    assert ComputeTarget(ws, "aks-bad").provisioning_state == "Failed"


def test_fast_prod_needs_twelve_vcpus(ws) -> None:
    target = _create(ws, "aks-small", vm_size="Standard_D2_v2", agent_count=2)
    with pytest.raises(ComputeTargetException) as info:
        target.wait_for_completion()
    message = info.value.message
    assert message.startswith(FAILED_PREFIX + "StatusCode: 400\nMessage: ")
    assert "must be greater than or equal to 12" in message
    assert "2 x Standard_D2_v2 (2 vCPUs) gives 4" in message
    assert target.provisioning_state == "Failed"


def test_fast_prod_with_exactly_twelve_vcpus_succeeds(ws) -> None:
    target = _provisioned(ws, "aks-twelve", vm_size="Standard_D2_v2", agent_count=6)
    assert target.agent_count == 6


def test_fast_prod_one_nc6_node_fails_two_succeed(ws) -> None:
    with pytest.raises(ComputeTargetException, match="6 vCPUs"):
        _create(ws, "aks-nc6-1", vm_size="Standard_NC6", agent_count=1).wait_for_completion()
    assert _provisioned(ws, "aks-nc6-2", vm_size="Standard_NC6", agent_count=2).agent_count == 2


def test_dev_test_with_one_small_node_succeeds(ws) -> None:
    target = _provisioned(ws, "aks-dev1", vm_size="Standard_D2_v2", agent_count=1,
                          cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST)
    assert (target.agent_count, target.cluster_purpose) == (1, "DevTest")


def test_dev_test_defaults_to_one_node(ws) -> None:
    target = _provisioned(ws, "aks-dev-def", cluster_purpose="DevTest")
    assert (target.agent_count, target.agent_vm_size) == (1, "Standard_D3_v2")


def test_same_name_with_another_vm_size_is_a_conflict(ws) -> None:
    _provisioned(ws, "aks-dup", vm_size="Standard_NC6")
    with pytest.raises(ComputeTargetException) as info:
        _create(ws, "aks-dup", vm_size="Standard_D3_v2")
    message = info.value.message
    assert message.startswith("Received bad response from Resource Provider:\nResponse Code: 409\nHeaders: ")
    assert "ComputeAlreadyExists" in message and "agentVmSize Standard_NC6" in message
    assert ComputeTarget(ws, "aks-dup").agent_vm_size == "Standard_NC6"


@pytest.mark.parametrize("name", ["ab#c", "ab?c=1", "ab/c", "ab%2Fc"])
def test_names_reach_the_cloud_whole(ws, name: str) -> None:
    # Pasted into the URL unescaped, "ab#c" created (and later bound to) the target "ab".
    with pytest.raises(ComputeTargetException) as info:
        _create(ws, name)
    message = info.value.message
    if "/" in name:  # the daemon's server decodes %2F: no route has a name with a '/' (nor does Azure)
        assert "Response Code: 404" in message
    else:
        assert "Response Code: 400" in message and "InvalidComputeName" in message
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(ws, "ab")
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(ws, name)
    assert ComputeTarget.list(ws) == []


def test_same_name_with_another_agent_count_is_a_conflict(ws) -> None:
    _provisioned(ws, "aks-dup2", agent_count=3)
    with pytest.raises(ComputeTargetException, match="Response Code: 409"):
        _create(ws, "aks-dup2", agent_count=4)


def test_same_name_same_config_is_an_idempotent_put(ws, capsys: pytest.CaptureFixture[str]) -> None:
    _provisioned(ws, "aks-again", vm_size="Standard_NC6")
    again = _create(ws, "aks-again", vm_size="Standard_NC6")
    capsys.readouterr()
    again.wait_for_completion(show_output=True)
    assert capsys.readouterr().out == "Succeeded" + FINISHED_OK
    assert again.provisioning_state == "Succeeded"
    assert [t.name for t in ComputeTarget.list(ws)] == ["aks-again"]


# --- delete / detach --------------------------------------------------------------------------------------------


def test_delete_is_non_blocking_then_wait_then_gone(ws, capsys: pytest.CaptureFixture[str]) -> None:
    target = _provisioned(ws, "aks-del")
    with progress_policy("polls:2"):
        assert target.delete() is None
        assert target.provisioning_state == "Deleting"
        assert ComputeTarget(ws, "aks-del").provisioning_state == "Deleting"
        capsys.readouterr()
        target.wait_for_completion(show_output=True, is_delete_operation=True)
    # Reading the cluster (the ComputeTarget(...) above) counts as one of the two running polls.
    assert capsys.readouterr().out == "Deleting.\nSucceeded" + FINISHED_OK
    with pytest.raises(ComputeTargetException) as info:
        ComputeTarget(ws, "aks-del")
    assert info.value.message.startswith("ComputeTargetNotFound: Compute Target with name aks-del not found")
    assert ComputeTarget.list(ws) == []


def test_delete_under_the_immediate_policy(ws, capsys: pytest.CaptureFixture[str]) -> None:
    target = _provisioned(ws, "aks-del2")
    target.delete()
    assert target.provisioning_state == "Deleting"
    capsys.readouterr()
    target.wait_for_completion(show_output=True, is_delete_operation=True)
    assert capsys.readouterr().out == "Succeeded" + FINISHED_OK
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(ws, "aks-del2")


def test_wait_after_delete_without_the_delete_flag_raises_not_found(ws) -> None:
    target = _provisioned(ws, "aks-del3")
    target.delete()
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        target.wait_for_completion()  # refresh_state() of a deleted cluster, as in the SDK


def test_name_can_be_reused_after_delete(ws) -> None:
    target = _provisioned(ws, "aks-reuse", vm_size="Standard_NC6")
    target.delete()
    target.wait_for_completion(is_delete_operation=True)
    again = _provisioned(ws, "aks-reuse", vm_size="Standard_NC12")
    assert again.agent_vm_size == "Standard_NC12"


def test_deleting_twice_is_rejected(ws) -> None:
    with progress_policy("polls:5"):
        target = _provisioned(ws, "aks-deltwice")
        target.delete()
        with pytest.raises(ComputeTargetException, match="Response Code: 409"):
            ComputeTarget(ws, "aks-deltwice").delete()
        target.wait_for_completion(is_delete_operation=True)


def test_deleting_a_missing_cluster_is_not_found(ws) -> None:
    target = _provisioned(ws, "aks-gone")
    target.delete()
    target.wait_for_completion(is_delete_operation=True)
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        target.delete()


def test_detach_removes_the_target(ws, capsys: pytest.CaptureFixture[str]) -> None:
    target = _provisioned(ws, "aks-detach")
    assert target.detach() is None
    assert target.provisioning_state == "Deleting"
    capsys.readouterr()
    target.wait_for_completion(show_output=True, is_delete_operation=True)
    assert capsys.readouterr().out == "Succeeded" + FINISHED_OK
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(ws, "aks-detach")


def test_delete_while_creating(ws) -> None:
    with progress_policy("polls:3"):
        target = _create(ws, "aks-early")
        assert target.provisioning_state == "Creating"
        target.delete()
        target.wait_for_completion(is_delete_operation=True)
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(ws, "aks-early")


def test_reading_a_cluster_deleted_while_creating(ws) -> None:
    with progress_policy("polls:3"):
        target = _create(ws, "aks-early2")
        target.delete()
        # The create operation falls due while the cluster is Deleting: reads must keep working.
        assert [target.get_status() for _ in range(3)] == ["Deleting", "Deleting", "Deleting"]
        assert [t.provisioning_state for t in ComputeTarget.list(ws) if t.name == "aks-early2"] in ([], ["Deleting"])
        target.wait_for_completion(is_delete_operation=True)
    with pytest.raises(ComputeTargetException, match="ComputeTargetNotFound"):
        ComputeTarget(ws, "aks-early2")
    assert ComputeTarget.list(ws) == []


# --- polling, status, refresh -----------------------------------------------------------------------------------


def test_polls_policy_prints_creating_dots_then_succeeded(ws, capsys: pytest.CaptureFixture[str]) -> None:
    with progress_policy("polls:3"):
        target = _create(ws, "aks-polls")
        capsys.readouterr()
        target.wait_for_completion(show_output=True)
    # create()'s own GET of the new cluster counts as the first of the three running polls.
    assert capsys.readouterr().out == "Creating..\nSucceeded" + FINISHED_OK
    assert target.provisioning_state == "Succeeded"


def test_polls_policy_failure_output(ws, capsys: pytest.CaptureFixture[str]) -> None:
    with progress_policy("polls:2"):
        target = _create(ws, "aks-polls-bad", vm_size="Standard_Bogus")
        capsys.readouterr()
        with pytest.raises(ComputeTargetException, match="current provisioning state: Failed"):
            target.wait_for_completion(show_output=True)
    assert capsys.readouterr().out == 'Creating.\nFailedProvisioning operation finished, operation "Failed"\n'


def test_get_status_and_refresh_state_track_the_operation(ws) -> None:
    with progress_policy("polls:3"):
        target = _create(ws, "aks-status")
        assert target.get_status() == "Creating"
        assert target.get_status() == "Creating"
        assert target.get_status() == "Succeeded"
        assert target.provisioning_state == "Succeeded"
    stale = AksCompute(ws, "aks-status")
    stale.provisioning_state = "Creating"
    stale.agent_count = None
    stale.refresh_state()
    assert (stale.provisioning_state, stale.agent_count) == ("Succeeded", 3)


def test_wait_on_a_constructed_object_cannot_poll(ws) -> None:
    _provisioned(ws, "aks-noop")
    found = ComputeTarget(ws, "aks-noop")
    with pytest.raises(ComputeTargetException) as info:
        found.wait_for_completion(show_output=True)
    assert info.value.message == ("Long running operation information not known, unable to poll. Current state "
                                  "is Succeeded")


def test_waiting_twice_reports_the_same_outcome(ws, capsys: pytest.CaptureFixture[str]) -> None:
    target = _provisioned(ws, "aks-twice")
    capsys.readouterr()
    target.wait_for_completion(show_output=True)
    assert capsys.readouterr().out == "Succeeded" + FINISHED_OK


def test_seconds_policy_eventually_finishes(ws) -> None:
    with progress_policy("seconds:0.3"):
        target = _create(ws, "aks-secs")
        assert target.provisioning_state == "Creating"
        deadline = time.monotonic() + 10
        while target.get_status() == "Creating" and time.monotonic() < deadline:
            pass
        assert target.provisioning_state == "Succeeded"


def test_bad_policy_through_the_admin_api_is_rejected(emulator_home) -> None:
    client = CloudClient.connect()
    with pytest.raises(UserErrorException) as info:
        client.admin("PUT", "/_emulator/progress", json={"policy": "sometimes"})
    assert "progress policy 'sometimes' is not one of" in info.value.message
    assert client.admin("GET", "/_emulator/progress") == {"policy": "immediate"}


# --- list, credentials, serialization, update -------------------------------------------------------------------


def test_list_and_workspace_compute_targets(ws) -> None:
    assert ComputeTarget.list(ws) == []
    assert ws.compute_targets == {}
    _provisioned(ws, "aks-a")
    _provisioned(ws, "aks-b", vm_size="Standard_NC6")
    listed = ComputeTarget.list(ws)
    assert [t.name for t in listed] == ["aks-a", "aks-b"]
    assert all(type(t) is AksCompute for t in listed)
    assert listed[1].agent_vm_size == "Standard_NC6"
    targets = ws.compute_targets
    assert sorted(targets) == ["aks-a", "aks-b"]
    assert targets["aks-b"].provisioning_state == "Succeeded"
    assert targets["aks-a"].workspace is ws


def test_get_credentials_returns_a_kubeconfig_dict(ws) -> None:
    target = _provisioned(ws, "aks-creds")
    creds = target.get_credentials()
    assert isinstance(creds, dict)
    assert set(creds) >= {"userKubeConfig", "adminKubeConfig"}
    assert target.cluster_fqdn in creds["userKubeConfig"]


def test_serialize_then_deserialize_round_trips(ws) -> None:
    target = _create(ws, "aks-ser", vm_size="Standard_Bogus")  # a Failed cluster has no system services
    with pytest.raises(ComputeTargetException):
        target.wait_for_completion()
    data = target.serialize()
    assert data["name"] == "aks-ser" and data["properties"]["computeType"] == "AKS"
    assert data["properties"]["properties"]["agentVmSize"] == "Standard_Bogus"
    copy = AksCompute.deserialize(ws, data)
    assert type(copy) is AksCompute
    for attribute in ("id", "name", "location", "type", "tags", "description", "provisioning_state",
                      "provisioning_errors", "cluster_resource_id", "cluster_location", "is_attached",
                      "agent_vm_size", "agent_count", "cluster_purpose", "cluster_fqdn", "load_balancer_type",
                      "load_balancer_subnet"):
        assert getattr(copy, attribute) == getattr(target, attribute), attribute
    assert copy.serialize() == data


def test_serialize_of_a_running_cluster_does_not_deserialize_like_the_sdk(ws) -> None:
    # The SDK writes systemServices as 'serviceType' but reads 'systemServiceType'; the facade keeps that quirk.
    data = _provisioned(ws, "aks-ser2").serialize()
    assert data["properties"]["properties"]["systemServices"][0]["serviceType"] == "ScoringFrontEnd"
    with pytest.raises(ComputeTargetException, match='Invalid system service payload, missing "systemServiceType"'):
        AksCompute.deserialize(ws, data)


def test_deserialize_rejects_bad_payloads(ws) -> None:
    with pytest.raises(ComputeTargetException, match="Invalid cluster payload:"):
        AksCompute.deserialize(ws, {"name": "x"})
    with pytest.raises(ComputeTargetException, match='Invalid cluster payload, not "AKS"'):
        AksCompute.deserialize(ws, {"properties": {"computeType": "AmlCompute"}})
    with pytest.raises(ComputeTargetException, match=r'missing \["location"\]'):
        AksCompute.deserialize(ws, {"properties": {"computeType": "AKS"}})


def test_update_load_balancer(ws, capsys: pytest.CaptureFixture[str]) -> None:
    target = _provisioned(ws, "aks-upd")
    target.update(AksUpdateConfiguration(load_balancer_type="InternalLoadBalancer", load_balancer_subnet="snet"))
    capsys.readouterr()
    target.wait_for_completion(show_output=True)
    assert capsys.readouterr().out == "Succeeded" + FINISHED_OK
    fresh = ComputeTarget(ws, "aks-upd")
    assert (fresh.load_balancer_type, fresh.load_balancer_subnet) == ("InternalLoadBalancer", "snet")
    assert fresh.provisioning_state == "Succeeded"
    assert fresh.agent_count == 3


def test_an_internal_load_balancer_gets_the_default_subnet(ws) -> None:
    internal = _provisioned(ws, "aks-ilb", load_balancer_type="InternalLoadBalancer")
    assert (internal.load_balancer_type, internal.load_balancer_subnet) == ("InternalLoadBalancer", "aks-subnet")
    public = _provisioned(ws, "aks-pub")
    assert public.load_balancer_subnet is None
    public.update(AksUpdateConfiguration(load_balancer_type="InternalLoadBalancer"))
    public.wait_for_completion()
    assert ComputeTarget(ws, "aks-pub").load_balancer_subnet == "aks-subnet"
    public.update(AksUpdateConfiguration(load_balancer_type="PublicIp"))
    public.wait_for_completion()
    assert ComputeTarget(ws, "aks-pub").load_balancer_subnet is None


def test_update_ssl_leaf_domain(ws) -> None:
    target = _provisioned(ws, "aks-ssl")
    target.update(AksUpdateConfiguration(SslConfiguration(leaf_domain_label="mylabel")))
    target.wait_for_completion()
    fresh = ComputeTarget(ws, "aks-ssl")
    assert fresh.ssl_configuration.status == "Auto"
    assert fresh.ssl_configuration.leaf_domain_label == "mylabel"


def test_update_renew_without_leaf_domain_is_rejected(ws) -> None:
    target = _provisioned(ws, "aks-renew")
    with pytest.raises(ComputeTargetException, match="When renew is set the cluster should have the leaf domain"):
        target.update(AksUpdateConfiguration(SslConfiguration(renew=True)))


def test_attach_is_not_emulated(ws) -> None:
    config = AksCompute.attach_configuration(resource_group="rg", cluster_name="c")
    with pytest.raises(ComputeTargetException, match="does not emulate attaching"):
        ComputeTarget.attach(ws, "aks-att", config)
