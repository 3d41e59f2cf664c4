"""Mirror of ``azureml.core.compute.aks``: AKS clusters, emulated as node pools in the local cloud."""
from __future__ import annotations

import copy
import traceback
from typing import Any

from ...exceptions import ComputeTargetException
from .compute import (
    ComputeTarget,
    ComputeTargetAttachConfiguration,
    ComputeTargetProvisioningConfiguration,
    ComputeTargetUpdateConfiguration,
)

# The SDK's aks_cluster_template.json: the create payload starts from this and drops unset parts.
_AKS_PAYLOAD_TEMPLATE: dict[str, Any] = {
    "location": "",
    "properties": {
        "computeType": "AKS",
        "computeLocation": "",
        "resourceId": "",
        "properties": {
            "agentCount": None,
            "agentVmSize": "",
            "clusterPurpose": "",
            "sslConfiguration": {"status": "Disabled", "cname": "", "cert": "", "key": "", "leafDomainLabel": "",
                                 "overwriteExistingDomain": False},
            "aksNetworkingConfiguration": {"subnetId": "", "serviceCidr": "", "dnsServiceIP": "",
                                           "dockerBridgeCidr": ""},
            "loadBalancerType": "PublicIp",
            "loadBalancerSubnet": None,
        },
    },
}
_SSL_INCOMPLETE = ("Invalid configuration, not all ssl information provided. To enable SSL validation please provide "
                   "the cname, cert pem file, and key pem file.")
_SSL_WITH_LEAF = ("Invalid configuration. When cname, cert pem file, and key pem file is provided, leaf domain label "
                  "should not be provided.")
_SSL_WITH_OVERWRITE = ("Invalid configuration. Overwrite existing domain only applies to leaf domain label. When "
                       "cname, cert pem file, and key pem file is provided, Overwrite existing domain should not be "
                       "provided.")


def _validate_ssl(cname: Any, cert: Any, key: Any, leaf_domain_label: Any, overwrite_existing_domain: Any) -> None:
    if cname or cert or key:
        if not cname or not cert or not key:
            raise ComputeTargetException(_SSL_INCOMPLETE)
        if leaf_domain_label:
            raise ComputeTargetException(_SSL_WITH_LEAF)
        if overwrite_existing_domain:
            raise ComputeTargetException(_SSL_WITH_OVERWRITE)


