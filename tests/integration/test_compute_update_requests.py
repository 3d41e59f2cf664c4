"""AksCompute.update: the cluster's GET and the PUT, whose operation it then waits on; no throwaway GET."""
from __future__ import annotations

import logging

import pytest

from fake_azure._client import CloudClient
from fake_azure.core.compute import AksCompute, ComputeTarget
from fake_azure.core.compute.aks import AksUpdateConfiguration

LATENCY_WARNING = ("You might see network latency and increased data transfer costs if you chose a cluster location "
                   "different from the location of your workspace")


def _provisioned(ws, name: str, **config) -> AksCompute:
    target = ComputeTarget.create(ws, name, AksCompute.provisioning_configuration(**config))
    target.wait_for_completion()
    assert target.provisioning_state == "Succeeded"
    return target


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str | None]]:
    seen: list[tuple[str, str, str | None]] = []
    original = CloudClient.request

    def counting(self, method, path, family, **kwargs):
        response = original(self, method, path, family, **kwargs)
        seen.append((method, path, response.headers.get("Azure-AsyncOperation")))
        return response

    monkeypatch.setattr(CloudClient, "request", counting)
    return seen


def test_update_is_a_get_and_a_put(ws, calls) -> None:
    target = _provisioned(ws, "aks-upd-req")
    calls.clear()
    target.update(AksUpdateConfiguration(load_balancer_type="InternalLoadBalancer", load_balancer_subnet="snet"))
    assert [method for method, _, _ in calls] == ["GET", "PUT"]
    assert target._operation_endpoint and target._operation_endpoint == calls[1][2]
    target.wait_for_completion()
    assert (target.load_balancer_type, target.load_balancer_subnet) == ("InternalLoadBalancer", "snet")


def test_update_of_a_cluster_elsewhere_warns_as_the_sdk_does(ws, caplog: pytest.LogCaptureFixture) -> None:
    # The SDK's update PUTs through _create_compute_target, which warns whenever computeLocation differs.
    target = _provisioned(ws, "aks-upd-west", location="westus2")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        target.update(AksUpdateConfiguration(load_balancer_type="InternalLoadBalancer", load_balancer_subnet="s"))
    assert LATENCY_WARNING in caplog.text
    caplog.clear()
    same = _provisioned(ws, "aks-upd-same")
    with caplog.at_level(logging.WARNING):
        same.update(AksUpdateConfiguration(load_balancer_type="InternalLoadBalancer", load_balancer_subnet="s"))
    assert LATENCY_WARNING not in caplog.text
