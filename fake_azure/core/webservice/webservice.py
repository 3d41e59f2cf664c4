"""Mirror of ``azureml.core.webservice.webservice``: the Webservice base and shared config helpers.

This module holds the client-side pieces: the service-name rule, the payload helper classes
(``ContainerResourceRequirements``, ``LivenessProbeRequirements``, ``AutoScaler``,
``DataCollection``, ``WebServiceAccessToken``) and the abstract ``WebserviceDeploymentConfiguration``.
Their ``serialize``/``deserialize`` forms are the Model Management Service (MMS) JSON shapes.
"""
from __future__ import annotations

import copy
import logging
import re
from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from fake_azure.exceptions import WebserviceException

module_logger = logging.getLogger(__name__)

ACI_WEBSERVICE_TYPE = "ACI"
AKS_WEBSERVICE_TYPE = "AKS"
AKS_ENDPOINT_TYPE = "AKSENDPOINT"
LOCAL_WEBSERVICE_TYPE = "Local"
UNKNOWN_WEBSERVICE_TYPE = "Unknown"
IOT_WEBSERVICE_TYPE = "IOT"
MIR_WEBSERVICE_TYPE = "MIR"
ALL_WEBSERVICE_TYPES = [ACI_WEBSERVICE_TYPE, AKS_ENDPOINT_TYPE, AKS_WEBSERVICE_TYPE, IOT_WEBSERVICE_TYPE,
                        MIR_WEBSERVICE_TYPE]
CLOUD_DEPLOYABLE_IMAGE_FLAVORS = ["WebApiContainer", "AccelContainer"]

_SERVICE_NAME_REGEX = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"

# MMS request body every service-create payload starts from (``base_service_create_payload_template.json``).
BASE_SERVICE_CREATE_PAYLOAD_TEMPLATE: dict[str, Any] = {
    "name": None,
    "description": None,
    "kvTags": None,
    "properties": None,
    "keys": {"primaryKey": None, "secondaryKey": None},
    "computeType": None,
    "environmentImageRequest": None,
    "location": None,
}


def webservice_name_validation(name: str) -> None:
    """Raise ``WebserviceException`` unless ``name`` is a valid service name (3-32 chars, DNS label-like)."""
    if not re.fullmatch(_SERVICE_NAME_REGEX, name) or len(name) < 3 or len(name) > 32:
        raise WebserviceException("Error, provided service name is invalid. It must only consist of lowercase "
                                  "letters, numbers, or dashes, start with a letter, end with a letter or number, "
                                  "and be between 3 and 32 characters long.")


class Webservice(ABC):
    """Base class of deployed services (AKS, ACI, Local, ...).

    Only the class-level contract lives here for now: ``_webservice_type`` (the MMS ``computeType``
    a subclass represents), the payload keys a service GET must contain, and the service-name rule.
    Construction from a workspace, deployment and the lifecycle methods land with the deploy issue.
    """

    _expected_payload_keys = ["computeType", "createdTime", "description", "kvTags", "name", "properties"]
    _webservice_type: str | None = None

    @staticmethod
    def _check_name(name: str) -> None:
        """Validate a service name exactly as ``Model.deploy`` does before any request."""
        webservice_name_validation(name)

    @staticmethod
    def _all_subclasses(cls: type) -> set[type]:
        return set(cls.__subclasses__()).union(
            [s for c in cls.__subclasses__() for s in Webservice._all_subclasses(c)])


class ContainerResourceRequirements:
    """CPU/memory requests and limits and GPU count of a service's container."""

    _expected_payload_keys = ["cpu", "cpuLimit", "memoryInGB", "memoryInGBLimit", "gpu"]

    def __init__(self, cpu: float | None, memory_in_gb: float | None, gpu: int | None = None,
                 cpu_limit: float | None = None, memory_in_gb_limit: float | None = None) -> None:
        self.cpu = cpu
        self.cpu_limit = cpu_limit
        self.memory_in_gb = memory_in_gb
        self.memory_in_gb_limit = memory_in_gb_limit
        self.gpu = gpu

    def serialize(self) -> dict[str, Any]:
        """Return the MMS JSON form."""
        return {"cpu": self.cpu, "cpuLimit": self.cpu_limit,
                "memoryInGB": self.memory_in_gb, "memoryInGBLimit": self.memory_in_gb_limit,
                "gpu": self.gpu}

    @staticmethod
    def deserialize(payload_obj: dict[str, Any]) -> "ContainerResourceRequirements":
        """Build from the MMS JSON form; every key is required."""
        for payload_key in ContainerResourceRequirements._expected_payload_keys:
            if payload_key not in payload_obj:
                raise WebserviceException("Invalid webservice payload, missing {} for ContainerResourceRequirements:\n"
                                          "{}".format(payload_key, payload_obj), logger=module_logger)
        return ContainerResourceRequirements(cpu=payload_obj["cpu"], memory_in_gb=payload_obj["memoryInGB"],
                                             gpu=payload_obj["gpu"], cpu_limit=payload_obj["cpuLimit"],
                                             memory_in_gb_limit=payload_obj["memoryInGBLimit"])


