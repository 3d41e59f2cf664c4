"""Differential tests: AKS compute configuration classes of the real azureml-core vs the facade.

Everything here is client-side in the SDK (no network): the same inputs must give the same
exception class and message, the same attributes, and the same ARM create payload."""
from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any, Callable

import azureml.core.compute.aks as real_aks
import azureml.core.compute.compute as real_compute
import pytest

import fake_azure.core.compute.aks as fake_aks
import fake_azure.core.compute.compute as fake_compute

pytestmark = pytest.mark.parity

VNET = dict(vnet_resourcegroup_name="vnet-rg", vnet_name="vnet", subnet_name="snet", service_cidr="10.0.0.0/16",
            dns_service_ip="10.0.0.10", docker_bridge_cidr="172.17.0.1/16")


def test_real_sdk_is_really_the_sdk() -> None:
    assert real_aks.__name__ == "azureml.core.compute.aks"
    assert "site-packages" in real_aks.__file__
    assert fake_aks.AksCompute is not real_aks.AksCompute


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as exc:  # comparing whatever both sides raise
        return "raised", (type(exc).__name__, getattr(exc, "message", str(exc)))


def _state(obj: Any) -> dict[str, Any]:
    """Public-ish attributes of a config object, with class references reduced to their names."""
    state = {}
    for key, value in vars(obj).items():
        if isinstance(value, type):
            value = value.__name__
        elif hasattr(value, "__dict__") and not isinstance(value, (str, int, float, bool)):
            value = (type(value).__name__, _state(value))
        state[key] = value
    return state


def _compare(real_call: Callable[[], Any], fake_call: Callable[[], Any]) -> tuple[str, Any]:
    real_kind, real_value = _outcome(real_call)
    fake_kind, fake_value = _outcome(fake_call)
    assert fake_kind == real_kind, (real_value, fake_value)
    if real_kind == "raised":
        assert fake_value == real_value
        return real_kind, real_value
    assert type(fake_value).__name__ == type(real_value).__name__
    assert _state(fake_value) == _state(real_value)
    return real_kind, real_value


@pytest.fixture
def pem_files(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
    return str(cert), str(key)


# --- provisioning_configuration ---------------------------------------------------------------------------------

PROVISIONING_CASES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "vm_size": {"vm_size": "Standard_NC6"},
    "agent_count": {"agent_count": 2, "vm_size": "Standard_NC6"},
    "agent_count_zero_is_falsy": {"agent_count": 0},
    "agent_count_negative": {"agent_count": -1},
    "agent_count_negative_big": {"agent_count": -100, "vm_size": "Standard_D3_v2"},
    "devtest": {"cluster_purpose": "DevTest", "agent_count": 1},
    "fastprod": {"cluster_purpose": "FastProd"},
    "location": {"location": "westus2"},
    "ssl_cname_only": {"ssl_cname": "www.contoso.com"},
    "ssl_cert_only": {"ssl_cert_pem_file": "cert.pem"},
    "ssl_cname_and_key": {"ssl_cname": "www.contoso.com", "ssl_key_pem_file": "key.pem"},
    "ssl_all_three": {"ssl_cname": "www.contoso.com", "ssl_cert_pem_file": "c.pem", "ssl_key_pem_file": "k.pem"},
    "vnet_complete": dict(VNET),
    "vnet_name_only": {"vnet_name": "vnet"},
    "vnet_missing_docker_bridge": {k: v for k, v in VNET.items() if k != "docker_bridge_cidr"},
    "vnet_missing_rg": {k: v for k, v in VNET.items() if k != "vnet_resourcegroup_name"},
    "load_balancer": {"load_balancer_type": "InternalLoadBalancer", "load_balancer_subnet": "aks-subnet"},
    "load_balancer_bogus_type_not_validated": {"load_balancer_type": "Bogus"},
    "agent_count_and_bad_ssl": {"agent_count": -2, "ssl_cname": "x"},
    "everything": {"agent_count": 4, "vm_size": "Standard_NC12", "location": "eastus2", "cluster_purpose": "DevTest",
                   "load_balancer_type": "PublicIp", **VNET},
}


