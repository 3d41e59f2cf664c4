"""Mirror of ``azureml.core.webservice.webservice``: the Webservice base and shared config helpers.

This module holds the ``Webservice`` base (lookup, polling, keys, logs, delete, list; the daemon's
services API of docs/rest-services.md stands in for MMS), the service-name rule, the payload helper
classes (``ContainerResourceRequirements``, ``LivenessProbeRequirements``, ``AutoScaler``,
``DataCollection``, ``WebServiceAccessToken``) and the abstract ``WebserviceDeploymentConfiguration``.
Their ``serialize``/``deserialize`` forms are the Model Management Service (MMS) JSON shapes.
"""
from __future__ import annotations

import copy
import json
import logging
import re
import sys
import time
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from fake_azure.exceptions import WebserviceException

from .._queries import filter_query as _filter_query

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
WEBSERVICE_SWAGGER_PATH = "/swagger.json"

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
    """Base class of deployed services (AKS, ACI, Local, ...), ported from azureml-core 1.61.

    ``Webservice(workspace, name)`` fetches the service from the local cloud and returns the subclass
    for its ``computeType``. The lifecycle methods talk to the daemon's services API
    (``docs/rest-services.md``) through ``workspace._client``; scoring calls go to ``scoring_uri``
    with ``requests``, like the SDK. Operation polling sleeps ``workspace._settings.poll_interval``
    seconds instead of the SDK's 5.
    """

    _expected_payload_keys = ["computeType", "createdTime", "description", "kvTags", "name", "properties"]
    _webservice_type: str | None = None

    # The SDK's parameters are required; the defaults let tests build a bare object (``AksWebservice()``).
    def __new__(cls, workspace=None, name=None):
        if workspace and name:
            service_payload = cls._get(workspace, name)
            if service_payload and service_payload.get("computeType") == LOCAL_WEBSERVICE_TYPE:
                # Local services are containers on the user's machine, not cloud services (use LocalWebservice).
                service_payload = None
            if service_payload:
                child_class = _child_class_for(service_payload["computeType"])
                if child_class:
                    service = super(Webservice, cls).__new__(child_class)
                    service._initialize(workspace, service_payload)
                    return service
            else:
                raise WebserviceException("WebserviceNotFound: Webservice with name {} not found in provided "
                                          "workspace".format(name))
        else:
            return super(Webservice, cls).__new__(cls)

    @staticmethod
    def _all_subclasses(cls: type[Webservice]) -> set[type[Webservice]]:
        return set(cls.__subclasses__()).union(
            [s for c in cls.__subclasses__() for s in Webservice._all_subclasses(c)])

    def __init__(self, workspace=None, name=None):
        pass

    @staticmethod
    def _check_name(name: str) -> None:
        """Validate a service name exactly as ``Model.deploy`` does before any request."""
        webservice_name_validation(name)

    def __repr__(self):
        return "{}(workspace={}, name={}, image_id={}, image_digest={}, compute_type={}, state={}, scoring_uri={}, " \
            "tags={}, properties={}, created_by={})".format(
                self.__class__.__name__,
                self.workspace.__repr__() if hasattr(self, "workspace") else None,
                self.name if hasattr(self, "name") else None,
                self.image_id if hasattr(self, "image_id") else None,
                self.image_digest if hasattr(self, "image_digest") else None,
                self.compute_type if hasattr(self, "compute_type") else None,
                self.state if hasattr(self, "state") else None,
                self.scoring_uri if hasattr(self, "scoring_uri") else None,
                self.tags if hasattr(self, "tags") else None,
                self.properties if hasattr(self, "properties") else None,
                self.created_by if hasattr(self, "created_by") else None)

    @property
    def _webservice_session(self):
        import requests

        self._session = requests.Session()
        # Scoring goes to the local gateway on loopback: never through a proxy from the environment.
        self._session.trust_env = False
        if str(getattr(self, "scoring_uri", None) or "").startswith("https://"):
            from ...trust import requests_verify

            # trust_env is off, so REQUESTS_CA_BUNDLE is not read: the home's CA signs an SSL cluster's certificate.
            self._session.verify = requests_verify()
        self._session.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
        if self.auth_enabled:
            service_keys = self.get_keys()
            self._session.headers.update({"Authorization": "Bearer " + service_keys[0]})
        if self.token_auth_enabled:
            service_token, self._refresh_token_time = self.get_token()
            self._session.headers.update({"Authorization": "Bearer " + service_token})
        if self._refresh_token_time and self._refresh_token_time < datetime.utcnow():
            try:
                service_token, self._refresh_token_time = self.get_token()
                self._session.headers.update({"Authorization": "Bearer " + service_token})
            except WebserviceException:
                pass
        return self._session

    def _initialize(self, workspace, obj_dict):
        self.auth_enabled = obj_dict.get("authEnabled")
        self.compute_type = obj_dict.get("computeType")
        self.created_time = _parse_time(obj_dict.get("createdTime"))
        self.description = obj_dict.get("description")
        self.image_id = obj_dict.get("imageId")
        self.image_digest = obj_dict.get("imageDigest")
        self.tags = obj_dict.get("kvTags")
        self.name = obj_dict.get("name")
        self.properties = obj_dict.get("properties")
        self.created_by = obj_dict.get("createdBy")
        self.error = obj_dict.get("error")
        # Images (the retired deploy route) do not exist in the local cloud.
        self.image = None
        self.state = obj_dict.get("state")
        self.updated_time = _parse_time(obj_dict["updatedTime"]) if "updatedTime" in obj_dict else None
        self._auth = getattr(workspace, "_auth", None)
        self._operation_endpoint = None
        self._mms_endpoint = (workspace._client.base_url + _service_path(workspace, self.name)
                              if hasattr(workspace, "_client") else None)
        self.workspace = workspace
        self._session = None
        self.token_auth_enabled = False
        self._refresh_token_time = None

    @staticmethod
    def _get(workspace, name=None):
        if not name:
            raise WebserviceException("Name must be provided", logger=module_logger)
        response = workspace._client.request("GET", _service_path(workspace, name), "webservice", ok=(200, 404),
                                             params={"expand": "true"})
        if response.status_code == 404:
            return None
        return response.json()

    @staticmethod
    def _deploy(workspace, name, image, deployment_config, deployment_target, overwrite=False):
        raise WebserviceException("Image-based deployment is not supported by the local cloud; use "
                                  "Model.deploy with an InferenceConfig.", logger=module_logger)

    @staticmethod
    def _deploy_webservice(workspace, name, webservice_payload, overwrite, webservice_class, show_output=False):
        """POST the create payload; returns ``webservice_class(workspace, name)`` with the operation to poll."""
        client = workspace._client
        # The SDK's /services/validate/name check and the create are one call here: a taken name is a 409
        # whose message the SDK raises as is.
        params = {"overwrite": "true" if overwrite else "false"}
        response = client.request("POST", _services_path(workspace), "webservice.create", ok=(200, 201, 202),
                                  params=params, json=webservice_payload)
        if "Operation-Location" in response.headers:
            operation_location = response.headers["Operation-Location"]
        else:
            raise WebserviceException("Missing response header key: Operation-Location", response.status_code,
                                      logger=module_logger)
        service = webservice_class(workspace, name=name)
        service._operation_endpoint = _operation_path(workspace, operation_location)
        if show_output:
            print("Request submitted, please run wait_for_deployment(show_output=True) to get deployment status.")
        return service

    def wait_for_deployment(self, show_output=False, timeout_sec=None):
        """Poll the deployment operation until it ends; raises ``WebserviceException`` unless it succeeded."""
        if show_output:
            print("Tips: You can try get_logs(): https://aka.ms/debugimage#dockerlog "
                  "or local deployment: https://aka.ms/debugimage#debug-locally to debug "
                  "if deployment takes longer than 10 minutes.")
        if timeout_sec:
            timeout_sec = float(timeout_sec)
        try:
            operation_state, error, operation = self._wait_for_operation_to_complete(show_output, timeout_sec)
            self.update_deployment_state()
            if operation_state != "Succeeded":
                raise WebserviceException(_deployment_failure_message(
                    self.state, self._operation_endpoint.split("/")[-1], error, self.error, operation),
                    logger=module_logger)
            print('{} service creation operation finished, operation "{}"'.format(self._webservice_type,
                                                                                  operation_state))
        except WebserviceException as e:
            if e.message == "No operation endpoint":
                self.update_deployment_state()
                raise WebserviceException("Long running operation information not known, unable to poll. "
                                          "Current state is {}".format(self.state), logger=module_logger) from None
            else:
                raise

    def _wait_for_operation_to_complete(self, show_output, timeout_sec):
        if not self._operation_endpoint:
            raise WebserviceException("No operation endpoint", logger=module_logger)
        state, error, operation = self._get_operation_state()
        current_state = state
        start_time, elapsed_time = time.time(), 0.0
        if show_output:
            sys.stdout.write("{}".format(current_state))
            sys.stdout.flush()
        streaming_log_offset = 0
        while state != "Succeeded" and state != "Failed" and state != "Cancelled" and state != "TimedOut":
            if timeout_sec and elapsed_time >= timeout_sec:
                raise WebserviceException(_timeout_message(timeout_sec, current_state), logger=module_logger)
            time.sleep(self.workspace._settings.poll_interval)
            elapsed_time = time.time() - start_time
            # The daemon holds each poll up to a second, so progress prints about one dot a second
            # (the SDK sleeps 5 s between polls).
            wait = 1.0 if not timeout_sec else max(0.0, min(1.0, timeout_sec - elapsed_time))
            state, error, operation = self._poll_operation(show_output, streaming_log_offset, wait)
            if show_output:
                if "streamingOperationLog" not in operation:
                    sys.stdout.write(".")
                else:
                    streaming_log = operation["streamingOperationLog"]
                    if streaming_log:
                        streaming_log_offset += len(streaming_log)
                        for log in streaming_log.split("#"):
                            time_and_log = log.split("|")
                            if len(time_and_log) != 2:
                                sys.stdout.write(".")
                            else:
                                utc_time = datetime.strptime(time_and_log[0], "%Y%m%d%H%M%S").replace(
                                    tzinfo=timezone.utc)
                                sys.stdout.write("\n" + str(utc_time.astimezone()) + " " + time_and_log[1])
                if state != current_state:
                    sys.stdout.write("\n{}\n".format(state))
                    current_state = state
                sys.stdout.flush()
        return state, error, operation

    @staticmethod
    def _format_error_response(error_response):
        try:
            format_error_response = error_response.encode("utf-8").decode("unicode_escape")
            format_error_response = format_error_response.encode("utf-8").decode("unicode_escape")
            return format_error_response
        except (UnicodeDecodeError, UnicodeEncodeError, AttributeError):
            return error_response

    def _get_operation_state(self, show_output=False, offset=0):
        return self._poll_operation(show_output, offset)

    def _poll_operation(self, show_output=False, offset=0, wait_seconds=0.0):
        params = {"offset": offset} if show_output else {}
        if wait_seconds:
            params["waitSeconds"] = wait_seconds
        content = self.workspace._client.json("GET", self._operation_endpoint, "webservice.operation", params=params)
        return content["state"], content.get("error"), content

    def update_deployment_state(self):
        """Refresh this object from the service's current state in the cloud."""
        service = Webservice(self.workspace, name=self.name)
        for key in self.__dict__.keys():
            if key != "_operation_endpoint":
                self.__dict__[key] = service.__dict__[key]

    @staticmethod
    def list(workspace, compute_type=None, image_name=None, image_id=None, model_name=None, model_id=None, tags=None,
             properties=None, image_digest=None):
        """The workspace's services, optionally filtered."""
        params = _list_params(compute_type, image_name, image_id, model_name, model_id, tags, properties,
                              image_digest)
        services_payload = workspace._client.json("GET", _services_path(workspace), "webservice", params=params)
        if "value" not in services_payload:
            raise WebserviceException('Error, invalid paginated response payload, missing "value":\n'
                                      "{}".format(services_payload), logger=module_logger)
        webservices = []
        for service_dict in services_payload["value"]:
            if service_dict.get("computeType") == LOCAL_WEBSERVICE_TYPE:
                continue  # not a cloud service: LocalWebservice.list finds these
            child_class = _child_class_for(service_dict["computeType"])
            if child_class:
                webservices.append(child_class.deserialize(workspace, service_dict))
        return webservices

    _properties_added_message = "Webservice add properties operation complete."

    def add_tags(self, tags):
        """Add key value pairs to this service's tags."""
        updated_tags = self._add_tags(tags)
        self.tags = updated_tags
        self.update(tags=updated_tags)
        print("Webservice tag add operation complete.")

    def remove_tags(self, tags):
        """Remove the given keys from this service's tags."""
        updated_tags = self._remove_tags(tags)
        self.tags = updated_tags
        self.update(tags=updated_tags)
        print("Webservice tag remove operation complete.")

    def add_properties(self, properties):
        """Add key value pairs to this service's properties."""
        updated_properties = self._add_properties(properties)
        self.properties = updated_properties
        self.update(properties=updated_properties)
        print(self._properties_added_message)

    def _add_tags(self, tags):
        updated_tags = self.tags
        if updated_tags is None:
            return copy.deepcopy(tags)
        for key in tags:
            if key in updated_tags:
                print("Replacing tag {} -> {} with {} -> {}".format(key, updated_tags[key], key, tags[key]))
            updated_tags[key] = tags[key]
        return updated_tags

    def _remove_tags(self, tags):
        updated_tags = self.tags
        if updated_tags is None:
            print("Model has no tags to remove.")
            return updated_tags
        if type(tags) is not list:
            tags = [tags]
        for key in tags:
            if key in updated_tags:
                del updated_tags[key]
            else:
                print("Tag with key {} not found.".format(key))
        return updated_tags

    def _add_properties(self, properties):
        updated_properties = self.properties
        if updated_properties is None:
            return copy.deepcopy(properties)
        for key in properties:
            if key in updated_properties:
                print("Replacing tag {} -> {} with {} -> {}".format(key, updated_properties[key],
                                                                    key, properties[key]))
            updated_properties[key] = properties[key]
        return updated_properties

    def get_logs(self, num_lines=5000, init=False):
        """The service's container logs (``init=True``: the init containers')."""
        params = {"tail": num_lines, "init": "true" if init else "false"}
        service_payload = self.workspace._client.json("GET", _service_path(self.workspace, self.name) + "/logs",
                                                      "webservice", params=params)
        if "content" not in service_payload:
            raise WebserviceException('Invalid response, missing "content":\n'
                                      "{}".format(service_payload), logger=module_logger)
        return service_payload["content"]

    @abstractmethod
    def run(self, input):
        """Call this service with ``input`` (implemented by the subclasses)."""

    def get_keys(self):
        """The service's ``(primary_key, secondary_key)``."""
        keys_content = self.workspace._client.json("POST", _service_path(self.workspace, self.name) + "/listkeys",
                                                   "webservice")
        if "primaryKey" not in keys_content:
            raise WebserviceException("Invalid response key: primaryKey", logger=module_logger)
        if "secondaryKey" not in keys_content:
            raise WebserviceException("Invalid response key: secondaryKey", logger=module_logger)
        return keys_content["primaryKey"], keys_content["secondaryKey"]

    def regen_key(self, key, set_key=None):
        """Regenerate the 'Primary' or 'Secondary' key (optionally to ``set_key``); waits for it."""
        key = _validate_regen_key(key)
        client = self.workspace._client
        body = {"keyType": key, "keyValue": set_key}
        response = client.request("POST", _service_path(self.workspace, self.name) + "/regenerateKeys",
                                  "webservice", json=body)
        if "Operation-Location" in response.headers:
            operation_location = response.headers["Operation-Location"]
        else:
            raise WebserviceException("Missing operation location from response header, unable to determine status.",
                                      logger=module_logger)
        operation_endpoint = _operation_path(self.workspace, operation_location)
        operation_state = "Running"
        error = None
        while operation_state != "Cancelled" and operation_state != "Succeeded" and operation_state != "Failed" \
                and operation_state != "TimedOut":
            time.sleep(self.workspace._settings.poll_interval)
            content = client.json("GET", operation_endpoint, "webservice", params={"waitSeconds": 1})
            if "state" in content:
                operation_state = content["state"]
            else:
                raise WebserviceException("Missing state from operation response, unable to determine status",
                                          logger=module_logger)
            error = content["error"] if "error" in content else None
        if operation_state != "Succeeded":
            raise WebserviceException('Error, key regeneration operation "{}" with message '
                                      '"{}"'.format(operation_state, error), logger=module_logger)

    def get_token(self):
        """Token auth is only on AKS services (None here, as in the SDK's base class)."""

    @abstractmethod
    def update(self, *args):
        """Update the service (implemented by the subclasses)."""

    def delete(self):
        """Delete this service; blocks until the cloud has removed it."""
        response = self.workspace._client.request("DELETE", _service_path(self.workspace, self.name), "webservice",
                                                  ok=(200, 202, 204))
        if response.status_code == 200:
            self.state = "Deleting"
        elif response.status_code == 202:
            self.state = "Deleting"
            if "Operation-Location" in response.headers:
                operation_location = response.headers["Operation-Location"]
            else:
                raise WebserviceException("Missing response header key: Operation-Location", response.status_code,
                                          logger=module_logger)
            self._operation_endpoint = _operation_path(self.workspace, operation_location)
            self._wait_for_operation_to_complete(True, None)
        elif response.status_code == 204:
            print("No service with name {} found to delete.".format(self.name))

    def _patch(self, patch_list):
        """PATCH the service (JSON Patch) and refresh; the SDK's tail of ``update()``."""
        response = self.workspace._client.request(
            "PATCH", _service_path(self.workspace, self.name), "webservice", ok=(200, 202),
            data=json.dumps(patch_list).encode("utf-8"), headers={"Content-Type": "application/json-patch+json"})
        if response.status_code == 200:
            service_payload = response.json() if response.content else {}
            if "operationId" in service_payload:
                self._operation_endpoint = _operation_path(self.workspace, service_payload["operationId"])
            self.update_deployment_state()
        else:
            if "Operation-Location" in response.headers:
                operation_location = response.headers["Operation-Location"]
            else:
                raise WebserviceException("Missing response header key: Operation-Location", logger=module_logger)
            self._operation_endpoint = _operation_path(self.workspace, operation_location)
            self.update_deployment_state()

    def serialize(self):
        """This service as the SDK's JSON-serializable dict."""
        created_time = self.created_time.isoformat() if self.created_time else None
        updated_time = self.updated_time.isoformat() if self.updated_time else None
        scoring_uri = getattr(self, "scoring_uri", None)
        image_details = self.image.serialize() if self.image else None
        return {"name": self.name, "description": self.description, "tags": self.tags,
                "properties": self.properties, "state": self.state, "createdTime": created_time,
                "updatedTime": updated_time, "error": self.error, "computeType": self.compute_type,
                "workspaceName": self.workspace.name, "imageId": self.image_id, "imageDigest": self.image_digest,
                "imageDetails": image_details, "scoringUri": scoring_uri, "createdBy": self.created_by}

    @classmethod
    def deserialize(cls, workspace, webservice_payload):
        """A service object from the cloud's service JSON, bound to ``workspace``."""
        cls._validate_get_payload(webservice_payload)
        webservice = cls(None, None)
        webservice._initialize(workspace, webservice_payload)
        return webservice

    @classmethod
    def _validate_get_payload(cls, payload):
        if "computeType" not in payload:
            raise WebserviceException("Invalid payload for {} webservice, missing computeType:\n"
                                      "{}".format(cls._webservice_type, payload), logger=module_logger)
        if payload["computeType"] != cls._webservice_type and cls._webservice_type != UNKNOWN_WEBSERVICE_TYPE:
            raise WebserviceException('Invalid payload for {} webservice, computeType is not {}":\n'
                                      "{}".format(cls._webservice_type, cls._webservice_type, payload),
                                      logger=module_logger)
        for service_key in cls._expected_payload_keys:
            if service_key not in payload:
                raise WebserviceException('Invalid {} Webservice payload, missing "{}":\n'
                                          "{}".format(cls._webservice_type, service_key, payload),
                                          logger=module_logger)


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