class AksCompute(ComputeTarget):
    """An AKS cluster: a node pool of ``agent_count`` x ``vm_size`` in the local cloud."""

    _compute_type = "AKS"

    class ClusterPurpose:
        FAST_PROD = "FastProd"
        DEV_TEST = "DevTest"

    def _initialize(self, workspace, obj_dict):
        name = obj_dict["name"]
        properties = obj_dict["properties"]
        aks = properties["properties"]
        system_services = aks["systemServices"] if aks else None
        if system_services:
            system_services = [SystemService.deserialize(service) for service in system_services]
        ssl_configuration = aks.get("sslConfiguration") if aks else None
        super()._initialize(
            "{}/computes/{}".format(workspace._arm_path, name), name, obj_dict["location"],
            properties["computeType"], obj_dict["tags"], properties["description"], properties.get("createdOn"),
            properties.get("modifiedOn"), properties["provisioningState"], properties["provisioningErrors"],
            properties["resourceId"], properties.get("computeLocation"), workspace,
            ComputeTarget._compute_path(workspace, name), None, workspace._auth, properties["isAttachedCompute"])
        self.agent_vm_size = aks["agentVmSize"] if aks else None
        self.agent_count = aks["agentCount"] if aks else None
        self.cluster_purpose = aks["clusterPurpose"] if aks else None
        self.cluster_fqdn = aks["clusterFqdn"] if aks else None
        self.system_services = system_services
        self.ssl_configuration = SslConfiguration.deserialize(ssl_configuration) if ssl_configuration else None
        self.load_balancer_type = aks["loadBalancerType"] if aks else None
        self.load_balancer_subnet = aks["loadBalancerSubnet"] if aks else None

    def __repr__(self):
        return super().__repr__()

    @staticmethod
    def _create(workspace, name, provisioning_configuration):
        payload = AksCompute._build_create_payload(provisioning_configuration, workspace.location,
                                                   workspace.subscription_id)
        return ComputeTarget._create_compute_target(workspace, name, payload, AksCompute)

    @staticmethod
    def attach(workspace, name, resource_id):
        raise ComputeTargetException(
            "This method is DEPRECATED. Please use the following code to attach a AKS compute resource.\n"
            "# Attach AKS\n"
            'attach_config = AksCompute.attach_configuration(resource_group="name_of_resource_group",\n'
            '                                                cluster_name="name_of_aks_cluster")\n'
            "compute = ComputeTarget.attach(workspace, name, attach_config)")

    @staticmethod
    def provisioning_configuration(agent_count=None, vm_size=None, ssl_cname=None, ssl_cert_pem_file=None,
                                   ssl_key_pem_file=None, location=None, vnet_resourcegroup_name=None,
                                   vnet_name=None, subnet_name=None, service_cidr=None, dns_service_ip=None,
                                   docker_bridge_cidr=None, cluster_purpose=None, load_balancer_type=None,
                                   load_balancer_subnet=None):
        """Describe a cluster to provision (validated at once, as the SDK does)."""
        return AksProvisioningConfiguration(agent_count, vm_size, ssl_cname, ssl_cert_pem_file, ssl_key_pem_file,
                                            location, vnet_resourcegroup_name, vnet_name, subnet_name, service_cidr,
                                            dns_service_ip, docker_bridge_cidr, cluster_purpose, load_balancer_type,
                                            load_balancer_subnet)

    @staticmethod
    def _build_create_payload(config, location, subscription_id):
        payload = copy.deepcopy(_AKS_PAYLOAD_TEMPLATE)
        del payload["properties"]["resourceId"]
        payload["location"] = location
        aks = payload["properties"]["properties"]
        if not any((config.agent_count, config.vm_size, config.ssl_cname, config.vnet_name,
                    config.vnet_resourcegroup_name, config.subnet_name, config.service_cidr, config.dns_service_ip,
                    config.docker_bridge_cidr, config.leaf_domain_label, config.cluster_purpose,
                    config.load_balancer_type, config.load_balancer_subnet)):
            del payload["properties"]["properties"]
        else:
            for key, value in (("agentCount", config.agent_count), ("agentVmSize", config.vm_size),
                               ("clusterPurpose", config.cluster_purpose),
                               ("loadBalancerType", config.load_balancer_type),
                               ("loadBalancerSubnet", config.load_balancer_subnet)):
                if value:
                    aks[key] = value
                else:
                    del aks[key]
            ssl = aks["sslConfiguration"]
            if config.ssl_cname:
                try:
                    with open(config.ssl_cert_pem_file) as cert_file:
                        cert_data = cert_file.read()
                    with open(config.ssl_key_pem_file) as key_file:
                        key_data = key_file.read()
                except OSError as err:
                    raise ComputeTargetException("Error while reading ssl information:\n"
                                                 "{}".format(traceback.format_exc().splitlines()[-1])) from err
                ssl.update(status="Enabled", cname=config.ssl_cname, cert=cert_data, key=key_data)
                del ssl["leafDomainLabel"], ssl["overwriteExistingDomain"]
            elif config.leaf_domain_label:
                ssl.update(status="Auto", leafDomainLabel=config.leaf_domain_label,
                           overwriteExistingDomain=config.overwrite_existing_domain)
                del ssl["cname"], ssl["cert"], ssl["key"]
            else:
                del aks["sslConfiguration"]
            if config.vnet_name:
                aks["aksNetworkingConfiguration"] = {
                    "subnetId": "/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Network/virtualNetworks"
                                "/{2}/subnets/{3}".format(subscription_id, config.vnet_resourcegroup_name,
                                                          config.vnet_name, config.subnet_name),
                    "serviceCidr": config.service_cidr, "dnsServiceIP": config.dns_service_ip,
                    "dockerBridgeCidr": config.docker_bridge_cidr}
            else:
                del aks["aksNetworkingConfiguration"]
        if config.location:
            payload["properties"]["computeLocation"] = config.location
        else:
            del payload["properties"]["computeLocation"]
        return payload

    @staticmethod
    def attach_configuration(resource_group=None, cluster_name=None, resource_id=None, cluster_purpose=None,
                             load_balancer_type=None, load_balancer_subnet=None):
        return AksAttachConfiguration(resource_group, cluster_name, resource_id, cluster_purpose,
                                      load_balancer_type, load_balancer_subnet)

    def refresh_state(self):
        """Re-read the cluster from the local cloud."""
        cluster = AksCompute(self.workspace, self.name)
        for attribute in ("modified_on", "provisioning_state", "provisioning_errors", "cluster_resource_id",
                          "cluster_location", "agent_vm_size", "agent_count", "cluster_purpose", "cluster_fqdn",
                          "system_services", "ssl_configuration", "load_balancer_type", "load_balancer_subnet"):
            setattr(self, attribute, getattr(cluster, attribute))

    def delete(self):
        """Start deleting the cluster; does not wait (call wait_for_completion(is_delete_operation=True))."""
        self._delete_or_detach("delete")

    def detach(self):
        """Remove the cluster from the workspace; does not wait."""
        self._delete_or_detach("detach")

    def update(self, update_configuration):
        update_configuration.validate_configuration()
        payload = self._build_update_payload(update_configuration)
        # The PUT's operation, for wait_for_completion; the SDK also GETs a throwaway AksCompute to carry it.
        self._operation_endpoint = ComputeTarget._put_compute(self.workspace, self.name, payload)

    def _build_update_payload(self, config):
        payload = self._get(self.workspace, self.name)
        if payload is None:
            raise ComputeTargetException("ComputeTargetNotFound: Compute Target with name {} not found in "
                                         "provided workspace".format(self.name))
        aks = payload["properties"]["properties"]
        ssl = config.ssl_configuration
        if ssl and ssl.status == "Disabled":
            aks["sslConfiguration"] = {"status": "Disabled"}
        elif ssl and ssl.renew:
            if not aks.get("sslConfiguration") or not aks["sslConfiguration"].get("leafDomainLabel"):
                raise ComputeTargetException("Invalid configuration. When renew is set the cluster should have the "
                                             "leaf domain label set for SSL.")
            aks["sslConfiguration"]["renew"] = True
        elif ssl and ssl.cname:
            aks["sslConfiguration"] = {"status": "Enabled", "cname": ssl.cname, "cert": ssl.cert, "key": ssl.key}
        elif ssl and ssl.leaf_domain_label:
            aks["sslConfiguration"] = {"status": "Auto", "leafDomainLabel": ssl.leaf_domain_label,
                                       "overwriteExistingDomain": ssl.overwrite_existing_domain or False}
        else:
            aks.pop("sslConfiguration", None)
        for key, value in (("loadBalancerType", config.load_balancer_type),
                           ("loadBalancerSubnet", config.load_balancer_subnet)):
            if value:
                aks[key] = value
            else:
                aks.pop(key, None)
        return payload

    def get_credentials(self):
        """Kubeconfig-shaped credentials of the emulated cluster."""
        return self.workspace._client.json("POST", self._mlc_endpoint + "/listKeys", "compute")

    def serialize(self):
        system_services = [s.serialize() for s in self.system_services] if self.system_services else None
        ssl_configuration = self.ssl_configuration.serialize() if self.ssl_configuration else None
        aks_properties = {"agentVmSize": self.agent_vm_size, "agentCount": self.agent_count,
                          "clusterPurpose": self.cluster_purpose, "clusterFqdn": self.cluster_fqdn,
                          "systemServices": system_services, "sslConfiguration": ssl_configuration,
                          "loadBalancerType": self.load_balancer_type,
                          "loadBalancerSubnet": self.load_balancer_subnet}
        cluster_properties = {"computeType": self.type, "computeLocation": self.cluster_location,
                              "description": self.description, "resourceId": self.cluster_resource_id,
                              "isAttachedCompute": self.is_attached, "provisioningState": self.provisioning_state,
                              "provisioningErrors": self.provisioning_errors, "properties": aks_properties}
        return {"id": self.id, "name": self.name, "tags": self.tags, "location": self.location,
                "properties": cluster_properties}

    @staticmethod
    def deserialize(workspace, object_dict):
        AksCompute._validate_get_payload(object_dict)
        target = AksCompute(None, None)
        target._initialize(workspace, object_dict)
        return target

    @staticmethod
    def _validate_get_payload(payload):
        if "properties" not in payload or "computeType" not in payload["properties"]:
            raise ComputeTargetException("Invalid cluster payload:\n{}".format(payload))
        if payload["properties"]["computeType"] != AksCompute._compute_type:
            raise ComputeTargetException('Invalid cluster payload, not "{}":\n{}'.format(AksCompute._compute_type,
                                                                                         payload))
        for arm_key in ("location", "id", "tags"):
            if arm_key not in payload:
                raise ComputeTargetException('Invalid cluster payload, missing ["{}"]:\n{}'.format(arm_key, payload))
        for key in ("properties", "provisioningErrors", "description", "provisioningState", "resourceId"):
            if key not in payload["properties"]:
                raise ComputeTargetException('Invalid cluster payload, missing ["properties"]["{}"]:\n'
                                             "{}".format(key, payload))
        aks = payload["properties"]["properties"]
        if aks:
            for aks_key in ("agentVmSize", "agentCount", "clusterPurpose", "clusterFqdn", "systemServices"):
                if aks_key not in aks:
                    raise ComputeTargetException('Invalid cluster payload, missing ["properties"]["properties"]'
                                                 '["{}"]:\n{}'.format(aks_key, payload))


