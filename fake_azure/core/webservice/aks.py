"""Mirror of ``azureml.core.webservice.aks``: AKS deployment configuration and update validation.

``AksServiceDeploymentConfiguration`` stores every parameter verbatim (None means "server default"),
validates by accumulating all violations into one ``WebserviceException`` in the SDK's order, and
builds the same MMS create payload. ``AksWebservice`` carries the static pieces; its cloud
lifecycle lands with the deploy issue.
"""
from __future__ import annotations

import copy
import logging
import re
import warnings
from typing import Any

# The SDK defines identical copies of these helpers in this module too; importable from here as well.
from fake_azure.core.webservice.webservice import (  # noqa: F401 - re-exported, as said above
    AKS_ENDPOINT_TYPE,
    AKS_WEBSERVICE_TYPE,
    AutoScaler,
    ContainerResourceRequirements,
    DataCollection,
    LivenessProbeRequirements,
    Webservice,
    WebServiceAccessToken,
    WebserviceDeploymentConfiguration,
    _environment_from_payload,
    _environment_patch,
    _models_from_payload,
    _score,
    _service_path,
    _swagger_uri,
    webservice_name_validation,
)
from fake_azure.exceptions import WebserviceException

module_logger = logging.getLogger(__name__)

NAMESPACE_REGEX = "^[a-z0-9]([a-z0-9-]{,61}[a-z0-9])?$"

_EXPERIMENTAL_CLASS_WARNING = ("Class {0}: This is an experimental class, and may change at any time. "
                               "Please see https://aka.ms/azuremlexperimental for more information.")

# ``aks_specific_service_create_payload_template.json``
AKS_SERVICE_CREATE_PAYLOAD_TEMPLATE: dict[str, Any] = {
    "numReplicas": None,
    "dataCollection": {"storageEnabled": False, "eventHubEnabled": False},
    "computeName": None,
    "appInsightsEnabled": None,
    "autoScaler": {"autoscaleEnabled": False, "minReplicas": None, "maxReplicas": None,
                   "targetUtilization": None, "refreshPeriodInSeconds": None},
    "containerResourceRequirements": {"cpu": None, "cpuLimit": None, "memoryInGB": None,
                                      "memoryInGBLimit": None, "gpu": None},
    "maxConcurrentRequestsPerContainer": None,
    "maxQueueWaitMs": None,
    "namespace": None,
    "scoringTimeoutMs": None,
    "authEnabled": None,
    "aadAuthEnabled": None,
    "storageInitEnabled": None,
    "livenessProbeRequirements": {"initialDelaySeconds": None, "periodSeconds": None, "failureThreshold": None,
                                  "successThreshold": None, "timeoutSeconds": None},
    "overwrite": None,
}

# ``aks_specific_endpoint_create_payload_template.json``
AKS_ENDPOINT_CREATE_PAYLOAD_TEMPLATE: dict[str, Any] = {
    "name": None,
    "description": None,
    "tags": None,
    "properties": None,
    "computeType": None,
    "computeName": None,
    "appInsightsEnabled": None,
    "namespace": None,
    "authEnabled": None,
    "aadAuthEnabled": None,
    "versions": None,
    "keys": {"primaryKey": None, "secondaryKey": None},
    "overwrite": False,
}