@pytest.mark.parametrize("kwargs", list(PROVISIONING_CASES.values()), ids=list(PROVISIONING_CASES))
def test_provisioning_configuration(kwargs: dict[str, Any]) -> None:
    _compare(lambda: real_aks.AksCompute.provisioning_configuration(**kwargs),
             lambda: fake_aks.AksCompute.provisioning_configuration(**kwargs))


def test_provisioning_configuration_error_messages_are_the_documented_ones() -> None:
    cases = {
        "Invalid configuration, agent count must be a positive integer.": {"agent_count": -1},
        ("Invalid configuration, not all ssl information provided. To enable SSL validation please provide the "
         "cname, cert pem file, and key pem file."): {"ssl_cname": "x"},
        ("Invalid configuration, not all virtual net information provided. To use a custom virtual net with aks, "
         "please provide vnet name, vnet resource group, subnet name, service cidr, dns service ip and docker "
         "bridge cidr"): {"vnet_name": "v"},
    }
    for message, kwargs in cases.items():
        kind, value = _compare(partial(real_aks.AksCompute.provisioning_configuration, **kwargs),
                               partial(fake_aks.AksCompute.provisioning_configuration, **kwargs))
        assert (kind, value) == ("raised", ("ComputeTargetException", message))


def test_cluster_purpose_constants() -> None:
    for name in ("FAST_PROD", "DEV_TEST"):
        assert getattr(fake_aks.AksCompute.ClusterPurpose, name) == getattr(real_aks.AksCompute.ClusterPurpose, name)


# --- enable_ssl -------------------------------------------------------------------------------------------------

ENABLE_SSL_CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "leaf_domain": ({}, {"leaf_domain_label": "contoso"}),
    "leaf_domain_overwrite": ({}, {"leaf_domain_label": "contoso", "overwrite_existing_domain": True}),
    "cname_cert_key": ({}, {"ssl_cname": "a.b", "ssl_cert_pem_file": "c", "ssl_key_pem_file": "k"}),
    "cname_only": ({}, {"ssl_cname": "a.b"}),
    "cname_cert_key_and_leaf": ({}, {"ssl_cname": "a.b", "ssl_cert_pem_file": "c", "ssl_key_pem_file": "k",
                                     "leaf_domain_label": "contoso"}),
    "cname_cert_key_and_overwrite": ({}, {"ssl_cname": "a.b", "ssl_cert_pem_file": "c", "ssl_key_pem_file": "k",
                                          "overwrite_existing_domain": True}),
    "leaf_after_provisioned_cname": ({"ssl_cname": "a.b", "ssl_cert_pem_file": "c", "ssl_key_pem_file": "k"},
                                     {"leaf_domain_label": "contoso"}),
    "overwrite_only": ({}, {"overwrite_existing_domain": True}),
    "nothing": ({}, {}),
}


ENABLE_SSL_PARAMS = [pytest.param("provisioning", config_kwargs, ssl_kwargs, id=f"provisioning-{case}")
                     for case, (config_kwargs, ssl_kwargs) in ENABLE_SSL_CASES.items()]
ENABLE_SSL_PARAMS += [pytest.param("attach", config_kwargs, ssl_kwargs, id=f"attach-{case}")
                      for case, (config_kwargs, ssl_kwargs) in ENABLE_SSL_CASES.items() if not config_kwargs]


@pytest.mark.parametrize("factory, config_kwargs, ssl_kwargs", ENABLE_SSL_PARAMS)
def test_enable_ssl(factory: str, config_kwargs: dict[str, Any], ssl_kwargs: dict[str, Any]) -> None:
    def run(module):
        if factory == "provisioning":
            config = module.AksCompute.provisioning_configuration(**config_kwargs)
        else:
            config = module.AksCompute.attach_configuration(resource_group="rg", cluster_name="c")
        returned = config.enable_ssl(**ssl_kwargs)
        assert returned is config
        return config

    _compare(lambda: run(real_aks), lambda: run(fake_aks))


