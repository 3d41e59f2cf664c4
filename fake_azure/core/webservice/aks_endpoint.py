"""Mirror of ``azureml.core.webservice.aks.AksEndpoint`` (importable from ``...webservice.aks`` too): versions
of an AKS service behind one scoring endpoint, each with a share of the traffic (controlled rollout).

The methods build the SDK's JSON patches (``op add /versions/<v>``, ``replace /versions/<v>/<field>``,
``remove /versions/<v>``) and send them to the local cloud's services API (docs/rest-services.md), which
deploys each version as a service of its own behind the endpoint's route and splits the traffic there.
"""
from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from fake_azure.exceptions import WebserviceException

from .aks import AksEndpointDeploymentConfiguration, AksServiceDeploymentConfiguration, AksWebservice
from .webservice import (
    AKS_ENDPOINT_TYPE,
    Webservice,
    _parse_time,
    _service_path,
    _swagger_uri,
    webservice_name_validation,
)

module_logger = logging.getLogger("fake_azure.core.webservice.aks")  # the SDK logs from its aks module


class AksEndpoint(AksWebservice):
    """Several AKS service versions behind one scoring endpoint (``computeType`` ``AKSENDPOINT``).

    ``versions`` maps each version's name to an ``AksWebservice`` (its ``traffic_percentile``,
    ``is_default`` and ``version_type``); the traffic no version is given goes to the default version.
    """

    class VersionType(Enum):
        """Whether a version is the control or a treatment of an A/B setup."""

        control = "Control"
        treatment = "Treatment"

    _expected_payload_keys = Webservice._expected_payload_keys + ["appInsightsEnabled", "authEnabled", "computeName",
                                                                  "scoringUri", "aadAuthEnabled"]
    _webservice_type = AKS_ENDPOINT_TYPE

    def _initialize(self, workspace, obj_dict):
        AksEndpoint._validate_get_payload(obj_dict)
        self.auth_enabled = obj_dict.get("authEnabled")
        self.compute_type = obj_dict.get("computeType")
        self.created_time = _parse_time(obj_dict.get("createdTime"))
        self.description = obj_dict.get("description")
        self.tags = obj_dict.get("kvTags")
        self.name = obj_dict.get("name")
        self.properties = obj_dict.get("properties")
        self.error = obj_dict.get("error")
        self.state = obj_dict.get("state")
        self.updated_time = _parse_time(obj_dict["updatedTime"]) if "updatedTime" in obj_dict else None
        self._auth = getattr(workspace, "_auth", None)
        self._mms_endpoint = (workspace._client.base_url + _service_path(workspace, self.name)
                              if hasattr(workspace, "_client") else None)
        self._operation_endpoint = None
        self.workspace = workspace
        self._session = None
        self.image = None
        self.enable_app_insights = obj_dict.get("appInsightsEnabled")
        self.compute_name = obj_dict.get("computeName")
        self.scoring_uri = obj_dict.get("scoringUri")
        self.token_auth_enabled = obj_dict.get("aadAuthEnabled")
        self.versions = {}
        for version_name, version_payload in (obj_dict.get("versions") or {}).items():
            version = super(Webservice, self).__new__(AksWebservice)
            version._initialize(workspace, version_payload)
            self.versions[version_name] = version
        self.deployment_status = obj_dict.get("deploymentStatus")
        self.namespace = obj_dict.get("namespace")
        self.swagger_uri = _swagger_uri(self.scoring_uri)
        self._refresh_token_time = None

    @staticmethod
    def deploy_configuration(  # type: ignore[override]  # the SDK's: an endpoint configuration, version_name...
                             autoscale_enabled: bool | None = None, autoscale_min_replicas: int | None = None,
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
                             token_auth_enabled: bool | None = None, version_name: str | None = None,
                             traffic_percentile: int | None = None, compute_target_name: str | None = None,
                             cpu_cores_limit: float | None = None,
                             memory_gb_limit: float | None = None) -> AksEndpointDeploymentConfiguration:
        """Create (and validate) a configuration for deploying an AKS endpoint and its first version."""
        return AksEndpointDeploymentConfiguration(autoscale_enabled, autoscale_min_replicas, autoscale_max_replicas,
                                                  autoscale_refresh_seconds, autoscale_target_utilization,
                                                  collect_model_data, auth_enabled, cpu_cores, memory_gb,
                                                  enable_app_insights, scoring_timeout_ms,
                                                  replica_max_concurrent_requests, max_request_wait_time,
                                                  num_replicas, primary_key, secondary_key, tags, properties,
                                                  description, gpu_cores, period_seconds, initial_delay_seconds,
                                                  timeout_seconds, success_threshold, failure_threshold, namespace,
                                                  token_auth_enabled, version_name, traffic_percentile,
                                                  compute_target_name, cpu_cores_limit, memory_gb_limit)

    def update(self, auth_enabled=None, token_auth_enabled=None, enable_app_insights=None, description=None,
               tags=None, properties=None):
        """Update the endpoint itself (auth, app insights, description, tags, properties); None leaves a value."""
        if auth_enabled is None and enable_app_insights is None and tags is None and properties is None \
                and not description and token_auth_enabled is None:
            raise WebserviceException("No parameters provided to update.", logger=module_logger)
        # As in azureml-core 1.61: two arguments short, so this raises the SDK's TypeError (docs/parity.md).
        self._validate_update(None, None, None, None, None, None, None, None, enable_app_insights, None, None,
                              None, None, tags, properties, description, None, None, None, None, None, None,
                              None, None, None, auth_enabled, token_auth_enabled, None, None)
        patch_list = []
        for path, value, present in (("/authEnabled", auth_enabled, auth_enabled is not None),
                                     ("/aadAuthEnabled", token_auth_enabled, token_auth_enabled is not None),
                                     ("/appInsightsEnabled", enable_app_insights, enable_app_insights is not None),
                                     ("/kvTags", tags, tags is not None)):
            if present:
                patch_list.append({"op": "replace", "path": path, "value": value})
        for key, value in (properties or {}).items():
            patch_list.append({"op": "add", "path": "/properties/{}".format(key), "value": value})
        if description:
            patch_list.append({"op": "replace", "path": "/description", "value": description})
        self._patch_endpoint_call(None, None, patch_list)

    def delete_version(self, version_name):
        """Delete one version of this endpoint (its replicas go; the rest keep serving)."""
        if version_name is None:
            raise WebserviceException("No name is provided to delete a version in an Endpoint {}".format(self.name),
                                      logger=module_logger)
        self._patch_endpoint_call(None, None, [{"op": "remove", "path": "/versions/{}".format(version_name)}])

    def create_version(self, version_name, autoscale_enabled=None, autoscale_min_replicas=None,
                       autoscale_max_replicas=None, autoscale_refresh_seconds=None, autoscale_target_utilization=None,
                       collect_model_data=None, cpu_cores=None, memory_gb=None,
                       scoring_timeout_ms=None, replica_max_concurrent_requests=None,
                       max_request_wait_time=None, num_replicas=None, tags=None, properties=None, description=None,
                       models=None, inference_config=None, gpu_cores=None, period_seconds=None,
                       initial_delay_seconds=None, timeout_seconds=None, success_threshold=None,
                       failure_threshold=None, traffic_percentile=None, is_default=None, is_control_version_type=None,
                       cpu_cores_limit=None, memory_gb_limit=None):
        """Add a version to this endpoint and deploy it; ``wait_for_deployment`` follows the deployment."""
        if version_name is None:
            raise WebserviceException("No name is provided to create a version in an Endpoint {}".format(self.name),
                                      logger=module_logger)
        self._validate_update(autoscale_enabled, autoscale_min_replicas, autoscale_max_replicas,
                              autoscale_refresh_seconds, autoscale_target_utilization, collect_model_data, cpu_cores,
                              memory_gb, None, scoring_timeout_ms, replica_max_concurrent_requests,
                              max_request_wait_time, num_replicas, tags, properties, description, models,
                              inference_config, gpu_cores, period_seconds, initial_delay_seconds, timeout_seconds,
                              success_threshold, failure_threshold, None, None, None,
                              version_name, traffic_percentile, cpu_cores_limit, memory_gb_limit)
        environment_image_request = self._image_request(version_name, models or [], inference_config)
        patch_list = []
        for existing_version_name in self.versions:
            if existing_version_name == version_name:
                continue
            if is_default:
                patch_list.append({"op": "replace", "path": "/versions/{}/isDefault".format(existing_version_name),
                                   "value": False})
            if is_control_version_type:
                patch_list.append({"op": "replace", "path": "/versions/{}/type".format(existing_version_name),
                                   "value": AksEndpoint.VersionType.treatment.value})
        version_config = AksServiceDeploymentConfiguration(
            autoscale_enabled, autoscale_min_replicas, autoscale_max_replicas, autoscale_refresh_seconds,
            autoscale_target_utilization, collect_model_data, None, cpu_cores, memory_gb, None, scoring_timeout_ms,
            replica_max_concurrent_requests, max_request_wait_time, num_replicas, None, None, tags, properties,
            description, gpu_cores, period_seconds, initial_delay_seconds, timeout_seconds, success_threshold,
            failure_threshold, None, None, None, cpu_cores_limit, memory_gb_limit)
        from ..compute import ComputeTarget

        deployment_target = ComputeTarget(self.workspace, self.compute_name)
        version_payload = version_config._build_create_payload(version_name, environment_image_request,
                                                               deployment_target)
        if traffic_percentile is not None:
            version_payload["trafficPercentile"] = traffic_percentile
        if is_default:
            version_payload["isDefault"] = True
        if is_control_version_type:
            version_payload["type"] = AksEndpoint.VersionType.control.value
        patch_list.append({"op": "add", "path": "/versions/{}".format(version_name), "value": version_payload})
        self._patch_endpoint_call(None, None, patch_list)

    def update_version(self, version_name, autoscale_enabled=None, autoscale_min_replicas=None,
                       autoscale_max_replicas=None, autoscale_refresh_seconds=None, autoscale_target_utilization=None,
                       collect_model_data=None, cpu_cores=None, memory_gb=None,
                       scoring_timeout_ms=None, replica_max_concurrent_requests=None,
                       max_request_wait_time=None, num_replicas=None, tags=None, properties=None, description=None,
                       models=None, inference_config=None, gpu_cores=None, period_seconds=None,
                       initial_delay_seconds=None, timeout_seconds=None, success_threshold=None,
                       failure_threshold=None, traffic_percentile=None, is_default=None, is_control_version_type=None,
                       cpu_cores_limit=None, memory_gb_limit=None):
        """Change one version (its traffic, default or control role, settings, models or code); None leaves a value."""
        if version_name is None:
            raise WebserviceException("No name is provided to update a version.", logger=module_logger)
        if autoscale_enabled is None and not autoscale_min_replicas and not autoscale_max_replicas \
                and not autoscale_refresh_seconds and not autoscale_target_utilization and collect_model_data is None \
                and not cpu_cores and not memory_gb and not gpu_cores \
                and not scoring_timeout_ms and not replica_max_concurrent_requests \
                and not max_request_wait_time and not num_replicas and tags is None and properties is None \
                and not description and not period_seconds and not initial_delay_seconds and not timeout_seconds \
                and models is None and inference_config is None and not failure_threshold and not success_threshold \
                and traffic_percentile is None and is_default is None and is_control_version_type is None \
                and cpu_cores_limit is None and memory_gb_limit is None:
            raise WebserviceException("No parameters provided to update a version.", logger=module_logger)
        patch_list = []
        for existing_version_name in self.versions:
            mine = existing_version_name == version_name
            if is_default:
                patch_list.append({"op": "replace", "path": "/versions/{}/isDefault".format(existing_version_name),
                                   "value": mine})
            if is_control_version_type:
                version_type = AksEndpoint.VersionType.control if mine else AksEndpoint.VersionType.treatment
                patch_list.append({"op": "replace", "path": "/versions/{}/type".format(existing_version_name),
                                   "value": version_type.value})
        if inference_config:
            if models is None:
                models = self.versions[version_name].models
            patch_list.append({"op": "replace", "path": "/versions/{}/environmentImageRequest".format(version_name),
                               "value": self._image_request(version_name, models, inference_config)})
        elif models is not None:
            patch_list.append({"op": "replace", "path": "/versions/{}/environmentImageRequest".format(version_name),
                               "value": self._image_request(version_name, models, None)})
        # The SDK sends these when truthy (``is not None`` for the flags and the traffic percentile).
        for field, value, present in (
                ("autoScaler/autoscaleEnabled", autoscale_enabled, autoscale_enabled is not None),
                ("autoScaler/minReplicas", autoscale_min_replicas, bool(autoscale_min_replicas)),
                ("autoScaler/maxReplicas", autoscale_max_replicas, bool(autoscale_max_replicas)),
                ("autoScaler/refreshPeriodInSeconds", autoscale_refresh_seconds, bool(autoscale_refresh_seconds)),
                ("autoScaler/targetUtilization", autoscale_target_utilization, bool(autoscale_target_utilization)),
                ("dataCollection/storageEnabled", collect_model_data, collect_model_data is not None),
                ("containerResourceRequirements/cpu", cpu_cores, bool(cpu_cores)),
                ("containerResourceRequirements/cpuLimit", cpu_cores_limit, bool(cpu_cores_limit)),
                ("containerResourceRequirements/memoryInGB", memory_gb, bool(memory_gb)),
                ("containerResourceRequirements/memoryInGBLimit", memory_gb_limit, bool(memory_gb_limit)),
                ("containerResourceRequirements/gpu", gpu_cores, bool(gpu_cores)),
                ("scoringTimeoutMs", scoring_timeout_ms, bool(scoring_timeout_ms)),
                ("maxConcurrentRequestsPerContainer", replica_max_concurrent_requests,
                 bool(replica_max_concurrent_requests)),
                ("maxQueueWaitMs", max_request_wait_time, bool(max_request_wait_time)),
                ("numReplicas", num_replicas, bool(num_replicas)),
                ("livenessProbeRequirements/periodSeconds", period_seconds, bool(period_seconds)),
                ("livenessProbeRequirements/initialDelaySeconds", initial_delay_seconds, bool(initial_delay_seconds)),
                ("livenessProbeRequirements/timeoutSeconds", timeout_seconds, bool(timeout_seconds)),
                ("livenessProbeRequirements/successThreshold", success_threshold, bool(success_threshold)),
                ("livenessProbeRequirements/failureThreshold", failure_threshold, bool(failure_threshold)),
                ("trafficPercentile", traffic_percentile, traffic_percentile is not None),
                ("description", description, bool(description)),
                ("tags", tags, bool(tags))):
            if present:
                patch_list.append({"op": "replace", "path": "/versions/{}/{}".format(version_name, field),
                                   "value": value})
        self._patch_endpoint_call(None, None, patch_list)

    def _image_request(self, version_name: str, models: list, inference_config: Any) -> dict[str, Any]:
        """The version's environment image request (no-code when there is no inference config), as the SDK's."""
        from .. import _deploy

        if inference_config is None:
            return _deploy.no_code_image_request(models)
        inference_config, has_env = inference_config._convert_parts(version_name)
        if not has_env:
            raise WebserviceException("No Environment information is provided.", logger=module_logger)
        return _deploy.build_environment_image_request(self.workspace, version_name,
                                                       [model.id for model in models], inference_config)

    def _patch_endpoint_call(self, headers, params, patch_list):
        """PATCH the endpoint; a 202 leaves its operation for ``wait_for_deployment``."""
        self._patch(patch_list)

    def _validate_update(self, autoscale_enabled, autoscale_min_replicas, autoscale_max_replicas,
                         autoscale_refresh_seconds, autoscale_target_utilization, collect_model_data, cpu_cores,
                         memory_gb, enable_app_insights, scoring_timeout_ms, replica_max_concurrent_requests,
                         max_request_wait_time, num_replicas, tags, properties, description, models,
                         inference_config, gpu_cores, period_seconds, initial_delay_seconds, timeout_seconds,
                         success_threshold, failure_threshold, namespace, auth_enabled, token_auth_enabled,
                         version_name, traffic_percentile, cpu_cores_limit, memory_gb_limit):
        super()._validate_update(None, autoscale_enabled, autoscale_min_replicas, autoscale_max_replicas,
                                 autoscale_refresh_seconds, autoscale_target_utilization, collect_model_data,
                                 cpu_cores, memory_gb, enable_app_insights, scoring_timeout_ms,
                                 replica_max_concurrent_requests, max_request_wait_time, num_replicas, tags,
                                 properties, description, models, inference_config, gpu_cores, period_seconds,
                                 initial_delay_seconds, timeout_seconds, success_threshold, failure_threshold,
                                 namespace, auth_enabled, token_auth_enabled, cpu_cores_limit, memory_gb_limit)
        if version_name is not None:
            webservice_name_validation(version_name)
        error = ""
        if traffic_percentile and (traffic_percentile < 0 or traffic_percentile > 100):
            error += "Invalid configuration, traffic_percentile cannot be negative or greater than 100.\n"
        if error:
            raise WebserviceException(error, logger=module_logger)

    def serialize(self):
        """This endpoint and its versions as the SDK's JSON-serializable dict."""
        created_time = self.created_time.isoformat() if self.created_time else None
        updated_time = self.updated_time.isoformat() if self.updated_time else None
        return {"name": self.name, "description": self.description, "tags": self.tags,
                "properties": self.properties, "state": self.state, "createdTime": created_time,
                "updatedTime": updated_time, "error": self.error, "computeName": self.compute_name,
                "computeType": self.compute_type, "workspaceName": self.workspace.name,
                "deploymentStatus": self.deployment_status, "scoringUri": self.scoring_uri,
                "authEnabled": self.auth_enabled, "aadAuthEnabled": self.token_auth_enabled,
                "appInsightsEnabled": self.enable_app_insights,
                "versions": {name: version.serialize() for name, version in self.versions.items()}}
