"""Mirror of ``azureml.core.webservice.aci``: Azure Container Instances deployment configuration.

Unlike AKS, ACI validation raises on the FIRST invalid value. ACI has no GPU setting in SDK v1.
"""
from __future__ import annotations

import copy
import logging
import os
from typing import Any

from fake_azure.core.webservice.webservice import (
    ACI_WEBSERVICE_TYPE,
    Webservice,
    WebserviceDeploymentConfiguration,
    _environment_from_payload,
    _environment_patch,
    _models_from_payload,
    _score,
    _swagger_uri,
)
from fake_azure.exceptions import WebserviceException

module_logger = logging.getLogger(__name__)

# ``aci_specific_service_create_payload_template.json``
ACI_SERVICE_CREATE_PAYLOAD_TEMPLATE: dict[str, Any] = {
    "containerResourceRequirements": {"cpu": None, "memoryInGB": None},
    "authEnabled": None,
    "sslEnabled": None,
    "appInsightsEnabled": None,
    "dataCollection": {"storageEnabled": False, "eventHubEnabled": False},
    "sslCertificate": None,
    "sslKey": None,
    "cname": None,
    "dnsNameLabel": None,
    "overwrite": None,
}


class AciWebservice(Webservice):
    """A model deployed to Azure Container Instances (``computeType`` ``ACI``)."""

    _expected_payload_keys = Webservice._expected_payload_keys + \
        ["appInsightsEnabled", "authEnabled", "cname", "containerResourceRequirements",
         "location", "publicIp", "scoringUri", "sslCertificate", "sslEnabled", "sslKey"]
    _webservice_type = ACI_WEBSERVICE_TYPE

    def _initialize(self, workspace, obj_dict):
        AciWebservice._validate_get_payload(obj_dict)
        super(AciWebservice, self)._initialize(workspace, obj_dict)
        self.enable_app_insights = obj_dict.get("appInsightsEnabled")
        self.cname = obj_dict.get("cname")
        self.container_resource_requirements = \
            ContainerResourceRequirements.deserialize(obj_dict.get("containerResourceRequirements"))
        self.encryption_properties = EncryptionProperties.deserialize(obj_dict.get("encryptionProperties"))
        self.vnet_configuration = VnetConfiguration.deserialize(obj_dict.get("vnetConfiguration"))
        self.location = obj_dict.get("location")
        self.public_ip = obj_dict.get("publicIp")
        self.scoring_uri = obj_dict.get("scoringUri")
        self.ssl_certificate = obj_dict.get("sslCertificate")
        self.ssl_enabled = obj_dict.get("sslEnabled")
        self.ssl_key = obj_dict.get("sslKey")
        self.public_fqdn = obj_dict.get("publicFqdn")
        self.environment = _environment_from_payload(obj_dict)
        self.models = _models_from_payload(workspace, obj_dict.get("models"))
        self.swagger_uri = _swagger_uri(self.scoring_uri)
        self._model_config_map = obj_dict.get("modelConfigMap")

    def __repr__(self):
        return super().__repr__()

    def run(self, input_data):
        """POST ``input_data`` to the scoring URI (with the key when auth is on); returns the parsed JSON."""
        return _score(self, input_data)

    def update(self, image=None, tags=None, properties=None, description=None, auth_enabled=None, ssl_enabled=None,
               ssl_cert_pem_file=None, ssl_key_pem_file=None, ssl_cname=None, enable_app_insights=None, models=None,
               inference_config=None):
        """Update the service; values left None stay as they are."""
        if image is None and tags is None and properties is None and not description and auth_enabled is None \
                and ssl_enabled is None and not ssl_cert_pem_file and not ssl_key_pem_file and not ssl_cname \
                and enable_app_insights is None and models is None and inference_config is None:
            raise WebserviceException("No parameters provided to update.", logger=module_logger)
        self._validate_update(image, tags, properties, description, auth_enabled, ssl_enabled, ssl_cert_pem_file,
                              ssl_key_pem_file, ssl_cname, enable_app_insights, models, inference_config)
        cert_data = ""
        key_data = ""
        for path, target in ((ssl_cert_pem_file, "cert"), (ssl_key_pem_file, "key")):
            if path:
                try:
                    with open(path, "r") as handle:
                        data = handle.read()
                except (IOError, OSError) as exc:
                    raise WebserviceException("Error while reading ssl information:\n{}".format(exc),
                                              logger=module_logger) from exc
                if target == "cert":
                    cert_data = data
                else:
                    key_data = data
        patch_list = _environment_patch(self, models, inference_config)
        properties = properties or {}
        if tags is not None:
            patch_list.append({"op": "replace", "path": "/kvTags", "value": tags})
        for key in properties:
            patch_list.append({"op": "add", "path": "/properties/{}".format(key), "value": properties[key]})
        if description:
            patch_list.append({"op": "replace", "path": "/description", "value": description})
        if auth_enabled is not None:
            patch_list.append({"op": "replace", "path": "/authEnabled", "value": auth_enabled})
        if ssl_enabled is not None:
            patch_list.append({"op": "replace", "path": "/sslEnabled", "value": ssl_enabled})
        if ssl_cert_pem_file:
            patch_list.append({"op": "replace", "path": "/sslCertificate", "value": cert_data})
        if ssl_key_pem_file:
            patch_list.append({"op": "replace", "path": "/sslKey", "value": key_data})
        if ssl_cname:
            patch_list.append({"op": "replace", "path": "/cname", "value": ssl_cname})
        if enable_app_insights is not None:
            patch_list.append({"op": "replace", "path": "/appInsightsEnabled", "value": enable_app_insights})
        self._patch(patch_list)

    def _validate_update(self, image, tags, properties, description, auth_enabled, ssl_enabled, ssl_cert_pem_file,
                         ssl_key_pem_file, ssl_cname, enable_app_insights, models, inference_config):
        from fake_azure.core.model import Model

        error = ""
        if image and self.environment:
            error += "Error, unable to use Image object to update Webservice created with Environment object.\n"
        if inference_config and inference_config.environment and self.image:
            error += "Error, unable to use Environment object to update Webservice created with Image object.\n"
        if image and inference_config:
            error += "Error, unable to pass both an Image object and an InferenceConfig object to update.\n"
        if inference_config is None and models and \
                (len(models) != 1 or models[0].model_framework not in Model._SUPPORTED_FRAMEWORKS_FOR_NO_CODE_DEPLOY):
            error += 'Error, both "models" and "inference_config" inputs must be provided in order ' \
                     "to update the models.\n"
        if (ssl_cert_pem_file or ssl_key_pem_file) and not ssl_enabled and not self.ssl_enabled:
            error += "Error, SSL must be enabled in order to update SSL cert/key.\n"
        if ssl_cert_pem_file and not os.path.exists(ssl_cert_pem_file):
            error += "Error, unable to find ssl_cert_pem_file at provided path: {}\n".format(ssl_cert_pem_file)
        if ssl_key_pem_file and not os.path.exists(ssl_key_pem_file):
            error += "Error, unable to find ssl_key_pem_file at provided path: {}\n".format(ssl_key_pem_file)
        if error:
            raise WebserviceException(error, logger=module_logger)

    def serialize(self):
        """This service as the SDK's JSON-serializable dict."""
        properties = super(AciWebservice, self).serialize()
        container_resource_requirements = self.container_resource_requirements.serialize() \
            if self.container_resource_requirements else None
        encryption_properties = self.encryption_properties.serialize() if self.encryption_properties else None
        vnet_configuration = self.vnet_configuration.serialize() if self.vnet_configuration else None
        env_details = self.environment._serialize_to_dict() if self.environment else None
        model_details = [model.serialize() for model in self.models] if self.models else None
        aci_properties = {"containerResourceRequirements": container_resource_requirements, "imageId": self.image_id,
                          "scoringUri": self.scoring_uri, "location": self.location,
                          "authEnabled": self.auth_enabled, "sslEnabled": self.ssl_enabled,
                          "appInsightsEnabled": self.enable_app_insights, "sslCertificate": self.ssl_certificate,
                          "sslKey": self.ssl_key, "cname": self.cname, "publicIp": self.public_ip,
                          "publicFqdn": self.public_fqdn, "environmentDetails": env_details,
                          "modelDetails": model_details, "encryptionProperties": encryption_properties,
                          "vnetConfiguration": vnet_configuration}
        properties.update(aci_properties)
        return properties

    @staticmethod
    def deploy_configuration(cpu_cores: float | None = None, memory_gb: float | None = None,
                             tags: dict[str, str] | None = None, properties: dict[str, str] | None = None,
                             description: str | None = None, location: str | None = None,
                             auth_enabled: bool | None = None, ssl_enabled: bool | None = None,
                             enable_app_insights: bool | None = None, ssl_cert_pem_file: str | None = None,
                             ssl_key_pem_file: str | None = None, ssl_cname: str | None = None,
                             dns_name_label: str | None = None, primary_key: str | None = None,
                             secondary_key: str | None = None, collect_model_data: bool | None = None,
                             cmk_vault_base_url: str | None = None, cmk_key_name: str | None = None,
                             cmk_key_version: str | None = None, vnet_name: str | None = None,
                             subnet_name: str | None = None) -> "AciServiceDeploymentConfiguration":
        """Create (and validate) a configuration for deploying to ACI."""
        return AciServiceDeploymentConfiguration(cpu_cores=cpu_cores, memory_gb=memory_gb, tags=tags,
                                                 properties=properties, description=description,
                                                 location=location, auth_enabled=auth_enabled,
                                                 ssl_enabled=ssl_enabled, enable_app_insights=enable_app_insights,
                                                 ssl_cert_pem_file=ssl_cert_pem_file,
                                                 ssl_key_pem_file=ssl_key_pem_file,
                                                 ssl_cname=ssl_cname, dns_name_label=dns_name_label,
                                                 primary_key=primary_key, secondary_key=secondary_key,
                                                 collect_model_data=collect_model_data,
                                                 cmk_vault_base_url=cmk_vault_base_url,
                                                 cmk_key_name=cmk_key_name,
                                                 cmk_key_version=cmk_key_version,
                                                 vnet_name=vnet_name,
                                                 subnet_name=subnet_name)

    def get_token(self) -> Any:
        """Not supported: ACI services only have key auth."""
        raise NotImplementedError("ACI webservices do not support Token Authentication.")