# --- attach_configuration ---------------------------------------------------------------------------------------

AKS_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c"
ATTACH_CASES: dict[str, dict[str, Any]] = {
    "nothing": {},
    "rg_and_cluster": {"resource_group": "rg", "cluster_name": "c"},
    "rg_only": {"resource_group": "rg"},
    "cluster_only": {"cluster_name": "c"},
    "resource_id": {"resource_id": AKS_ID},
    "resource_id_too_short": {"resource_id": "/subscriptions/sub/resourceGroups/rg"},
    "resource_id_wrong_provider": {"resource_id": AKS_ID.replace("Microsoft.ContainerService", "Microsoft.Compute")},
    "resource_id_and_rg": {"resource_id": AKS_ID, "resource_group": "rg"},
    "resource_id_and_cluster": {"resource_id": AKS_ID, "cluster_name": "c"},
    "purpose": {"resource_group": "rg", "cluster_name": "c", "cluster_purpose": "DevTest"},
    "ilb": {"resource_group": "rg", "cluster_name": "c", "load_balancer_type": "InternalLoadBalancer",
            "load_balancer_subnet": "snet"},
    "public_ip_with_subnet": {"resource_group": "rg", "cluster_name": "c", "load_balancer_type": "PublicIp",
                              "load_balancer_subnet": "snet"},
    "bad_lb_type": {"resource_group": "rg", "cluster_name": "c", "load_balancer_type": "Internal"},
    "subnet_without_type": {"resource_group": "rg", "cluster_name": "c", "load_balancer_subnet": "snet"},
}


@pytest.mark.parametrize("kwargs", list(ATTACH_CASES.values()), ids=list(ATTACH_CASES))
def test_attach_configuration(kwargs: dict[str, Any]) -> None:
    _compare(lambda: real_aks.AksCompute.attach_configuration(**kwargs),
             lambda: fake_aks.AksCompute.attach_configuration(**kwargs))


def test_deprecated_attach_message() -> None:
    _compare(lambda: real_aks.AksCompute.attach(None, "n", AKS_ID),
             lambda: fake_aks.AksCompute.attach(None, "n", AKS_ID))


# --- AksUpdateConfiguration and SslConfiguration ----------------------------------------------------------------

UPDATE_CASES: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {
    "nothing": (None, {}),
    "lb_ilb_subnet": (None, {"load_balancer_type": "InternalLoadBalancer", "load_balancer_subnet": "snet"}),
    "lb_public_with_subnet": (None, {"load_balancer_type": "PublicIp", "load_balancer_subnet": "snet"}),
    "subnet_only": (None, {"load_balancer_subnet": "snet"}),
    "ssl_leaf": ({"leaf_domain_label": "contoso"}, {}),
    "ssl_leaf_overwrite": ({"leaf_domain_label": "contoso", "overwrite_existing_domain": True}, {}),
    "ssl_cname_cert_key": ({"cname": "a.b", "cert": "CERT", "key": "KEY", "status": "Enabled"}, {}),
    "ssl_cname_only": ({"cname": "a.b"}, {}),
    "ssl_cert_and_key_no_cname": ({"cert": "CERT", "key": "KEY"}, {}),
    "ssl_full_and_leaf": ({"cname": "a.b", "cert": "C", "key": "K", "leaf_domain_label": "x"}, {}),
    "ssl_full_and_overwrite": ({"cname": "a.b", "cert": "C", "key": "K", "overwrite_existing_domain": True}, {}),
    "ssl_disabled": ({"status": "Disabled"}, {}),
    "ssl_renew": ({"renew": True}, {}),
}


@pytest.mark.parametrize("ssl_kwargs, kwargs", list(UPDATE_CASES.values()), ids=list(UPDATE_CASES))
def test_update_configuration(ssl_kwargs: dict[str, Any] | None, kwargs: dict[str, Any]) -> None:
    def build(module):
        ssl = module.SslConfiguration(**ssl_kwargs) if ssl_kwargs is not None else None
        return module.AksUpdateConfiguration(ssl_configuration=ssl, **kwargs)

    _compare(lambda: build(real_aks), lambda: build(fake_aks))