class AksWebservice(Webservice):
    """A model deployed to Azure Kubernetes Service (``computeType`` ``AKS``)."""

    _expected_payload_keys = Webservice._expected_payload_keys + ["appInsightsEnabled", "authEnabled",
                                                                  "autoScaler", "computeName",
                                                                  "containerResourceRequirements", "dataCollection",
                                                                  "maxConcurrentRequestsPerContainer",
                                                                  "maxQueueWaitMs", "numReplicas", "scoringTimeoutMs",
                                                                  "scoringUri", "livenessProbeRequirements",
                                                                  "aadAuthEnabled"]
    _webservice_type = AKS_WEBSERVICE_TYPE
    _properties_added_message = "Webservice property add operation complete."  # the SDK's words differ by type

    def _initialize(self, workspace, obj_dict):
        AksWebservice._validate_get_payload(obj_dict)
        super(AksWebservice, self)._initialize(workspace, obj_dict)
        self.enable_app_insights = obj_dict.get("appInsightsEnabled")
        self.autoscaler = AutoScaler.deserialize(obj_dict.get("autoScaler"))
        self.compute_name = obj_dict.get("computeName")
        self.container_resource_requirements = \
            ContainerResourceRequirements.deserialize(obj_dict.get("containerResourceRequirements"))
        self.liveness_probe_requirements = \
            LivenessProbeRequirements.deserialize(obj_dict.get("livenessProbeRequirements"))
        self.data_collection = DataCollection.deserialize(obj_dict.get("dataCollection"))
        self.max_concurrent_requests_per_container = obj_dict.get("maxConcurrentRequestsPerContainer")
        self.max_request_wait_time = obj_dict.get("maxQueueWaitMs")
        self.num_replicas = obj_dict.get("numReplicas")
        self.scoring_timeout_ms = obj_dict.get("scoringTimeoutMs")
        self.scoring_uri = obj_dict.get("scoringUri")
        self.is_default = obj_dict.get("isDefault")
        self.traffic_percentile = obj_dict.get("trafficPercentile")
        self.version_type = obj_dict.get("type")
        self.token_auth_enabled = obj_dict.get("aadAuthEnabled")
        self.environment = _environment_from_payload(obj_dict)
        self.models = _models_from_payload(workspace, obj_dict.get("models"))
        self.deployment_status = obj_dict.get("deploymentStatus")
        self.namespace = obj_dict.get("namespace")
        self.swagger_uri = _swagger_uri(self.scoring_uri)
        self._model_config_map = obj_dict.get("modelConfigMap")
        self._refresh_token_time = None

    def __repr__(self):
        return super().__repr__()

    def run(self, input_data):
        """POST ``input_data`` to the scoring URI (with the key or token); returns the parsed JSON answer."""
        return _score(self, input_data)

    def update(self, image=None, autoscale_enabled=None, autoscale_min_replicas=None, autoscale_max_replicas=None,
               autoscale_refresh_seconds=None, autoscale_target_utilization=None, collect_model_data=None,
               auth_enabled=None, cpu_cores=None, memory_gb=None,
               enable_app_insights=None, scoring_timeout_ms=None, replica_max_concurrent_requests=None,
               max_request_wait_time=None, num_replicas=None, tags=None,
               properties=None, description=None, models=None, inference_config=None, gpu_cores=None,
               period_seconds=None, initial_delay_seconds=None, timeout_seconds=None, success_threshold=None,
               failure_threshold=None, namespace=None, token_auth_enabled=None, cpu_cores_limit=None,
               memory_gb_limit=None, **kwargs):
        """Update the service; values left None stay as they are. Returns once the update is submitted."""
        if not AksWebservice._validate_update_args(
                image, autoscale_enabled, autoscale_min_replicas, autoscale_max_replicas, autoscale_refresh_seconds,
                autoscale_target_utilization, collect_model_data, auth_enabled, cpu_cores, memory_gb,
                enable_app_insights, scoring_timeout_ms, replica_max_concurrent_requests, max_request_wait_time,
                num_replicas, tags, properties, description, models, inference_config, gpu_cores, period_seconds,
                initial_delay_seconds, timeout_seconds, success_threshold, failure_threshold, namespace,
                token_auth_enabled, cpu_cores_limit, memory_gb_limit, current=self, **kwargs):
            raise WebserviceException("Migrating an AKS web service is not supported by the local cloud.",
                                      logger=module_logger)
        patch_list = _environment_patch(self, models, inference_config)
        properties = properties or {}
        for path, value, present in (
                ("/autoScaler/autoscaleEnabled", autoscale_enabled, autoscale_enabled is not None),
                ("/autoScaler/minReplicas", autoscale_min_replicas, bool(autoscale_min_replicas)),
                ("/autoScaler/maxReplicas", autoscale_max_replicas, bool(autoscale_max_replicas)),
                ("/autoScaler/refreshPeriodInSeconds", autoscale_refresh_seconds, bool(autoscale_refresh_seconds)),
                ("/autoScaler/targetUtilization", autoscale_target_utilization,
                 bool(autoscale_target_utilization)),
                ("/dataCollection/storageEnabled", collect_model_data, collect_model_data is not None),
                ("/authEnabled", auth_enabled, auth_enabled is not None),
                ("/aadAuthEnabled", token_auth_enabled, token_auth_enabled is not None),
                ("/containerResourceRequirements/cpu", cpu_cores, bool(cpu_cores)),
                ("/containerResourceRequirements/cpuLimit", cpu_cores_limit, bool(cpu_cores_limit)),
                ("/containerResourceRequirements/memoryInGB", memory_gb, bool(memory_gb)),
                ("/containerResourceRequirements/memoryInGBLimit", memory_gb_limit, bool(memory_gb_limit)),
                ("/containerResourceRequirements/gpu", gpu_cores, bool(gpu_cores)),
                ("/appInsightsEnabled", enable_app_insights, enable_app_insights is not None),
                ("/scoringTimeoutMs", scoring_timeout_ms, bool(scoring_timeout_ms)),
                ("/maxConcurrentRequestsPerContainer", replica_max_concurrent_requests,
                 bool(replica_max_concurrent_requests)),
                ("/maxQueueWaitMs", max_request_wait_time, bool(max_request_wait_time)),
                ("/numReplicas", num_replicas, bool(num_replicas)),
                ("/livenessProbeRequirements/periodSeconds", period_seconds, bool(period_seconds)),
                ("/livenessProbeRequirements/initialDelaySeconds", initial_delay_seconds,
                 bool(initial_delay_seconds)),
                ("/livenessProbeRequirements/timeoutSeconds", timeout_seconds, bool(timeout_seconds)),
                ("/livenessProbeRequirements/successThreshold", success_threshold, bool(success_threshold)),
                ("/livenessProbeRequirements/failureThreshold", failure_threshold, bool(failure_threshold)),
                ("/namespace", namespace, bool(namespace)),
                ("/kvTags", tags, tags is not None)):
            if present:
                patch_list.append({"op": "replace", "path": path, "value": value})
        for key in properties:
            patch_list.append({"op": "add", "path": "/properties/{}".format(key), "value": properties[key]})
        if description:
            patch_list.append({"op": "replace", "path": "/description", "value": description})
        self._patch(patch_list)

    def serialize(self):
        """This service as the SDK's JSON-serializable dict."""
        properties = super(AksWebservice, self).serialize()
        autoscaler = self.autoscaler.serialize() if self.autoscaler else None
        container_resource_requirements = self.container_resource_requirements.serialize() \
            if self.container_resource_requirements else None
        liveness_probe_requirements = self.liveness_probe_requirements.serialize() \
            if self.liveness_probe_requirements else None
        data_collection = self.data_collection.serialize() if self.data_collection else None
        env_details = self.environment._serialize_to_dict() if self.environment else None
        model_details = [model.serialize() for model in self.models] if self.models else None
        aks_properties = {"appInsightsEnabled": self.enable_app_insights, "authEnabled": self.auth_enabled,
                          "autoScaler": autoscaler, "computeName": self.compute_name,
                          "containerResourceRequirements": container_resource_requirements,
                          "dataCollection": data_collection, "imageId": self.image_id,
                          "maxConcurrentRequestsPerContainer": self.max_concurrent_requests_per_container,
                          "maxQueueWaitMs": self.max_request_wait_time,
                          "livenessProbeRequirements": liveness_probe_requirements,
                          "numReplicas": self.num_replicas, "deploymentStatus": self.deployment_status,
                          "scoringTimeoutMs": self.scoring_timeout_ms, "scoringUri": self.scoring_uri,
                          "aadAuthEnabled": self.token_auth_enabled, "environmentDetails": env_details,
                          "modelDetails": model_details, "isDefault": self.is_default,
                          "trafficPercentile": self.traffic_percentile, "versionType": self.version_type}
        properties.update(aks_properties)
        return properties

    def get_token(self):
        """DEPRECATED: use ``get_access_token``. Returns ``(access_token, refresh_after)``."""
        warnings.warn("get_token() method has been deprecated and will be removed in a future release. "
                      + "Please migrate to get_access_token() method.", category=DeprecationWarning,
                      stacklevel=1)  # the SDK's (its default): the warning names this line
        service_token = self._internal_get_access_token()
        return service_token.access_token, service_token.refresh_after

    def get_access_token(self):
        """The service's current access token (token-auth services)."""
        return self._internal_get_access_token()

    def _internal_get_access_token(self):
        auth_token_result = self.workspace._client.json(
            "POST", _service_path(self.workspace, self.name) + "/token", "webservice")
        return AksServiceAccessToken.deserialize(auth_token_result)

    @staticmethod
    def deploy_configuration(autoscale_enabled: bool | None = None, autoscale_min_replicas: int | None = None,
                             autoscale_max_replicas: int | None = None, autoscale_refresh_seconds: int | None = None,
                             autoscale_target_utilization: int | None = None, collect_model_data: bool | None = None,
                             auth_enabled: bool | None = None, cpu_cores: float | None = None,
                             memory_gb: float | None = None, enable_app_insights: bool | None = None,
                             scoring_timeout_ms: int | None = None,
                             replica_max_concurrent_requests: int | None = None,
                             max_request_wait_time: int | None = None, num_replicas: int | None = None,
                             primary_key: str | None = None, secondary_key: str | None = None,
                             tags: dict[str, str] | None = None, properties: dict[str, str] | None = None,
                             description: str | None = None, gpu_cores: int | None = None,
                             period_seconds: int | None = None, initial_delay_seconds: int | None = None,
                             timeout_seconds: int | None = None, success_threshold: int | None = None,
                             failure_threshold: int | None = None, namespace: str | None = None,
                             token_auth_enabled: bool | None = None, compute_target_name: str | None = None,
                             cpu_cores_limit: float | None = None, memory_gb_limit: float | None = None,
                             blobfuse_enabled: bool | None = None) -> "AksServiceDeploymentConfiguration":
        """Create (and validate) a configuration for deploying to an AKS compute target."""
        return AksServiceDeploymentConfiguration(autoscale_enabled, autoscale_min_replicas, autoscale_max_replicas,
                                                 autoscale_refresh_seconds, autoscale_target_utilization,
                                                 collect_model_data, auth_enabled, cpu_cores,
                                                 memory_gb, enable_app_insights, scoring_timeout_ms,
                                                 replica_max_concurrent_requests, max_request_wait_time,
                                                 num_replicas, primary_key, secondary_key, tags, properties,
                                                 description, gpu_cores, period_seconds, initial_delay_seconds,
                                                 timeout_seconds, success_threshold, failure_threshold, namespace,
                                                 token_auth_enabled, compute_target_name,
                                                 cpu_cores_limit, memory_gb_limit, blobfuse_enabled)

    def _validate_update(self, image: Any, autoscale_enabled: Any, autoscale_min_replicas: Any,
                         autoscale_max_replicas: Any, autoscale_refresh_seconds: Any,
                         autoscale_target_utilization: Any, collect_model_data: Any, cpu_cores: Any,
                         memory_gb: Any, enable_app_insights: Any, scoring_timeout_ms: Any,
                         replica_max_concurrent_requests: Any, max_request_wait_time: Any, num_replicas: Any,
                         tags: Any, properties: Any, description: Any, models: Any, inference_config: Any,
                         gpu_cores: Any, period_seconds: Any, initial_delay_seconds: Any, timeout_seconds: Any,
                         success_threshold: Any, failure_threshold: Any, namespace: Any, auth_enabled: Any,
                         token_auth_enabled: Any, cpu_cores_limit: Any, memory_gb_limit: Any) -> None:
        """Validate ``update()`` values against this service (the SDK's signature and order)."""
        error = _update_validation_errors(
            self, image=image, autoscale_enabled=autoscale_enabled, autoscale_min_replicas=autoscale_min_replicas,
            autoscale_max_replicas=autoscale_max_replicas, autoscale_refresh_seconds=autoscale_refresh_seconds,
            autoscale_target_utilization=autoscale_target_utilization, cpu_cores=cpu_cores, memory_gb=memory_gb,
            scoring_timeout_ms=scoring_timeout_ms, replica_max_concurrent_requests=replica_max_concurrent_requests,
            max_request_wait_time=max_request_wait_time, num_replicas=num_replicas, models=models,
            inference_config=inference_config, gpu_cores=gpu_cores, period_seconds=period_seconds,
            initial_delay_seconds=initial_delay_seconds, timeout_seconds=timeout_seconds,
            success_threshold=success_threshold, failure_threshold=failure_threshold, namespace=namespace,
            auth_enabled=auth_enabled, token_auth_enabled=token_auth_enabled, cpu_cores_limit=cpu_cores_limit,
            memory_gb_limit=memory_gb_limit)
        if error:
            raise WebserviceException(error, logger=module_logger)

    @staticmethod
    def _validate_update_args(image: Any = None, autoscale_enabled: bool | None = None,
                              autoscale_min_replicas: int | None = None, autoscale_max_replicas: int | None = None,
                              autoscale_refresh_seconds: int | None = None,
                              autoscale_target_utilization: int | None = None,
                              collect_model_data: bool | None = None, auth_enabled: bool | None = None,
                              cpu_cores: float | None = None, memory_gb: float | None = None,
                              enable_app_insights: bool | None = None, scoring_timeout_ms: int | None = None,
                              replica_max_concurrent_requests: int | None = None,
                              max_request_wait_time: int | None = None, num_replicas: int | None = None,
                              tags: dict[str, str] | None = None, properties: dict[str, str] | None = None,
                              description: str | None = None, models: list[Any] | None = None,
                              inference_config: Any = None, gpu_cores: int | None = None,
                              period_seconds: int | None = None, initial_delay_seconds: int | None = None,
                              timeout_seconds: int | None = None, success_threshold: int | None = None,
                              failure_threshold: int | None = None, namespace: str | None = None,
                              token_auth_enabled: bool | None = None, cpu_cores_limit: float | None = None,
                              memory_gb_limit: float | None = None, *, current: Any = None,
                              **kwargs: Any) -> bool:
        """Run every client-side check of ``AksWebservice.update(...)`` in the SDK's order.

        Takes ``update``'s arguments; ``current`` is the service being updated (anything with
        ``environment``, ``image``, ``container_resource_requirements``, ``auth_enabled`` and
        ``token_auth_enabled``; None = a service with none of them set). Returns False for a
        migration request (``is_migration=True`` with a ``compute_target``), which skips the
        checks; True when the update may proceed. Raises ``WebserviceException`` otherwise (or
        ``UserErrorException`` for an unusable no-code ``models`` list, as update() does).
        """
        if kwargs.get("is_migration", False):
            if kwargs.get("compute_target", None) is None:
                raise WebserviceException("Must have a compute target to migrate AKS web service.",
                                          logger=module_logger)
            return False

        if not image and autoscale_enabled is None and not autoscale_min_replicas and not autoscale_max_replicas \
                and not autoscale_refresh_seconds and not autoscale_target_utilization and collect_model_data is None \
                and auth_enabled is None and not cpu_cores and not memory_gb and not gpu_cores \
                and enable_app_insights is None and not scoring_timeout_ms and not replica_max_concurrent_requests \
                and not max_request_wait_time and not num_replicas and tags is None and properties is None \
                and not description and not period_seconds and not initial_delay_seconds and not timeout_seconds \
                and models is None and inference_config is None and not failure_threshold and not success_threshold \
                and not namespace and token_auth_enabled is None and cpu_cores_limit is None \
                and memory_gb_limit is None:
            raise WebserviceException("No parameters provided to update.", logger=module_logger)

        error = _update_validation_errors(
            current, image=image, autoscale_enabled=autoscale_enabled, autoscale_min_replicas=autoscale_min_replicas,
            autoscale_max_replicas=autoscale_max_replicas, autoscale_refresh_seconds=autoscale_refresh_seconds,
            autoscale_target_utilization=autoscale_target_utilization, cpu_cores=cpu_cores, memory_gb=memory_gb,
            scoring_timeout_ms=scoring_timeout_ms, replica_max_concurrent_requests=replica_max_concurrent_requests,
            max_request_wait_time=max_request_wait_time, num_replicas=num_replicas, models=models,
            inference_config=inference_config, gpu_cores=gpu_cores, period_seconds=period_seconds,
            initial_delay_seconds=initial_delay_seconds, timeout_seconds=timeout_seconds,
            success_threshold=success_threshold, failure_threshold=failure_threshold, namespace=namespace,
            auth_enabled=auth_enabled, token_auth_enabled=token_auth_enabled, cpu_cores_limit=cpu_cores_limit,
            memory_gb_limit=memory_gb_limit)
        if error:
            raise WebserviceException(error, logger=module_logger)
        if inference_config is None and models is not None:
            # update() then builds a no-code image request, whose prerequisites are checked client-side. A
            # single model of an unsupported framework is already an error above; what is left to catch
            # here is an empty list (falsy, so skipped above): "zero or multiple models".
            from fake_azure.core._deploy import _validate_no_code

            _validate_no_code(models)
        return True