# --- helpers (ports of SDK message building, shared with the parity tests) -------------------------------

def _child_class_for(service_type: str) -> type[Webservice] | None:
    child_class = None
    # type-abstract: mypy refuses an abstract class as type[Webservice] although nothing here instantiates it.
    for child in Webservice._all_subclasses(Webservice):  # type: ignore[type-abstract]
        if service_type == child._webservice_type:
            return child
        elif child._webservice_type == UNKNOWN_WEBSERVICE_TYPE:
            child_class = child
    return child_class


def _timeout_message(timeout_sec: float, current_state: str) -> str:
    # Verbatim, including the whitespace the SDK's line continuations leave in the text.
    msg = 'Deployment polling exceeded timeout override of {}s. Current status: {}\nDeployment may be \
                    transitioning or unhealthy, use update_deployment_state() to fetch the latest status of \
                        the webservice'.format(timeout_sec, current_state)
    return msg


def _deployment_failure_message(service_state: Any, operation_id: str, operation_error: Any, service_error: Any,
                                operation: dict[str, Any]) -> str:
    """The text ``wait_for_deployment`` raises when the operation ended other than Succeeded."""
    if operation_error:
        error_response = json.dumps(operation_error, indent=2)
    elif service_error:
        error_response = json.dumps(service_error, indent=2)
    else:
        error_response = "No error message received from server."
    format_error_response = Webservice._format_error_response(error_response)
    logs_response = None
    operation_details = operation.get("operationDetails")
    if operation_details:
        sub_op_type = operation_details.get("subOperationType")
        if sub_op_type:
            if sub_op_type == "BuildEnvironment" or sub_op_type == "BuildImage":
                logs_response = "More information can be found here: {}".format(operation.get("operationLog"))
            elif sub_op_type == "DeployService":
                logs_response = "More information can be found using '.get_logs()'"
    if not logs_response:
        logs_response = "Current sub-operation type not known, more logs unavailable."
    return ("Service deployment polling reached non-successful terminal state, current service state: {}\n"
            "Operation ID: {}\n"
            "{}\n"
            "Error:\n"
            "{}".format(service_state, operation_id, logs_response, format_error_response))


