"""Mirror of ``azureml.core.webservice.local``: ``LocalWebservice`` and its deployment configuration.

The SDK builds a Docker image and runs one container on the user's machine. The local cloud runs
the same deploy engine as for AKS/ACI: a service with ``computeType`` ``Local`` (docs/rest-services.md)
is one replica process serving ``azmlinfsrv`` straight on ``127.0.0.1:<port>``, without gateway
or auth. The object keeps the SDK's lower-case states, ``_in_state`` guards and messages; its
lifecycle calls go to the daemon's services API through ``workspace._client``.
"""
from __future__ import annotations

import datetime
import logging
import os
import socket
import time
import types
from functools import wraps
from typing import Any

from fake_azure.core.webservice.webservice import (
    LOCAL_WEBSERVICE_TYPE,
    WEBSERVICE_SWAGGER_PATH,
    Webservice,
    WebserviceDeploymentConfiguration,
    _environment_from_payload,
    _models_from_payload,
    _operation_path,
    _service_path,
    _services_path,
)
from fake_azure.exceptions import WebserviceException

module_logger = logging.getLogger(__name__)

WEBSERVICE_SCORE_PATH = "/score"
MAX_HEALTH_CHECK_TRIES = 30
HEALTH_CHECK_INTERVAL_SECONDS = 1

_CRASHED = "Error: Container has crashed. Did your init method fail?"
_TIMED_OUT = "Error: Connection to container has timed out. Did your init method fail?"
_PORT_IN_USE = "Docker container start has failed, the port you are attempting to use is already in use:\n{}"
# azureml._model_management._util.build_docker_image's error: the SDK's local image build failed.
_IMAGE_BUILD_FAILED = "Error: docker image build has failed: {}"


def _in_state(states):
    states = states if isinstance(states, (list, tuple)) else [states]

    def decorator(func):
        @wraps(func)
        def decorated(self, *args, **kwargs):
            if self.state not in states:
                raise WebserviceException("Cannot call {}() when service is {}.".format(func.__name__, self.state),
                                          logger=module_logger)
            return func(self, *args, **kwargs)
        return decorated
    return decorator


def _local_state(cloud_state: str | None) -> str:
    """The cloud record's state as the SDK's lower-case local state."""
    if cloud_state == "Healthy":
        return LocalWebservice.STATE_RUNNING
    if cloud_state == "Transitioning":
        return LocalWebservice.STATE_DEPLOYING
    if cloud_state in ("Failed", "Unhealthy", "Unschedulable"):
        return LocalWebservice.STATE_FAILED
    return LocalWebservice.STATE_UNKNOWN