def _update_validation_errors(current: Any, *, image: Any, autoscale_enabled: Any, autoscale_min_replicas: Any,
                              autoscale_max_replicas: Any, autoscale_refresh_seconds: Any,
                              autoscale_target_utilization: Any, cpu_cores: Any, memory_gb: Any,
                              scoring_timeout_ms: Any, replica_max_concurrent_requests: Any,
                              max_request_wait_time: Any, num_replicas: Any, models: Any, inference_config: Any,
                              gpu_cores: Any, period_seconds: Any, initial_delay_seconds: Any, timeout_seconds: Any,
                              success_threshold: Any, failure_threshold: Any, namespace: Any, auth_enabled: Any,
                              token_auth_enabled: Any, cpu_cores_limit: Any, memory_gb_limit: Any) -> str:
    """The accumulated ``Error, ...`` lines of ``AksWebservice._validate_update``, in the SDK's order."""
    from fake_azure.core.model import Model

    current_environment = getattr(current, "environment", None)
    current_image = getattr(current, "image", None)
    resources = getattr(current, "container_resource_requirements", None)
    current_auth_enabled = getattr(current, "auth_enabled", None)
    current_token_auth_enabled = getattr(current, "token_auth_enabled", None)

    error = ""
    if image and current_environment:
        error += "Error, unable to use Image object to update Webservice created with Environment object.\n"
    if inference_config and inference_config.environment and current_image:
        error += "Error, unable to use Environment object to update Webservice created with Image object.\n"
    if image and inference_config:
        error += "Error, unable to pass both an Image object and an InferenceConfig object to update.\n"
    if cpu_cores is not None:
        if cpu_cores <= 0:
            error += "Error, cpu_cores must be greater than zero.\n"
        if resources is not None and resources.cpu_limit is not None and cpu_cores > resources.cpu_limit:
            error += "Error, cpu_cores must be less than or equal to container_resource_requirements.cpu_limit.\n"
    if cpu_cores_limit is not None:
        if cpu_cores_limit <= 0:
            error += "Error, cpu_cores_limit must be greater than zero.\n"
        if cpu_cores is not None and cpu_cores_limit < cpu_cores:
            error += "Error, cpu_cores_limit must be greater than or equal to cpu_cores.\n"
        if resources is not None and resources.cpu is not None and cpu_cores_limit < resources.cpu:
            error += "Error, cpu_cores_limit must be greater than or equal to container_resource_requirements.cpu.\n"
    if memory_gb is not None:
        if memory_gb <= 0:
            error += "Error, memory_gb must be greater than zero.\n"
        if resources and resources.memory_in_gb_limit and memory_gb > resources.memory_in_gb_limit:
            error += ("Error, memory_gb must be less than or equal to "
                      "container_resource_requirements.memory_in_gb_limit.\n")
    if memory_gb_limit is not None:
        # An elif chain in the SDK: at most one memory_gb_limit line.
        if memory_gb_limit <= 0:
            error += "Error, memory_gb_limit must be greater than zero.\n"
        elif memory_gb and memory_gb_limit < memory_gb:
            error += "Error, memory_gb_limit must be greater than or equal to memory_gb.\n"
        elif resources and resources.memory_in_gb and memory_gb_limit < resources.memory_in_gb:
            error += ("Error, memory_gb_limit must be greater than or equal to "
                      "container_resource_requirements.memory_in_gb.\n")
    if gpu_cores is not None and gpu_cores < 0:
        error += "Error, gpu_cores must be greater than or equal to zero.\n"
    if scoring_timeout_ms is not None and scoring_timeout_ms <= 0:
        error += "Error, scoring_timeout_ms must be greater than zero.\n"
    if replica_max_concurrent_requests is not None and replica_max_concurrent_requests <= 0:
        error += "Error, replica_max_concurrent_requests must be greater than zero.\n"
    if max_request_wait_time is not None and max_request_wait_time <= 0:
        error += "Error, max_request_wait_time must be greater than zero.\n"
    if num_replicas is not None and num_replicas <= 0:
        error += "Error, num_replicas must be greater than zero.\n"
    if period_seconds is not None and period_seconds <= 0:
        error += "Error, period_seconds must be greater than zero.\n"
    if timeout_seconds is not None and timeout_seconds <= 0:
        error += "Error, timeout_seconds must be greater than zero.\n"
    if initial_delay_seconds is not None and initial_delay_seconds <= 0:
        error += "Error, initial_delay_seconds must be greater than zero.\n"
    if success_threshold is not None and success_threshold <= 0:
        error += "Error, success_threshold must be greater than zero.\n"
    if failure_threshold is not None and failure_threshold <= 0:
        error += "Error, failure_threshold must be greater than zero.\n"
    if namespace and not re.match(NAMESPACE_REGEX, namespace):
        error += "Error, namespace must be a valid Kubernetes namespace. Regex for validation is " \
                 + NAMESPACE_REGEX + "\n"
    if autoscale_enabled:
        if num_replicas:
            error += "Error, autoscale enabled and num_replicas provided.\n"
        if autoscale_min_replicas is not None and autoscale_min_replicas <= 0:
            error += "Error, autoscale_min_replicas must be greater than zero.\n"
        if autoscale_max_replicas is not None and autoscale_max_replicas <= 0:
            error += "Error, autoscale_max_replicas must be greater than zero.\n"
        if autoscale_min_replicas and autoscale_max_replicas and autoscale_min_replicas > autoscale_max_replicas:
            error += "Error, autoscale_min_replicas cannot be greater than autoscale_max_replicas.\n"
        if autoscale_refresh_seconds is not None and autoscale_refresh_seconds <= 0:
            error += "Error, autoscale_refresh_seconds must be greater than zero.\n"
        if autoscale_target_utilization is not None and autoscale_target_utilization <= 0:
            error += "Error, autoscale_target_utilization must be greater than zero.\n"
    else:
        if autoscale_enabled is False and not num_replicas:
            error += "Error, autoscale disabled but num_replicas not provided.\n"
        if autoscale_min_replicas:
            error += "Error, autoscale_min_replicas provided without enabling autoscaling.\n"
        if autoscale_max_replicas:
            error += "Error, autoscale_max_replicas provided without enabling autoscaling.\n"
        if autoscale_refresh_seconds:
            error += "Error, autoscale_refresh_seconds provided without enabling autoscaling.\n"
        if autoscale_target_utilization:
            error += "Error, autoscale_target_utilization provided without enabling autoscaling.\n"
    if inference_config is None and models and \
            (len(models) != 1 or models[0].model_framework not in Model._SUPPORTED_FRAMEWORKS_FOR_NO_CODE_DEPLOY):
        error += 'Error, both "models" and "inference_config" inputs must be provided in order ' \
                 "to update the models.\n"
    if token_auth_enabled and auth_enabled:
        error += "Error, cannot set both token_auth_enabled and auth_enabled.\n"
    elif token_auth_enabled and (current_auth_enabled and auth_enabled is not False):
        error += "Error, cannot set token_auth_enabled without disabling key auth (set auth_enabled to False).\n"
    elif auth_enabled and (current_token_auth_enabled and token_auth_enabled is not False):
        error += "Error, cannot set token_auth_enabled without disabling key auth (set auth_enabled to False).\n"
    return error