class LivenessProbeRequirements:
    """Kubernetes liveness probe timings of a service."""

    _expected_payload_keys = ["periodSeconds", "initialDelaySeconds", "timeoutSeconds",
                              "failureThreshold", "successThreshold"]

    def __init__(self, period_seconds: int | None, initial_delay_seconds: int | None, timeout_seconds: int | None,
                 success_threshold: int | None, failure_threshold: int | None) -> None:
        self.period_seconds = period_seconds
        self.timeout_seconds = timeout_seconds
        self.initial_delay_seconds = initial_delay_seconds
        self.failure_threshold = failure_threshold
        self.success_threshold = success_threshold

    def serialize(self) -> dict[str, Any]:
        """Return the MMS JSON form."""
        return {"periodSeconds": self.period_seconds, "initialDelaySeconds": self.initial_delay_seconds,
                "timeoutSeconds": self.timeout_seconds, "successThreshold": self.success_threshold,
                "failureThreshold": self.failure_threshold}

    @staticmethod
    def deserialize(payload_obj: dict[str, Any] | None) -> "LivenessProbeRequirements":
        """Build from the MMS JSON form; None gives the service defaults (10, 310, 1, 1, 3)."""
        if payload_obj is None:
            return LivenessProbeRequirements(period_seconds=10, initial_delay_seconds=310, timeout_seconds=1,
                                             success_threshold=1, failure_threshold=3)
        for payload_key in LivenessProbeRequirements._expected_payload_keys:
            if payload_key not in payload_obj:
                raise WebserviceException("Invalid webservice payload, missing {} for LivenessProbeRequirements:\n"
                                          "{}".format(payload_key, payload_obj), logger=module_logger)
        return LivenessProbeRequirements(payload_obj["periodSeconds"], payload_obj["initialDelaySeconds"],
                                         payload_obj["timeoutSeconds"], payload_obj["successThreshold"],
                                         payload_obj["failureThreshold"])


class AutoScaler:
    """Autoscaling settings of a Kubernetes service."""

    _expected_payload_keys = ["autoscaleEnabled", "maxReplicas", "minReplicas", "refreshPeriodInSeconds",
                              "targetUtilization"]

    def __init__(self, autoscale_enabled: bool | None, max_replicas: int | None, min_replicas: int | None,
                 refresh_period_seconds: int | None, target_utilization: int | None) -> None:
        self.autoscale_enabled = autoscale_enabled
        self.max_replicas = max_replicas
        self.min_replicas = min_replicas
        self.refresh_period_seconds = refresh_period_seconds
        self.target_utilization = target_utilization

    def serialize(self) -> dict[str, Any]:
        """Return the MMS JSON form."""
        return {"autoscaleEnabled": self.autoscale_enabled, "minReplicas": self.min_replicas,
                "maxReplicas": self.max_replicas, "refreshPeriodInSeconds": self.refresh_period_seconds,
                "targetUtilization": self.target_utilization}

    @staticmethod
    def deserialize(payload_obj: dict[str, Any]) -> "AutoScaler":
        """Build from the MMS JSON form; every key is required."""
        for payload_key in AutoScaler._expected_payload_keys:
            if payload_key not in payload_obj:
                raise WebserviceException("Invalid webservice payload, missing {} for autoScaler:\n"
                                          "{}".format(payload_key, payload_obj), logger=module_logger)
        return AutoScaler(payload_obj["autoscaleEnabled"], payload_obj["maxReplicas"], payload_obj["minReplicas"],
                          payload_obj["refreshPeriodInSeconds"], payload_obj["targetUtilization"])