def _port_in_use(port: int) -> bool:
    """Whether something holds ``port`` on 127.0.0.1 (a listener or a bound socket).

    SO_REUSEADDR, as Docker's port proxy and the replica's own bind use: connections of a service just
    deleted linger in TIME_WAIT for a minute, and they must not make its port look taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class LocalWebservice(Webservice):
    """A model served from a local replica (``computeType`` ``Local``); states are lower-case."""

    STATE_DELETED = "deleted"
    STATE_DEPLOYING = "deploying"
    STATE_FAILED = "failed"
    STATE_RUNNING = "running"
    STATE_UNKNOWN = "unknown"

    _webservice_type = LOCAL_WEBSERVICE_TYPE

    # As in the SDK: bypass Webservice's cloud lookup in __new__.
    def __new__(cls, *args, **kwargs):
        return super(Webservice, cls).__new__(cls)

    def __init__(self, workspace, name, must_exist=True):
        self.name = name
        self.compute_type = LOCAL_WEBSERVICE_TYPE
        self.workspace = workspace
        self.error = None
        self.state = None
        self.image_id = None
        self.tags = None
        self.properties = None
        self.created_time = datetime.datetime.now()
        self.updated_time = datetime.datetime.now()
        self._image_config = None
        self._inference_config = None
        self._operation_endpoint = None
        self.update_deployment_state(must_exist=must_exist)

    def __repr__(self):
        return super().__repr__()

    # --- state ----------------------------------------------------------------------------------------
    def _get_body(self) -> dict[str, Any] | None:
        if not self.workspace or not self.name:
            return None
        response = self.workspace._client.request("GET", _service_path(self.workspace, self.name), "webservice",
                                                  ok=(200, 404))
        if response.status_code == 404:
            return None
        body = response.json()
        return body if body.get("computeType") == LOCAL_WEBSERVICE_TYPE else None

    def _load(self, body: dict[str, Any] | None) -> None:
        self.updated_time = datetime.datetime.now()
        if body is None:
            self.state = LocalWebservice.STATE_UNKNOWN
            self._deployable = False
            return
        self.state = _local_state(body.get("state"))
        self.error = body.get("error")
        self.tags = body.get("kvTags")
        self.properties = body.get("properties")
        self._port = body.get("port")
        self._base_url = LocalWebservice._construct_base_url(self._port)
        self._body = body
        self._model_ids = [m["id"] for m in body.get("models") or []]
        self._local_source = body.get("localSource")
        self._environment_image_request = body.get("environmentImageRequest")
        self._deployment_config = LocalWebserviceDeploymentConfiguration(self._port)
        self._deployable = True

    def update_deployment_state(self, must_exist=False):
        """Refresh this object from the local service's record (``must_exist``: raise if there is none)."""
        body = self._get_body()
        if body is None and must_exist:
            raise WebserviceException("WebserviceNotFound: No local container with name {}".format(self.name),
                                      logger=module_logger)
        self._load(body)

    # --- properties -----------------------------------------------------------------------------------
    @property
    def port(self):
        """The local port the service listens on."""
        return getattr(self, "_port", None)

    @property
    def scoring_uri(self):
        """``http://localhost:<port>/score``."""
        if getattr(self, "_base_url", None):
            return "{}/{}".format(self._base_url.rstrip("/"), WEBSERVICE_SCORE_PATH.lstrip("/"))
        return None

    @property
    def swagger_uri(self):
        """``http://localhost:<port>/swagger.json``."""
        if getattr(self, "_base_url", None):
            return self._base_url + WEBSERVICE_SWAGGER_PATH
        return None

    @property
    def models(self):
        """The registered models this service serves."""
        return _models_from_payload(self.workspace, (getattr(self, "_body", None) or {}).get("models"))

    @property
    def environment(self):
        """The service's Environment."""
        body = getattr(self, "_body", None)
        return _environment_from_payload(body) if body else None

    # --- lifecycle ------------------------------------------------------------------------------------
    @staticmethod
    def deploy_configuration(port=None):
        """Create a local deployment configuration; ``port`` None picks a free host port."""
        return LocalWebserviceDeploymentConfiguration(port)

    @staticmethod
    def _deploy(workspace, name, models, image_config=None, deployment_config=None, wait=False,
                inference_config=None):
        from fake_azure.core.inference_config import InferenceConfig

        if image_config is not None:
            raise WebserviceException("Image-based deployment is not supported by the local cloud; use "
                                      "Model.deploy with an InferenceConfig.", logger=module_logger)
        if not deployment_config:
            deployment_config = LocalWebservice.deploy_configuration()
        elif not isinstance(deployment_config, LocalWebserviceDeploymentConfiguration):
            raise WebserviceException("Error, provided deployment configuration must be of type "
                                      "LocalWebserviceDeploymentConfiguration in order to deploy a local service.",
                                      logger=module_logger)
        if inference_config and not isinstance(inference_config, InferenceConfig):
            raise WebserviceException("Error, provided inference configuration must be of type InferenceConfig "
                                      "in order to deploy a local service.", logger=module_logger)
        service = LocalWebservice(workspace, name, must_exist=False)
        service.update(models=models, inference_config=inference_config, deployment_config=deployment_config,
                       wait=wait)
        return service

    @_in_state([STATE_DEPLOYING, STATE_FAILED, STATE_RUNNING, STATE_UNKNOWN])
    def update(self, models=None, image_config=None, deployment_config=None, wait=False, inference_config=None):
        """Redeploy with the given changes (None keeps a setting); uploads the entry script/source again."""
        from fake_azure.core import _deploy
        from fake_azure.core.inference_config import InferenceConfig

        if image_config is not None:
            raise WebserviceException("Image-based deployment is not supported by the local cloud; use an "
                                      "InferenceConfig.", logger=module_logger)
        if deployment_config and not isinstance(deployment_config, LocalWebserviceDeploymentConfiguration):
            raise WebserviceException("Error, provided deployment configuration must be of type "
                                      "LocalWebserviceDeploymentConfiguration in order to update a local service.",
                                      logger=module_logger)
        if inference_config is not None and not isinstance(inference_config, InferenceConfig):
            raise WebserviceException("Error, provided inference configuration must be of type InferenceConfig "
                                      "in order to update a local service.", logger=module_logger)

        model_ids = getattr(self, "_model_ids", None)
        if models is not None:
            model_ids = [LocalWebservice._model_id(model) for model in models]
        if deployment_config is not None:
            self._deployment_config = deployment_config
        if inference_config is not None:
            inference_config, use_env_path = inference_config._convert_parts(self.name)
            if not use_env_path:
                raise WebserviceException("This inference configuration needs the retired Image-based deployment, "
                                          "which the local cloud does not support. Use an Environment instead.",
                                          logger=module_logger)
            request = _deploy.build_environment_image_request(self.workspace, self.name, model_ids or [],
                                                              inference_config)
            local_source = {"sourceDirectory": os.path.abspath(inference_config.source_directory)
                            if inference_config.source_directory else None,
                            "entryScript": inference_config.entry_script if inference_config.source_directory
                            else os.path.abspath(inference_config.entry_script)}
            self._inference_config = inference_config
        elif models is not None and not getattr(self, "_local_source", None):
            # No-code: as the SDK's Model.package(models) without an InferenceConfig, the service brings the
            # environment and the entry script; the SDK's checks (one model, a supported framework) first.
            request, local_source = _deploy.no_code_image_request(models), None
        elif getattr(self, "_environment_image_request", None) and getattr(self, "_local_source", None):
            request = self._reuploaded_request(model_ids)
            local_source = self._local_source
        elif _is_no_code(getattr(self, "_environment_image_request", None)):
            request, local_source = {"modelIds": list(model_ids or [])}, None
        else:
            raise WebserviceException("The LocalWebservice is not deployable (state = {}): provide an "
                                      "inference_config.".format(self.state), logger=module_logger)
        payload = self._deployment_config._build_create_payload(self.name, request)
        payload["localSource"] = local_source
        self._create(payload)
        if wait:
            self.wait_for_deployment()

    @_in_state([STATE_DEPLOYING, STATE_FAILED, STATE_RUNNING])
    def reload(self, wait=False):
        """Copy the entry script/source directory again from disk and restart the service (same port)."""
        request = self._reuploaded_request(self._model_ids)
        payload = LocalWebserviceDeploymentConfiguration(self._port)._build_create_payload(self.name, request)
        payload["localSource"] = self._local_source
        self._create(payload)
        if wait:
            self.wait_for_deployment()

    def _reuploaded_request(self, model_ids) -> dict[str, Any]:
        from fake_azure.core import _deploy

        if _is_no_code(self._environment_image_request):
            return {"modelIds": list(model_ids or [])}  # no code of the user's to copy again
        source = self._local_source or {}
        if not source.get("entryScript"):
            raise WebserviceException("The LocalWebservice does not know where its code is; redeploy it with "
                                      "Model.deploy.", logger=module_logger)
        config = types.SimpleNamespace(source_directory=source.get("sourceDirectory"),
                                       entry_script=source["entryScript"])
        request = dict(self._environment_image_request or {})  # update() calls this only when it is set
        request["assets"] = [{"id": _deploy.upload_source_asset(self.workspace, config)}]
        request["modelIds"] = list(model_ids or [])
        return request

    @staticmethod
    def _model_id(model) -> str:
        if isinstance(model, str):
            if os.path.exists(model):
                raise WebserviceException("Unregistered local model paths are not supported by the local cloud: "
                                          "register the model first (Model.register).", logger=module_logger)
            return model
        return model.id

    def _create(self, payload: dict[str, Any]) -> None:
        """POST the service (replacing a local one of that name, as the SDK replaces its container)."""
        client = self.workspace._client
        response = client.request("GET", _service_path(self.workspace, self.name), "webservice", ok=(200, 404))
        existing = response.json() if response.status_code == 200 else None
        if existing is not None and existing.get("computeType") != LOCAL_WEBSERVICE_TYPE:
            raise WebserviceException("A {} service named {} already exists in the workspace; local and cloud "
                                      "services share one name space in the local cloud: choose another name."
                                      .format(existing.get("computeType"), self.name), logger=module_logger)
        port = payload.get("port")
        if port and not (existing is not None and existing.get("port") == port) and _port_in_use(port):
            raise WebserviceException(_PORT_IN_USE.format("port {} is already in use on 127.0.0.1".format(port)),
                                      logger=module_logger)
        response = client.request("POST", _services_path(self.workspace), "webservice.create", ok=(200, 201, 202),
                                  params={"overwrite": "true"}, json=payload)
        if "Operation-Location" not in response.headers:
            raise WebserviceException("Missing response header key: Operation-Location", response.status_code,
                                      logger=module_logger)
        self._load(response.json())
        self._operation_endpoint = _operation_path(self.workspace, response.headers["Operation-Location"])
        self.state = LocalWebservice.STATE_DEPLOYING

    @_in_state([STATE_DEPLOYING, STATE_RUNNING])
    def wait_for_deployment(self, show_output=False):
        """Wait until the service answers on its port (state running) or has failed (raises)."""
        print("Checking container health...")
        try:
            body = self._wait_for_replica()
            if body is None:
                raise WebserviceException(_CRASHED, logger=module_logger)
            self._load(body)
            if self.state != LocalWebservice.STATE_RUNNING:
                error = body.get("error") or {}
                if error.get("code") == "PortInUse":
                    raise WebserviceException(error["message"], logger=module_logger)
                if error.get("code") == "EnvironmentBuildFailed":
                    # The SDK streams the image build's output, then raises with its error: no
                    # container ever ran, so none crashed.
                    print(self._logs(5000))
                    raise WebserviceException(_IMAGE_BUILD_FAILED.format(error.get("message", "")),
                                              logger=module_logger)
                self._print_logs()
                raise WebserviceException(_CRASHED, logger=module_logger)
            self._health_check()
            self.state = LocalWebservice.STATE_RUNNING
            print("Local webservice is {} at {}".format(self.state, self._base_url))
        except Exception:
            self.state = LocalWebservice.STATE_FAILED
            raise

    def _wait_for_replica(self) -> dict[str, Any] | None:
        client = self.workspace._client
        if self._operation_endpoint:
            while True:
                content = client.json("GET", self._operation_endpoint, "webservice.operation",
                                      params={"waitSeconds": 1})
                if content["state"] in ("Succeeded", "Failed", "Cancelled", "TimedOut"):
                    break
            self._operation_endpoint = None
            return self._get_body()
        while True:
            body = self._get_body()
            if body is None or body.get("state") != "Transitioning":
                return body
            time.sleep(self.workspace._settings.poll_interval or 0.2)

    def _health_check(self) -> None:
        import requests

        session = requests.Session()
        session.trust_env = False
        url = "http://127.0.0.1:{}/".format(self._port)
        for _ in range(MAX_HEALTH_CHECK_TRIES):
            try:
                result = session.get(url, timeout=5)
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(HEALTH_CHECK_INTERVAL_SECONDS)
                continue
            if result.status_code == 200:
                return
            time.sleep(HEALTH_CHECK_INTERVAL_SECONDS)
        self._print_logs()
        raise WebserviceException(_TIMED_OUT, logger=module_logger)

    def _print_logs(self) -> None:
        try:
            logs = self._logs(5000)
        except WebserviceException:
            logs = ""
        print("\nContainer Logs:")
        print(logs)

    def _logs(self, num_lines: int) -> str:
        content = self.workspace._client.json("GET", _service_path(self.workspace, self.name) + "/logs",
                                              "webservice", params={"tail": num_lines, "init": "false"})
        return content.get("content", "")

    @_in_state([STATE_DEPLOYING, STATE_FAILED, STATE_RUNNING])
    def get_logs(self, num_lines=5000, raw=False):
        """The service's output (``init()`` prints, server log)."""
        return self._logs(num_lines)

    @_in_state([STATE_DEPLOYING, STATE_RUNNING])
    def run(self, input_data):
        """POST ``input_data`` to ``scoring_uri``; the parsed JSON answer."""
        import requests

        if self.state == LocalWebservice.STATE_DEPLOYING:
            self.wait_for_deployment()
        session = requests.Session()
        session.trust_env = False
        try:
            result = session.post(self.scoring_uri, headers={"Content-Type": "application/json"}, data=input_data)
        except requests.ConnectionError:
            raise WebserviceException("Error: Scoring was unsuccessful. Unable to reach the requested host.",
                                      logger=module_logger) from None
        if result.status_code == 200:
            return result.json()
        raise WebserviceException("Error: Scoring was unsuccessful.", logger=module_logger)

    @_in_state([STATE_DEPLOYING, STATE_FAILED, STATE_RUNNING])
    def delete(self, delete_cache=True, delete_image=False, delete_volume=True):
        """Stop and remove the service; returns once it is gone (state ``deleted``)."""
        client = self.workspace._client
        response = client.request("DELETE", _service_path(self.workspace, self.name), "webservice",
                                  ok=(200, 202, 204))
        if response.status_code == 202 and "Operation-Location" in response.headers:
            endpoint = _operation_path(self.workspace, response.headers["Operation-Location"])
            while client.json("GET", endpoint, "webservice.operation",
                              params={"waitSeconds": 1})["state"] not in ("Succeeded", "Failed", "Cancelled"):
                pass
        self._operation_endpoint = None
        self.state = LocalWebservice.STATE_DELETED

    def deploy_to_cloud(self, name=None, deployment_config=None, deployment_target=None):
        """Deploy the same models, code and environment as a cloud service (``Model.deploy``)."""
        from fake_azure.core.inference_config import InferenceConfig
        from fake_azure.core.model import Model

        if not getattr(self, "_deployable", False):
            raise WebserviceException("The LocalWebservice is not deployable (state = {}). Recreate it, or use "
                                      "the Model.deploy() method directly.".format(self.state),
                                      logger=module_logger)
        inference_config = self._inference_config
        if inference_config is None and _is_no_code(self._environment_image_request):
            pass  # a no-code service deploys as one to the cloud too
        elif inference_config is None:
            source = self._local_source or {}
            inference_config = InferenceConfig(entry_script=source.get("entryScript"),
                                               source_directory=source.get("sourceDirectory"),
                                               environment=self.environment)
        return Model.deploy(workspace=self.workspace, name=name or self.name, models=self.models,
                            inference_config=inference_config, deployment_config=deployment_config,
                            deployment_target=deployment_target)

    @staticmethod
    def list(workspace, model_name=None, model_id=None, all=None):
        """The workspace's local services (only running ones unless ``all``)."""
        params: dict[str, Any] = {"computeType": LOCAL_WEBSERVICE_TYPE}
        if model_name:
            params["modelName"] = model_name
        if model_id:
            params["modelId"] = model_id
        payload = workspace._client.json("GET", _services_path(workspace), "webservice", params=params)
        services = []
        for body in payload.get("value", []):
            service = LocalWebservice.__new__(LocalWebservice)
            LocalWebservice._from_body(service, workspace, body)
            if all or service.state == LocalWebservice.STATE_RUNNING:
                services.append(service)
        return services

    @staticmethod
    def _from_body(service, workspace, body):
        service.name = body["name"]
        service.compute_type = LOCAL_WEBSERVICE_TYPE
        service.workspace = workspace
        service.error = None
        service.image_id = None
        service.created_time = datetime.datetime.now()
        service._image_config = None
        service._inference_config = None
        service._operation_endpoint = None
        service._load(body)

    def serialize(self):
        """This service as the SDK's JSON-serializable dict."""
        created_time = self.created_time.isoformat() if self.created_time else None
        updated_time = self.updated_time.isoformat() if self.updated_time else None
        return {"name": self.name, "tags": self.tags, "properties": self.properties, "state": self.state,
                "createdTime": created_time, "updatedTime": updated_time, "error": self.error,
                "computeType": self.compute_type, "workspaceName": self.workspace.name, "imageId": self.image_id,
                "scoringUri": self.scoring_uri, "swaggerUri": self.swagger_uri, "port": self.port}

    @classmethod
    def deserialize(cls, workspace, webservice_payload):
        """Not supported for local services."""
        raise NotImplementedError("Local web services cannot be deserialized.")

    def get_keys(self):
        """Not supported: local services have no auth."""
        raise NotImplementedError("Local web services do not support auth keys.")

    def get_token(self):
        """Not supported: local services have no auth."""
        raise NotImplementedError("Local web services do not support Token Authentication.")

    def regen_key(self, key):
        """Not supported: local services have no auth."""
        raise NotImplementedError("Local web services do not support auth keys.")

    @staticmethod
    def _construct_base_url(port):
        return "http://localhost:{}".format(port) if port else None