def _validate_regen_key(key: str) -> str:
    if not key:
        raise WebserviceException("Error, must specify which key with be regenerated: Primary, Secondary",
                                  logger=module_logger)
    key = key.capitalize()
    if key != "Primary" and key != "Secondary":
        raise WebserviceException("Error, invalid value provided for key: {}.\n"
                                  "Valid options are: Primary, Secondary".format(key), logger=module_logger)
    return key


def _list_params(compute_type, image_name, image_id, model_name, model_id, tags, properties,
                 image_digest) -> dict[str, Any]:
    params: dict[str, Any] = {"expand": "true"}
    if compute_type:
        if compute_type.upper() not in ALL_WEBSERVICE_TYPES:
            raise WebserviceException('Invalid compute type "{}". Valid options are "{}"'
                                      .format(compute_type, ",".join(ALL_WEBSERVICE_TYPES)), logger=module_logger)
        params["computeType"] = compute_type
    if image_name:
        params["imageName"] = image_name
    if image_id:
        params["imageId"] = image_id
    if model_name:
        params["modelName"] = model_name
    if model_id:
        params["modelId"] = model_id
    if tags:
        params["tags"] = _filter_query(tags)
    if properties:
        params["properties"] = _filter_query(properties)
    if image_digest:
        params["imageDigest"] = image_digest
    return params