class AksServiceAccessToken(WebServiceAccessToken):
    """The token to put in the ``Authorization`` header of a token-authenticated AKS service."""


class AksServiceDeploymentConfiguration(WebserviceDeploymentConfiguration):
    """Deployment settings of an AKS service; create it with ``AksWebservice.deploy_configuration``."""

    def __init__(self, autoscale_enabled: Any, autoscale_min_replicas: Any, autoscale_max_replicas: Any,
                 autoscale_refresh_seconds: Any, autoscale_target_utilization: Any, collect_model_data: Any,
                 auth_enabled: Any, cpu_cores: Any, memory_gb: Any, enable_app_insights: Any,
                 scoring_timeout_ms: Any, replica_max_concurrent_requests: Any, max_request_wait_time: Any,
                 num_replicas: Any, primary_key: Any, secondary_key: Any, tags: Any, properties: Any,
                 description: Any, gpu_cores: Any, period_seconds: Any, initial_delay_seconds: Any,
                 timeout_seconds: Any, success_threshold: Any, failure_threshold: Any, namespace: Any,
                 token_auth_enabled: Any, compute_target_name: Any, cpu_cores_limit: Any, memory_gb_limit: Any,
                 blobfuse_enabled: Any = None) -> None:
        super().__init__(AksWebservice, description, tags, properties, primary_key, secondary_key)
        self.autoscale_enabled = autoscale_enabled
        self.autoscale_min_replicas = autoscale_min_replicas
        self.autoscale_max_replicas = autoscale_max_replicas
        self.autoscale_refresh_seconds = autoscale_refresh_seconds
        self.autoscale_target_utilization = autoscale_target_utilization
        self.collect_model_data = collect_model_data
        self.auth_enabled = auth_enabled
        self.cpu_cores = cpu_cores
        self.cpu_cores_limit = cpu_cores_limit
        self.memory_gb = memory_gb
        self.memory_gb_limit = memory_gb_limit
        self.gpu_cores = gpu_cores
        self.enable_app_insights = enable_app_insights
        self.scoring_timeout_ms = scoring_timeout_ms
        self.replica_max_concurrent_requests = replica_max_concurrent_requests
        self.max_request_wait_time = max_request_wait_time
        self.num_replicas = num_replicas
        self.period_seconds = period_seconds
        self.initial_delay_seconds = initial_delay_seconds
        self.timeout_seconds = timeout_seconds
        self.success_threshold = success_threshold
        self.failure_threshold = failure_threshold
        self.namespace = namespace
        self.token_auth_enabled = token_auth_enabled
        self.blobfuse_enabled = blobfuse_enabled
        self.compute_target_name = compute_target_name
        self.validate_configuration()

    def validate_configuration(self) -> None:
        """Raise one ``WebserviceException`` listing every invalid value (one line each)."""
        error = ""
        if self.cpu_cores is not None and self.cpu_cores <= 0:
            error += "Invalid configuration, cpu_cores must be greater than zero.\n"
        if self.cpu_cores is not None and self.cpu_cores_limit is not None and self.cpu_cores_limit < self.cpu_cores:
            error += "Invalid configuration, cpu_cores_limit must be greater than or equal to cpu_cores.\n"
        if self.memory_gb is not None and self.memory_gb <= 0:
            error += "Invalid configuration, memory_gb must be greater than zero.\n"
        if self.memory_gb is not None and self.memory_gb_limit is not None and self.memory_gb_limit < self.memory_gb:
            error += "Invalid configuration, memory_gb_limit must be greater than or equal to memory_gb.\n"
        if self.gpu_cores is not None and self.gpu_cores < 0:
            error += "Invalid configuration, gpu_cores must be greater than or equal to zero.\n"
        if self.period_seconds is not None and self.period_seconds <= 0:
            error += "Invalid configuration, period_seconds must be greater than zero.\n"
        if self.initial_delay_seconds is not None and self.initial_delay_seconds <= 0:
            error += "Invalid configuration, initial_delay_seconds must be greater than zero.\n"
        if self.timeout_seconds is not None and self.timeout_seconds <= 0:
            error += "Invalid configuration, timeout_seconds must be greater than zero.\n"
        if self.success_threshold is not None and self.success_threshold <= 0:
            error += "Invalid configuration, success_threshold must be greater than zero.\n"
        if self.failure_threshold is not None and self.failure_threshold <= 0:
            error += "Invalid configuration, failure_threshold must be greater than zero.\n"
        if self.namespace and not re.match(NAMESPACE_REGEX, self.namespace):
            error += "Invalid configuration, namespace must be a valid Kubernetes namespace. " \
                     "Regex for validation is " + NAMESPACE_REGEX + "\n"
        if self.scoring_timeout_ms is not None and self.scoring_timeout_ms <= 0:
            error += "Invalid configuration, scoring_timeout_ms must be greater than zero.\n"
        if self.replica_max_concurrent_requests is not None and self.replica_max_concurrent_requests <= 0:
            error += "Invalid configuration, replica_max_concurrent_requests must be greater than zero.\n"
        if self.max_request_wait_time is not None and self.max_request_wait_time <= 0:
            error += "Invalid configuration, max_request_wait_time must be greater than zero.\n"
        if self.num_replicas is not None and self.num_replicas <= 0:
            error += "Invalid configuration, num_replicas must be greater than zero.\n"
        if self.autoscale_enabled:
            if self.num_replicas:
                error += "Invalid configuration, autoscale enabled and num_replicas provided.\n"
            if self.autoscale_min_replicas is not None and self.autoscale_min_replicas <= 0:
                error += "Invalid configuration, autoscale_min_replicas must be greater than zero.\n"
            if self.autoscale_max_replicas is not None and self.autoscale_max_replicas <= 0:
                error += "Invalid configuration, autoscale_max_replicas must be greater than zero.\n"
            if self.autoscale_min_replicas and self.autoscale_max_replicas and \
                    self.autoscale_min_replicas > self.autoscale_max_replicas:
                error += "Invalid configuration, autoscale_min_replicas cannot be greater than " \
                         "autoscale_max_replicas.\n"
            if self.autoscale_refresh_seconds is not None and self.autoscale_refresh_seconds <= 0:
                error += "Invalid configuration, autoscale_refresh_seconds must be greater than zero.\n"
            if self.autoscale_target_utilization is not None and self.autoscale_target_utilization <= 0:
                error += "Invalid configuration, autoscale_target_utilization must be greater than zero.\n"
        else:
            # Only an explicit False demands num_replicas; None means "server default" (autoscale on).
            if self.autoscale_enabled is False and not self.num_replicas:
                error += "Invalid configuration, autoscale disabled but num_replicas not provided.\n"
            if self.autoscale_min_replicas:
                error += "Invalid configuration, autoscale_min_replicas provided without enabling autoscaling.\n"
            if self.autoscale_max_replicas:
                error += "Invalid configuration, autoscale_max_replicas provided without enabling autoscaling.\n"
            if self.autoscale_refresh_seconds:
                error += "Invalid configuration, autoscale_refresh_seconds provided without enabling autoscaling.\n"
            if self.autoscale_target_utilization:
                error += "Invalid configuration, autoscale_target_utilization provided without enabling autoscaling.\n"
        if self.token_auth_enabled and self.auth_enabled:
            error += "Invalid configuration, auth_enabled and token_auth_enabled cannot both be true.\n"
        if error:
            raise WebserviceException(error, logger=module_logger)

    def print_deploy_configuration(self) -> None:
        """Print e.g. ``CPU requirement: 2, GPU requirement: 1, Memory requirement: 4GB, Number of replica: 3``."""
        deploy_config = []
        if self.cpu_cores:
            deploy_config.append("CPU requirement: {}".format(self.cpu_cores))
        if self.gpu_cores:
            deploy_config.append("GPU requirement: {}".format(self.gpu_cores))
        if self.memory_gb:
            deploy_config.append("Memory requirement: {}GB".format(self.memory_gb))
        if self.num_replicas:
            deploy_config.append("Number of replica: {}".format(self.num_replicas))
        if len(deploy_config) > 0:
            print(", ".join(deploy_config))

    def _build_create_payload(self, name: str, environment_image_request: Any, deployment_target: Any = None,
                              overwrite: bool = False) -> dict[str, Any]:
        """The MMS service-create request body (``computeName`` is filled in by ``Model.deploy``)."""
        json_payload = copy.deepcopy(AKS_SERVICE_CREATE_PAYLOAD_TEMPLATE)
        base_payload = self._build_base_create_payload(name, environment_image_request)

        json_payload["numReplicas"] = self.num_replicas
        if self.collect_model_data:
            json_payload["dataCollection"]["storageEnabled"] = self.collect_model_data
        else:
            del json_payload["dataCollection"]
        if self.enable_app_insights is not None:
            json_payload["appInsightsEnabled"] = self.enable_app_insights
        else:
            del json_payload["appInsightsEnabled"]
        if self.blobfuse_enabled is not None:
            json_payload["storageInitEnabled"] = not self.blobfuse_enabled
        else:
            del json_payload["storageInitEnabled"]
        if self.autoscale_enabled is not None:
            json_payload["autoScaler"]["autoscaleEnabled"] = self.autoscale_enabled
            json_payload["autoScaler"]["minReplicas"] = self.autoscale_min_replicas
            json_payload["autoScaler"]["maxReplicas"] = self.autoscale_max_replicas
            json_payload["autoScaler"]["targetUtilization"] = self.autoscale_target_utilization
            json_payload["autoScaler"]["refreshPeriodInSeconds"] = self.autoscale_refresh_seconds
        else:
            del json_payload["autoScaler"]
        json_payload["containerResourceRequirements"]["cpu"] = self.cpu_cores
        json_payload["containerResourceRequirements"]["cpuLimit"] = self.cpu_cores_limit
        json_payload["containerResourceRequirements"]["memoryInGB"] = self.memory_gb
        json_payload["containerResourceRequirements"]["memoryInGBLimit"] = self.memory_gb_limit
        json_payload["containerResourceRequirements"]["gpu"] = self.gpu_cores
        json_payload["maxConcurrentRequestsPerContainer"] = self.replica_max_concurrent_requests
        json_payload["maxQueueWaitMs"] = self.max_request_wait_time
        json_payload["namespace"] = self.namespace
        json_payload["scoringTimeoutMs"] = self.scoring_timeout_ms
        if self.auth_enabled is not None:
            json_payload["authEnabled"] = self.auth_enabled
        else:
            del json_payload["authEnabled"]
        if self.token_auth_enabled is not None:
            json_payload["aadAuthEnabled"] = self.token_auth_enabled
        else:
            del json_payload["aadAuthEnabled"]
        json_payload["livenessProbeRequirements"]["periodSeconds"] = self.period_seconds
        json_payload["livenessProbeRequirements"]["initialDelaySeconds"] = self.initial_delay_seconds
        json_payload["livenessProbeRequirements"]["timeoutSeconds"] = self.timeout_seconds
        json_payload["livenessProbeRequirements"]["failureThreshold"] = self.failure_threshold
        json_payload["livenessProbeRequirements"]["successThreshold"] = self.success_threshold
        if overwrite:
            json_payload["overwrite"] = overwrite
        else:
            del json_payload["overwrite"]
        if deployment_target is not None:
            json_payload["computeName"] = deployment_target.name
        json_payload.update(base_payload)
        return json_payload