class AksProvisioningConfiguration(ComputeTargetProvisioningConfiguration):
    """What ``AksCompute.provisioning_configuration`` returns; validated on construction."""

    def __init__(self, agent_count, vm_size, ssl_cname, ssl_cert_pem_file, ssl_key_pem_file, location,
                 vnet_resourcegroup_name, vnet_name, subnet_name, service_cidr, dns_service_ip,
                 docker_bridge_cidr, cluster_purpose, load_balancer_type, load_balancer_subnet):
        super().__init__(AksCompute, location)
        self.agent_count = agent_count
        self.vm_size = vm_size
        self.ssl_cname = ssl_cname
        self.ssl_cert_pem_file = ssl_cert_pem_file
        self.ssl_key_pem_file = ssl_key_pem_file
        self.vnet_resourcegroup_name = vnet_resourcegroup_name
        self.vnet_name = vnet_name
        self.subnet_name = subnet_name
        self.leaf_domain_label = None
        self.overwrite_existing_domain = False
        self.service_cidr = service_cidr
        self.dns_service_ip = dns_service_ip
        self.docker_bridge_cidr = docker_bridge_cidr
        self.cluster_purpose = cluster_purpose
        self.load_balancer_type = load_balancer_type
        self.load_balancer_subnet = load_balancer_subnet
        self.validate_configuration()

    def validate_configuration(self):
        # `0` is falsy and slips through, exactly as in the SDK.
        if self.agent_count and self.agent_count <= 0:
            raise ComputeTargetException("Invalid configuration, agent count must be a positive integer.")
        _validate_ssl(self.ssl_cname, self.ssl_cert_pem_file, self.ssl_key_pem_file, self.leaf_domain_label,
                      self.overwrite_existing_domain)
        vnet = (self.vnet_name, self.vnet_resourcegroup_name, self.subnet_name, self.service_cidr,
                self.dns_service_ip, self.docker_bridge_cidr)
        if any(vnet) and not all(vnet):
            raise ComputeTargetException("Invalid configuration, not all virtual net information provided. To use a "
                                         "custom virtual net with aks, please provide vnet name, vnet resource group, "
                                         "subnet name, service cidr, dns service ip and docker bridge cidr")

    def enable_ssl(self, ssl_cname=None, ssl_cert_pem_file=None, ssl_key_pem_file=None, leaf_domain_label=None,
                   overwrite_existing_domain=False):
        if ssl_cname:
            self.ssl_cname = ssl_cname
        if ssl_cert_pem_file:
            self.ssl_cert_pem_file = ssl_cert_pem_file
        if ssl_key_pem_file:
            self.ssl_key_pem_file = ssl_key_pem_file
        if leaf_domain_label:
            self.leaf_domain_label = leaf_domain_label
        if overwrite_existing_domain:
            self.overwrite_existing_domain = overwrite_existing_domain
        self.validate_configuration()
        return self