def _swagger_uri(scoring_uri: str | None) -> str | None:
    return "/".join(scoring_uri.split("/")[:-1]) + WEBSERVICE_SWAGGER_PATH if scoring_uri else None


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _services_path(workspace: Any) -> str:
    return workspace._arm_path + "/services"


def _service_path(workspace: Any, name: str) -> str:
    return _services_path(workspace) + "/" + quote(name, safe="")


def _operation_path(workspace: Any, operation_location: str) -> str:
    """Our path for an operation from an ``Operation-Location`` header (or a bare operation id)."""
    return workspace._arm_path + "/operations/" + operation_location.split("/")[-1]


def _models_from_payload(workspace: Any, models: list[dict] | None) -> list:
    """The service's models as Model objects (registry bodies or ``Model.serialize()`` dicts)."""
    from fake_azure.core.model import Model

    result = []
    for payload in models or []:
        if "kvTags" in payload or "createdBy" not in payload:
            result.append(Model(workspace, _model_dto=payload))
        else:
            result.append(Model.deserialize(workspace, payload))
    return result


def _environment_from_payload(obj_dict: dict[str, Any]) -> Any:
    from fake_azure.core.environment import Environment

    env_image_request = obj_dict.get("environmentImageRequest")
    env_dict = env_image_request.get("environment") if env_image_request else None
    return Environment._deserialize_and_add_to_object(env_dict) if env_dict else None