class AksEndpointDeploymentConfiguration(AksServiceDeploymentConfiguration):
    """Deployment settings of an AKS endpoint version (experimental in the SDK)."""

    def __init__(self, autoscale_enabled: Any, autoscale_min_replicas: Any, autoscale_max_replicas: Any,
                 autoscale_refresh_seconds: Any, autoscale_target_utilization: Any, collect_model_data: Any,
                 auth_enabled: Any, cpu_cores: Any, memory_gb: Any, enable_app_insights: Any,
                 scoring_timeout_ms: Any, replica_max_concurrent_requests: Any, max_request_wait_time: Any,
                 num_replicas: Any, primary_key: Any, secondary_key: Any, tags: Any, properties: Any,
                 description: Any, gpu_cores: Any, period_seconds: Any, initial_delay_seconds: Any,
                 timeout_seconds: Any, success_threshold: Any, failure_threshold: Any, namespace: Any,
                 token_auth_enabled: Any, version_name: Any, traffic_percentile: Any, compute_target_name: Any,
                 cpu_cores_limit: Any, memory_gb_limit: Any) -> None:
        # The SDK's @experimental decorator logs this on every construction.
        module_logger.warning(_EXPERIMENTAL_CLASS_WARNING.format(type(self).__name__))
        super().__init__(autoscale_enabled, autoscale_min_replicas, autoscale_max_replicas,
                         autoscale_refresh_seconds, autoscale_target_utilization, collect_model_data,
                         auth_enabled, cpu_cores, memory_gb, enable_app_insights, scoring_timeout_ms,
                         replica_max_concurrent_requests, max_request_wait_time, num_replicas, primary_key,
                         secondary_key, tags, properties, description, gpu_cores, period_seconds,
                         initial_delay_seconds, timeout_seconds, success_threshold, failure_threshold,
                         namespace, token_auth_enabled, compute_target_name, cpu_cores_limit, memory_gb_limit)
        self._webservice_type = AksEndpoint
        self.version_name = version_name
        self.traffic_percentile = traffic_percentile
        self.validate_endpoint_configuration()

    def validate_endpoint_configuration(self) -> None:
        """Check ``version_name`` (service-name rule) and ``traffic_percentile`` (0-100)."""
        error = ""
        if self.version_name:
            webservice_name_validation(self.version_name)
        if self.traffic_percentile and (self.traffic_percentile < 0 or self.traffic_percentile > 100):
            error += "Invalid configuration, traffic_percentile cannot be negative or greater than 100.\n"
        if error:
            raise WebserviceException(error, logger=module_logger)

    # [override]: the SDK's signature, without the deployment_target of AksServiceDeploymentConfiguration's.
    def _build_create_payload(self, name: str, environment_image_request: Any,  # type: ignore[override]
                              overwrite: bool = False) -> dict[str, Any]:
        json_payload = copy.deepcopy(AKS_ENDPOINT_CREATE_PAYLOAD_TEMPLATE)
        if self.version_name is None:
            self.version_name = name
        version_payload = super()._build_create_payload(self.version_name, environment_image_request)
        version_payload["trafficPercentile"] = self.traffic_percentile

        json_payload["name"] = name
        json_payload["description"] = self.description
        json_payload["kvTags"] = self.tags
        json_payload["properties"] = self.properties or {}
        if self.primary_key:
            json_payload["keys"]["primaryKey"] = self.primary_key
            json_payload["keys"]["secondaryKey"] = self.secondary_key
        json_payload["computeType"] = AksEndpoint._webservice_type
        if self.enable_app_insights is not None:
            json_payload["appInsightsEnabled"] = self.enable_app_insights
        else:
            del json_payload["appInsightsEnabled"]
        if self.namespace is not None:
            json_payload["namespace"] = self.namespace
        else:
            del json_payload["namespace"]
        if self.auth_enabled is not None:
            json_payload["authEnabled"] = self.auth_enabled
        else:
            del json_payload["authEnabled"]
        if self.token_auth_enabled is not None:
            json_payload["aadAuthEnabled"] = self.token_auth_enabled
        else:
            del json_payload["aadAuthEnabled"]
        if overwrite:
            json_payload["overwrite"] = overwrite
        else:
            del json_payload["overwrite"]
        json_payload["versions"] = {self.version_name: version_payload}
        return json_payload


# The SDK defines AksEndpoint in this module; ours lives beside it (aks_endpoint.py) and is importable from here.
from fake_azure.core.webservice.aks_endpoint import AksEndpoint  # noqa: E402 - aks_endpoint imports this module