class ContainerResourceRequirements:
    """CPU and memory of an ACI container."""

    _expected_payload_keys = ["cpu", "memoryInGB"]

    def __init__(self, cpu: float | None, memory_in_gb: float | None) -> None:
        self.cpu = cpu
        self.memory_in_gb = memory_in_gb

    def serialize(self) -> dict[str, Any]:
        """Return the MMS JSON form."""
        return {"cpu": self.cpu, "memoryInGB": self.memory_in_gb}

    @staticmethod
    def deserialize(payload_obj: dict[str, Any]) -> "ContainerResourceRequirements":
        """Build from the MMS JSON form; every key is required."""
        for payload_key in ContainerResourceRequirements._expected_payload_keys:
            if payload_key not in payload_obj:
                raise WebserviceException("Invalid webservice payload, missing {} for containerResourceReservation:\n"
                                          "{}".format(payload_key, payload_obj), logger=module_logger)
        return ContainerResourceRequirements(payload_obj["cpu"], payload_obj["memoryInGB"])


class EncryptionProperties:
    """Customer-managed key used to encrypt the ACI deployment."""

    _expected_payload_keys = ["vaultBaseUrl", "keyName", "keyVersion"]

    def __init__(self, cmk_vault_base_url: str | None, cmk_key_name: str | None,
                 cmk_key_version: str | None) -> None:
        self.cmk_vault_base_url = cmk_vault_base_url
        self.cmk_key_name = cmk_key_name
        self.cmk_key_version = cmk_key_version

    def serialize(self) -> dict[str, Any]:
        """Return the MMS JSON form."""
        return {"vaultBaseUrl": self.cmk_vault_base_url, "keyName": self.cmk_key_name,
                "keyVersion": self.cmk_key_version}

    @staticmethod
    def deserialize(payload_obj: dict[str, Any] | None) -> "EncryptionProperties | None":
        """Build from the MMS JSON form (None stays None)."""
        if payload_obj is None:
            return None
        for payload_key in EncryptionProperties._expected_payload_keys:
            if payload_key not in payload_obj:
                raise WebserviceException("Invalid webservice payload, missing {} for EncryptionProperties:\n"
                                          "{}".format(payload_key, payload_obj), logger=module_logger)
        return EncryptionProperties(payload_obj["vaultBaseUrl"], payload_obj["keyName"], payload_obj["keyVersion"])