class DataCollection:
    """Model data collection settings of a service."""

    _expected_payload_keys = ["eventHubEnabled", "storageEnabled"]

    def __init__(self, event_hub_enabled: bool | None, storage_enabled: bool | None) -> None:
        self.event_hub_enabled = event_hub_enabled
        self.storage_enabled = storage_enabled

    def serialize(self) -> dict[str, Any]:
        """Return the MMS JSON form."""
        return {"eventHubEnabled": self.event_hub_enabled, "storageEnabled": self.storage_enabled}

    @staticmethod
    def deserialize(payload_obj: dict[str, Any]) -> "DataCollection":
        """Build from the MMS JSON form; every key is required."""
        for payload_key in DataCollection._expected_payload_keys:
            if payload_key not in payload_obj:
                raise WebserviceException("Invalid webservice payload, missing {} for DataCollection:\n"
                                          "{}".format(payload_key, payload_obj), logger=module_logger)
        return DataCollection(payload_obj["eventHubEnabled"], payload_obj["storageEnabled"])


class WebserviceDeploymentConfiguration(ABC):
    """Base of the per-target deployment configurations returned by ``deploy_configuration()``."""

    def __init__(self, type: Any, description: str | None = None, tags: dict[str, str] | None = None,
                 properties: dict[str, str] | None = None, primary_key: str | None = None,
                 secondary_key: str | None = None, location: str | None = None) -> None:
        self._webservice_type = type
        self.description = description
        self.tags = tags
        self.properties = properties
        self.primary_key = primary_key
        self.secondary_key = secondary_key
        self.location = location

    @abstractmethod
    def validate_configuration(self) -> None:
        """Raise ``WebserviceException`` if the configuration is invalid."""

    @abstractmethod
    def print_deploy_configuration(self) -> None:
        """Print the resource summary shown by ``Model.deploy(show_output=True)``."""

    @classmethod
    def validate_image(cls, image: Any) -> None:
        """Check that a (legacy) Image can be deployed."""
        if image is None:
            raise WebserviceException("Image is None", logger=module_logger)
        if image.creation_state != "Succeeded":
            raise WebserviceException('Unable to create service with image {} in non "Succeeded" '
                                      "creation state.".format(image.id), logger=module_logger)
        if image.image_flavor not in CLOUD_DEPLOYABLE_IMAGE_FLAVORS:
            raise WebserviceException("Deployment of {} images is not supported".format(image.image_flavor),
                                      logger=module_logger)

    def _build_base_create_payload(self, name: str, environment_image_request: Any) -> dict[str, Any]:
        """The fields common to every service-create request."""
        json_payload = copy.deepcopy(BASE_SERVICE_CREATE_PAYLOAD_TEMPLATE)
        json_payload["name"] = name
        json_payload["description"] = self.description
        json_payload["kvTags"] = self.tags
        # The SDK also merges git tracking properties of the client's working copy here; we send none.
        json_payload["properties"] = self.properties or {}
        if self.primary_key:
            json_payload["keys"]["primaryKey"] = self.primary_key
            json_payload["keys"]["secondaryKey"] = self.secondary_key
        json_payload["computeType"] = self._webservice_type._webservice_type
        json_payload["environmentImageRequest"] = environment_image_request
        json_payload["location"] = self.location
        return json_payload


class WebServiceAccessToken:
    """An access token for token-authenticated services (timestamps are epoch seconds on the wire)."""

    _expected_payload_keys = ["accessToken", "refreshAfter", "expiryOn", "tokenType"]

    def __init__(self, access_token: str, token_type: str, refresh_after: float, expiry_on: float) -> None:
        self.access_token = access_token
        self.refresh_after = datetime.fromtimestamp(refresh_after)
        self.expiry_on = datetime.fromtimestamp(expiry_on)
        self.token_type = token_type

    def serialize(self) -> dict[str, Any]:
        """Return a dict form (datetimes, as the SDK does)."""
        return {
            "accessToken": self.access_token,
            "tokenType": self.token_type,
            "refreshAfter": self.refresh_after,
            "expiryOn": self.expiry_on,
        }

    @staticmethod
    def deserialize(payload_obj: dict[str, Any]) -> "WebServiceAccessToken":
        """Build from the MMS JSON form; every key is required."""
        for payload_key in WebServiceAccessToken._expected_payload_keys:
            if payload_key not in payload_obj:
                raise WebserviceException("Invalid webservice payload, missing {} for WebServiceAccessToken:\n"
                                          "{}".format(payload_key, payload_obj), logger=module_logger)
        return WebServiceAccessToken(payload_obj["accessToken"], payload_obj["tokenType"], payload_obj["refreshAfter"],
                                     payload_obj["expiryOn"])