class AksAttachConfiguration(ComputeTargetAttachConfiguration):
    """Accepted and validated as the SDK does; attaching itself is not emulated."""

    def __init__(self, resource_group=None, cluster_name=None, resource_id=None, cluster_purpose=None,
                 load_balancer_type=None, load_balancer_subnet=None):
        super().__init__(AksCompute)
        self.resource_group = resource_group
        self.cluster_name = cluster_name
        self.resource_id = resource_id
        self.cluster_purpose = cluster_purpose
        self.ssl_cname = None
        self.ssl_cert_pem_file = None
        self.ssl_key_pem_file = None
        self.leaf_domain_label = None
        self.overwrite_existing_domain = False
        self.load_balancer_type = load_balancer_type
        self.load_balancer_subnet = load_balancer_subnet
        self.validate_configuration()

    def validate_configuration(self):
        if self.resource_id:
            parts = self.resource_id.split("/")
            if len(parts) != 9:
                raise ComputeTargetException("Invalid resource_id provided: {}".format(self.resource_id))
            if parts[6] != "Microsoft.ContainerService":
                raise ComputeTargetException("Invalid resource_id provided, resource type {} does not match for "
                                             "AKS".format(parts[6]))
            if self.resource_group:
                raise ComputeTargetException("Since resource_id is provided, please do not provide resource_group.")
            if self.cluster_name:
                raise ComputeTargetException("Since resource_id is provided, please do not provide cluster_name.")
        elif self.resource_group or self.cluster_name:
            if not self.resource_group:
                raise ComputeTargetException("resource_group is not provided.")
            if not self.cluster_name:
                raise ComputeTargetException("cluster_name is not provided.")
        else:
            raise ComputeTargetException("Please provide resource_group and cluster_name for the AKS compute "
                                         "resource being attached. Or please provide resource_id for the resource "
                                         "being attached.")
        _validate_ssl(self.ssl_cname, self.ssl_cert_pem_file, self.ssl_key_pem_file, self.leaf_domain_label,
                      self.overwrite_existing_domain)
        subnet_error = ('Invalid configuration, load balancer subnet can be changed from default when load balancer '
                        'type is "InternalLoadBalancer".')
        if self.load_balancer_type:
            if self.load_balancer_type not in ("InternalLoadBalancer", "PublicIp"):
                raise ComputeTargetException('Invalid configuration. Load balancer type should be either "PublicIp" '
                                             'or "InternalLoadBalancer".')
            if self.load_balancer_type == "PublicIp" and self.load_balancer_subnet:
                raise ComputeTargetException(subnet_error)
        elif self.load_balancer_subnet:
            raise ComputeTargetException(subnet_error)

    def enable_ssl(self, ssl_cname=None, ssl_cert_pem_file=None, ssl_key_pem_file=None, leaf_domain_label=None,
                   overwrite_existing_domain=False):
        return AksProvisioningConfiguration.enable_ssl(self, ssl_cname, ssl_cert_pem_file, ssl_key_pem_file,
                                                       leaf_domain_label, overwrite_existing_domain)