class LocalWebserviceDeploymentConfiguration(WebserviceDeploymentConfiguration):
    """Deployment settings of a local service; create it with ``LocalWebservice.deploy_configuration``."""

    _webservice_type = LocalWebservice

    def __init__(self, port=None):
        super().__init__(LocalWebservice)
        self.port = port
        self.validate_configuration()

    def validate_configuration(self):
        """Raise ``WebserviceException`` unless ``port`` is falsy or an int in [1, 65535]."""
        if self.port and not (isinstance(self.port, int) and 1 <= self.port <= 65535):
            raise WebserviceException("Invalid configuration, port must be an integer in range [1, 65535]",
                                      logger=module_logger)

    def print_deploy_configuration(self):
        """Nothing to print for local deployments (as in the SDK)."""

    def _build_create_payload(self, name, environment_image_request, overwrite=False):
        """The create request of docs/rest-services.md: ``computeType`` Local, one replica on ``port``."""
        json_payload = self._build_base_create_payload(name, environment_image_request)
        json_payload["numReplicas"] = 1
        json_payload["port"] = self.port or 0
        return json_payload


def _is_no_code(request: Any) -> bool:
    """A no-code service's environment image request: model ids, no entry script."""
    return request is not None and not request.get("driverProgram") and not request.get("assets")