@pytest.mark.parametrize("kwargs", [{}, {"status": "Enabled", "cert": "C", "key": "K", "cname": "a.b"},
                                    {"leaf_domain_label": "x", "overwrite_existing_domain": True, "renew": True}])
def test_ssl_configuration_serialize_round_trip(kwargs: dict[str, Any]) -> None:
    real_ssl, fake_ssl = real_aks.SslConfiguration(**kwargs), fake_aks.SslConfiguration(**kwargs)
    assert fake_ssl.serialize() == real_ssl.serialize()
    data = real_ssl.serialize()
    assert _state(fake_aks.SslConfiguration.deserialize(data)) == _state(real_aks.SslConfiguration.deserialize(data))


@pytest.mark.parametrize("payload", [
    {"systemServiceType": "ScoringFrontEnd", "version": "1", "publicIpAddress": "1.2.3.4"},
    {"serviceType": "ScoringFrontEnd", "version": "1", "publicIpAddress": "1.2.3.4"},
    {"systemServiceType": "x", "version": "1"},
])
def test_system_service_deserialize(payload: dict[str, Any]) -> None:
    kind, value = _compare(lambda: real_aks.SystemService.deserialize(payload),
                           lambda: fake_aks.SystemService.deserialize(payload))
    if kind == "ok":
        assert fake_aks.SystemService.deserialize(payload).serialize() == value.serialize()


# --- the ARM create payload -------------------------------------------------------------------------------------

PAYLOAD_CASES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "vm_size_only": {"vm_size": "Standard_NC6"},
    "agent_count_only": {"agent_count": 5},
    "devtest": {"cluster_purpose": "DevTest", "agent_count": 1, "vm_size": "Standard_D2_v2"},
    "location_only": {"location": "westeurope"},
    "location_and_vm": {"location": "westeurope", "vm_size": "Standard_NC6s_v3"},
    "vnet": dict(VNET),
    "load_balancer": {"load_balancer_type": "InternalLoadBalancer", "load_balancer_subnet": "snet"},
    "everything": {"agent_count": 4, "vm_size": "Standard_NC12", "location": "eastus2", "cluster_purpose": "FastProd",
                   "load_balancer_type": "PublicIp", **VNET},
}


@pytest.mark.parametrize("kwargs", list(PAYLOAD_CASES.values()), ids=list(PAYLOAD_CASES))
def test_create_payload(kwargs: dict[str, Any]) -> None:
    real_payload = real_aks.AksCompute._build_create_payload(
        real_aks.AksCompute.provisioning_configuration(**kwargs), "eastus", "sub")
    fake_payload = fake_aks.AksCompute._build_create_payload(
        fake_aks.AksCompute.provisioning_configuration(**kwargs), "eastus", "sub")
    assert json.dumps(fake_payload, sort_keys=True) == json.dumps(real_payload, sort_keys=True)


def test_create_payload_defaults_is_minimal() -> None:
    payload = fake_aks.AksCompute._build_create_payload(fake_aks.AksCompute.provisioning_configuration(), "eastus",
                                                        "sub")
    assert payload == {"location": "eastus", "properties": {"computeType": "AKS"}}


@pytest.mark.parametrize("ssl_kwargs", [{"leaf_domain_label": "contoso"},
                                        {"leaf_domain_label": "contoso", "overwrite_existing_domain": True}])
def test_create_payload_with_leaf_domain_label(ssl_kwargs: dict[str, Any]) -> None:
    payloads = []
    for module in (real_aks, fake_aks):
        config = module.AksCompute.provisioning_configuration(vm_size="Standard_NC6").enable_ssl(**ssl_kwargs)
        payloads.append(module.AksCompute._build_create_payload(config, "eastus", "sub"))
    assert payloads[1] == payloads[0]
    assert payloads[1]["properties"]["properties"]["sslConfiguration"]["status"] == "Auto"