class AksUpdateConfiguration(ComputeTargetUpdateConfiguration):
    def __init__(self, ssl_configuration=None, load_balancer_type=None, load_balancer_subnet=None):
        super().__init__(AksCompute)
        self.ssl_configuration = ssl_configuration
        self.load_balancer_type = load_balancer_type
        self.load_balancer_subnet = load_balancer_subnet
        self.validate_configuration()

    def validate_configuration(self):
        ssl = self.ssl_configuration
        if ssl:
            _validate_ssl(ssl.cname, ssl.cert, ssl.key, ssl.leaf_domain_label, ssl.overwrite_existing_domain)
        if self.load_balancer_subnet and self.load_balancer_type == "PublicIp":
            raise ComputeTargetException("Invalid configuration, load balancer subnet cannot be used with a Public IP.")


class SystemService:
    def __init__(self, service_type, version, public_ip_address):
        self.service_type = service_type
        self.version = version
        self.public_ip_address = public_ip_address

    def serialize(self):
        return {"serviceType": self.service_type, "version": self.version, "publicIpAddress": self.public_ip_address}

    @staticmethod
    def deserialize(object_dict):
        for key in ("systemServiceType", "version", "publicIpAddress"):
            if key not in object_dict:
                raise ComputeTargetException('Invalid system service payload, missing "{}":\n{}'.format(key,
                                                                                                        object_dict))
        return SystemService(object_dict["systemServiceType"], object_dict["version"], object_dict["publicIpAddress"])


class SslConfiguration:
    def __init__(self, status=None, cert=None, key=None, cname=None, leaf_domain_label=None,
                 overwrite_existing_domain=False, renew=False):
        self.status = status
        self.cert = cert
        self.key = key
        self.cname = cname
        self.leaf_domain_label = leaf_domain_label
        self.overwrite_existing_domain = overwrite_existing_domain
        self.renew = renew

    def serialize(self):
        return {"status": self.status, "cert": self.cert, "key": self.key, "cname": self.cname,
                "leafDomainLabel": self.leaf_domain_label, "overwriteExistingDomain": self.overwrite_existing_domain,
                "renew": self.renew}

    @staticmethod
    def deserialize(object_dict):
        return SslConfiguration(object_dict.get("status"), object_dict.get("cert"), object_dict.get("key"),
                                object_dict.get("cname"), object_dict.get("leafDomainLabel"),
                                object_dict.get("overwriteExistingDomain", False), object_dict.get("renew", False))