class VnetConfiguration:
    """Virtual network and subnet of the ACI deployment."""

    _expected_payload_keys = ["vnetName", "subnetName"]

    def __init__(self, vnet_name: str | None, subnet_name: str | None) -> None:
        self.vnet_name = vnet_name
        self.subnet_name = subnet_name

    def serialize(self) -> dict[str, Any]:
        """Return the MMS JSON form."""
        return {"vnetName": self.vnet_name, "subnetName": self.subnet_name}

    @staticmethod
    def deserialize(payload_obj: dict[str, Any] | None) -> "VnetConfiguration | None":
        """Build from the MMS JSON form (None stays None)."""
        if payload_obj is None:
            return None
        for payload_key in VnetConfiguration._expected_payload_keys:
            if payload_key not in payload_obj:
                raise WebserviceException("Invalid webservice payload, missing {} for VnetConfiguration:\n"
                                          "{}".format(payload_key, payload_obj), logger=module_logger)
        return VnetConfiguration(payload_obj["vnetName"], payload_obj["subnetName"])


class AciServiceDeploymentConfiguration(WebserviceDeploymentConfiguration):
    """Deployment settings of an ACI service; create it with ``AciWebservice.deploy_configuration``."""

    _webservice_type = AciWebservice

    def __init__(self, cpu_cores: float | None = None, memory_gb: float | None = None,
                 tags: dict[str, str] | None = None, properties: dict[str, str] | None = None,
                 description: str | None = None, location: str | None = None, auth_enabled: bool | None = None,
                 ssl_enabled: bool | None = None, enable_app_insights: bool | None = None,
                 ssl_cert_pem_file: str | None = None, ssl_key_pem_file: str | None = None,
                 ssl_cname: str | None = None, dns_name_label: str | None = None, primary_key: str | None = None,
                 secondary_key: str | None = None, collect_model_data: bool | None = None,
                 cmk_vault_base_url: str | None = None, cmk_key_name: str | None = None,
                 cmk_key_version: str | None = None, vnet_name: str | None = None,
                 subnet_name: str | None = None) -> None:
        super().__init__(AciWebservice, description, tags, properties, primary_key, secondary_key, location)
        self.cpu_cores = cpu_cores
        self.memory_gb = memory_gb
        self.auth_enabled = auth_enabled
        self.ssl_enabled = ssl_enabled
        self.enable_app_insights = enable_app_insights
        self.ssl_cert_pem_file = ssl_cert_pem_file
        self.ssl_key_pem_file = ssl_key_pem_file
        self.ssl_cname = ssl_cname
        self.dns_name_label = dns_name_label
        self.collect_model_data = collect_model_data
        self.cmk_vault_base_url = cmk_vault_base_url
        self.cmk_key_name = cmk_key_name
        self.cmk_key_version = cmk_key_version
        self.vnet_name = vnet_name
        self.subnet_name = subnet_name
        self.validate_configuration()

    def validate_configuration(self) -> None:
        """Raise ``WebserviceException`` for the first invalid value."""
        if self.cpu_cores is not None and self.cpu_cores <= 0:
            raise WebserviceException("Invalid configuration, cpu_cores must be positive.", logger=module_logger)
        if self.memory_gb is not None and self.memory_gb <= 0:
            raise WebserviceException("Invalid configuration, memory_gb must be positive.", logger=module_logger)
        if self.ssl_enabled:
            if not self.ssl_cert_pem_file or not self.ssl_key_pem_file or not self.ssl_cname:
                raise WebserviceException("SSL is enabled, you must provide a SSL certificate, key, and cname.",
                                          logger=module_logger)
            if not os.path.exists(self.ssl_cert_pem_file):
                raise WebserviceException("Error, unable to find SSL cert pem file provided paths:\n"
                                          "{}".format(self.ssl_cert_pem_file))
            if not os.path.exists(self.ssl_key_pem_file):
                raise WebserviceException("Error, unable to find SSL key pem file provided paths:\n"
                                          "{}".format(self.ssl_key_pem_file))
        if not ((self.cmk_vault_base_url and self.cmk_key_name and self.cmk_key_version)
                or (not self.cmk_vault_base_url and not self.cmk_key_name and not self.cmk_key_version)):
            # The SDK's literal contains the indentation of a line continuation; kept verbatim.
            raise WebserviceException("customer managed key vault_base_url, key_name and key_version must all "
                                      "have values or " + " " * 38 + "all are empty/null",
                                      logger=module_logger)
        if (self.vnet_name and not self.subnet_name) or (not self.vnet_name and self.subnet_name):
            raise WebserviceException("vnet_name and subnet_name must all have values or both are empty/null",
                                      logger=module_logger)

    def print_deploy_configuration(self) -> None:
        """Print e.g. ``CPU requirement: 1, Memory requirement: 2GB``."""
        deploy_config = []
        if self.cpu_cores:
            deploy_config.append("CPU requirement: {}".format(self.cpu_cores))
        if self.memory_gb:
            deploy_config.append("Memory requirement: {}GB".format(self.memory_gb))
        if len(deploy_config) > 0:
            print(", ".join(deploy_config))

    def _build_create_payload(self, name: str, environment_image_request: Any,
                              overwrite: bool = False) -> dict[str, Any]:
        """The MMS service-create request body (SSL cert/key files are read into it)."""
        json_payload = copy.deepcopy(ACI_SERVICE_CREATE_PAYLOAD_TEMPLATE)
        base_payload = self._build_base_create_payload(name, environment_image_request)

        json_payload["containerResourceRequirements"]["cpu"] = self.cpu_cores
        json_payload["containerResourceRequirements"]["memoryInGB"] = self.memory_gb
        if self.auth_enabled is not None:
            json_payload["authEnabled"] = self.auth_enabled
        else:
            del json_payload["authEnabled"]
        if self.enable_app_insights is not None:
            json_payload["appInsightsEnabled"] = self.enable_app_insights
        else:
            del json_payload["appInsightsEnabled"]
        if self.collect_model_data:
            json_payload["dataCollection"]["storageEnabled"] = self.collect_model_data
        else:
            del json_payload["dataCollection"]
        if self.ssl_enabled is not None:
            json_payload["sslEnabled"] = self.ssl_enabled
            if self.ssl_enabled:
                # The arg-type ignores: as in the SDK, a path left None fails in open() and is reported like
                # any other read error.
                try:
                    with open(self.ssl_cert_pem_file, "r") as cert_file:  # type: ignore[arg-type]
                        json_payload["sslCertificate"] = cert_file.read()
                except Exception as e:
                    raise WebserviceException("Error occurred attempting to read SSL cert pem "
                                              "file:\n{}".format(e)) from e
                try:
                    with open(self.ssl_key_pem_file, "r") as key_file:  # type: ignore[arg-type]
                        json_payload["sslKey"] = key_file.read()
                except Exception as e:
                    raise WebserviceException("Error occurred attempting to read SSL key pem "
                                              "file:\n{}".format(e)) from e
        else:
            del json_payload["sslEnabled"]
            del json_payload["sslCertificate"]
            del json_payload["sslKey"]
        json_payload["cname"] = self.ssl_cname
        json_payload["dnsNameLabel"] = self.dns_name_label

        # Validation guarantees the three CMK values are all set or all empty.
        if self.cmk_vault_base_url:
            json_payload["encryptionProperties"] = {"vaultBaseUrl": self.cmk_vault_base_url,
                                                    "keyName": self.cmk_key_name,
                                                    "keyVersion": self.cmk_key_version}
        if self.vnet_name:
            json_payload["vnetConfiguration"] = {"vnetName": self.vnet_name, "subnetName": self.subnet_name}
        if overwrite:
            json_payload["overwrite"] = overwrite
        else:
            del json_payload["overwrite"]
        json_payload.update(base_payload)
        return json_payload