def test_create_payload_leaf_domain_alone_keeps_properties() -> None:
    payloads = []
    for module in (real_aks, fake_aks):
        config = module.AksCompute.provisioning_configuration().enable_ssl(leaf_domain_label="contoso")
        payloads.append(module.AksCompute._build_create_payload(config, "westus", "sub"))
    assert payloads[1] == payloads[0]


def test_create_payload_with_cname_cert_and_key(pem_files: tuple[str, str]) -> None:
    cert, key = pem_files
    payloads = []
    for module in (real_aks, fake_aks):
        config = module.AksCompute.provisioning_configuration(ssl_cname="www.contoso.com", ssl_cert_pem_file=cert,
                                                              ssl_key_pem_file=key)
        payloads.append(module.AksCompute._build_create_payload(config, "eastus", "sub"))
    assert payloads[1] == payloads[0]
    assert payloads[1]["properties"]["properties"]["sslConfiguration"]["cert"].startswith("-----BEGIN CERTIFICATE")


def test_create_payload_with_missing_pem_files(tmp_path: Path) -> None:
    missing = str(tmp_path / "absent.pem")

    def build(module):
        config = module.AksCompute.provisioning_configuration(ssl_cname="a.b", ssl_cert_pem_file=missing,
                                                              ssl_key_pem_file=missing)
        return module.AksCompute._build_create_payload(config, "eastus", "sub")

    kind, (name, message) = _compare(lambda: build(real_aks), lambda: build(fake_aks))
    assert (kind, name) == ("raised", "ComputeTargetException")
    assert message.startswith("Error while reading ssl information:\nFileNotFoundError")


# --- ComputeTarget.create's client-side checks and payload validation -------------------------------------------


@pytest.mark.parametrize("name", ["amlcompute", "local", "containerinstance"])
def test_reserved_names(name: str) -> None:
    kind, value = _compare(
        lambda: real_compute.ComputeTarget.create(None, name, real_aks.AksCompute.provisioning_configuration()),
        lambda: fake_compute.ComputeTarget.create(None, name, fake_aks.AksCompute.provisioning_configuration()))
    assert (kind, value) == ("raised", ("UserErrorException",
                                        f"Please specify a different target name. {name} is a reserved name."))


GOOD_GET_PAYLOAD = {
    "id": "/x", "location": "eastus", "tags": None, "name": "c",
    "properties": {"computeType": "AKS", "properties": {"agentVmSize": "Standard_NC6", "agentCount": 3,
                                                        "clusterPurpose": "FastProd", "clusterFqdn": None,
                                                        "systemServices": None},
                   "provisioningErrors": None, "description": None, "provisioningState": "Succeeded",
                   "resourceId": "/r"},
}


def _without(path: list[str]) -> dict[str, Any]:
    payload = json.loads(json.dumps(GOOD_GET_PAYLOAD))
    node = payload
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return payload


@pytest.mark.parametrize("payload", [
    GOOD_GET_PAYLOAD,
    {},
    {"properties": {}},
    {"properties": {"computeType": "AmlCompute"}},
    _without(["location"]), _without(["id"]), _without(["tags"]),
    _without(["properties", "properties"]), _without(["properties", "provisioningErrors"]),
    _without(["properties", "description"]), _without(["properties", "provisioningState"]),
    _without(["properties", "resourceId"]),
    _without(["properties", "properties", "agentVmSize"]), _without(["properties", "properties", "clusterFqdn"]),
    _without(["properties", "properties", "systemServices"]),
], ids=lambda p: "-".join(sorted(p)) or "empty")
def test_validate_get_payload(payload: dict[str, Any]) -> None:
    real_kind, real_value = _outcome(lambda: real_aks.AksCompute._validate_get_payload(payload))
    fake_kind, fake_value = _outcome(lambda: fake_aks.AksCompute._validate_get_payload(payload))
    assert (fake_kind, fake_value) == (real_kind, real_value)