def _environment_patch(service: Any, models: list | None, inference_config: Any) -> list[dict[str, Any]]:
    """The ``/environmentImageRequest`` patch of an ``update(models=..., inference_config=...)``."""
    if inference_config:
        if models is None:
            models = service.models
        if not service.environment:
            raise WebserviceException("Updating a service that was deployed from an Image is not supported by the "
                                      "local cloud.", logger=module_logger)
        from fake_azure.core import _deploy

        request = _deploy.build_environment_image_request(service.workspace, service.name,
                                                          [model.id for model in models], inference_config)
        return [{"op": "replace", "path": "/environmentImageRequest", "value": request}]
    if models is not None:
        # No-code: the SDK's build_and_validate_no_code_environment_image_request, the service's environment.
        from fake_azure.core import _deploy

        return [{"op": "replace", "path": "/environmentImageRequest", "value": _deploy.no_code_image_request(models)}]
    return []


def _score(service: Any, input_data: Any) -> Any:
    """Port of ``AksWebservice.run``/``AciWebservice.run``: POST to the scoring URI, one retry on 401."""
    if not service.scoring_uri:
        raise WebserviceException("Error attempting to call webservice, scoring_uri unavailable. "
                                  "This could be due to a failed deployment, or the service is not ready yet.\n"
                                  "Current State: {}\n"
                                  "Errors: {}".format(service.state, service.error), logger=module_logger)
    resp = service._webservice_session.post(service.scoring_uri, data=input_data)
    if resp.status_code == 401:
        if service.auth_enabled:
            service_keys = service.get_keys()
            service._session.headers.update({"Authorization": "Bearer " + service_keys[0]})
        elif service.token_auth_enabled:
            service_token, refresh_token_time = service.get_token()
            service._refresh_token_time = refresh_token_time
            service._session.headers.update({"Authorization": "Bearer " + service_token})
        resp = service._webservice_session.post(service.scoring_uri, data=input_data)
    if resp.status_code == 200:
        return resp.json()
    raise WebserviceException("Received bad response from service. More information can be found by calling "
                              "`.get_logs()` on the webservice object.\n"
                              "Response Code: {}\n"
                              "Headers: {}\n"
                              "Content: {}".format(resp.status_code, resp.headers, resp.content),
                              logger=module_logger)
