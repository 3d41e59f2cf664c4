"""``Model.deploy`` for the local cloud: the port of the SDK's environment-based deploy path.

``deploy`` follows ``azureml.core.model.Model.deploy`` (1.61) step by step: the FutureWarning, the
service-name check, ``print_configuration``, the local branch, the no-code branch (``{"modelIds": [id]}``:
the service brings the environment and entry script), the conversion of the
inference config to an Environment, the upload of the entry script or source directory
(``POST {ws}/assets``), the environment image request and the create payload of the deployment
configuration, then ``Webservice._deploy_webservice`` (``POST {ws}/services``). It returns at once;
``wait_for_deployment`` polls the operation. The request body follows ``docs/rest-services.md``.
"""
from __future__ import annotations

import logging
import os
import warnings
from typing import Any

from ..exceptions import UserErrorException, WebserviceException
from ._model_files import MultipartUpload

module_logger = logging.getLogger(__name__)

_FUTURE_WARNING = ("azureml.core.model:\nTo leverage new model deployment capabilities, "
                   "AzureML recommends using CLI/SDK v2 to deploy models as online endpoint, \n"
                   "please refer to respective documentations \n"
                   "https://docs.microsoft.com/azure/machine-learning/"
                   "how-to-deploy-managed-online-endpoints /\n"
                   "https://docs.microsoft.com/azure/machine-learning/"
                   "how-to-attach-kubernetes-anywhere \n"
                   "For more information on migration, see https://aka.ms/acimoemigration \n"
                   "To disable CLI/SDK v1 deprecation warning "
                   "set AZUREML_LOG_DEPRECATION_WARNING_ENABLED to 'False'")


def deprecation_warning_enabled() -> bool:
    """``azureml.core._AZUREML_LOG_DEPRECATION_WARNING_ENABLED``: off only for the exact string 'False'."""
    value = os.environ.get("AZUREML_LOG_DEPRECATION_WARNING_ENABLED", True)
    return value != "False" and bool(value)


def deploy(workspace: Any, name: str, models: list, inference_config: Any = None, deployment_config: Any = None,
           deployment_target: Any = None, overwrite: bool = False, show_output: bool = False,
           stacklevel: int = 3) -> Any:
    from .webservice.local import LocalWebserviceDeploymentConfiguration
    from .webservice.webservice import IOT_WEBSERVICE_TYPE, webservice_name_validation

    if deprecation_warning_enabled():
        # The SDK's text starts with its module's name; user code imports it under that name.
        warnings.warn(_FUTURE_WARNING, FutureWarning, stacklevel=stacklevel)

    webservice_name_validation(name)

    if show_output:
        print_configuration(models, inference_config, deployment_config, deployment_target)

    if deployment_config and isinstance(deployment_config, LocalWebserviceDeploymentConfiguration):
        return _deploy_local(workspace, name, models, inference_config, deployment_config)

    if inference_config is None:
        if deployment_config and deployment_config._webservice_type._webservice_type == IOT_WEBSERVICE_TYPE:
            raise WebserviceException("IoT Webservices must be deployed with an InferenceConfig.",
                                      logger=module_logger)
        # No-code deploy: the service supplies the environment and the entry script (emulator/deploy/no_code.py).
        return _deploy_with_environment_image_request(workspace, name, no_code_image_request(models),
                                                      deployment_config, deployment_target, overwrite, show_output)

    inference_config, use_env_path = inference_config._convert_parts(name)
    if not use_env_path:
        raise WebserviceException("This inference configuration needs the retired Image-based deployment (e.g. "
                                  "runtime 'spark-py', extra_docker_file_steps or cuda_version 9.1), which the local "
                                  "cloud does not support. Use an Environment instead.", logger=module_logger)

    environment_image_request = build_environment_image_request(
        workspace, name, [model.id for model in models], inference_config, show_output)
    return _deploy_with_environment_image_request(workspace, name, environment_image_request, deployment_config,
                                                  deployment_target, overwrite, show_output)


def _deploy_local(workspace: Any, name: str, models: list, inference_config: Any, deployment_config: Any) -> Any:
    """The SDK's ``LocalWebservice._deploy(..., wait=False)``: returns at once, state 'deploying'.

    No overwrite semantics: a local service of that name is replaced, as the SDK replaces its container.
    """
    from .webservice.local import LocalWebservice

    if inference_config is None:
        _validate_no_code(models)  # the SDK's Model.package(models) checks them before anything is built
    return LocalWebservice._deploy(workspace, name, models, None, deployment_config, False, inference_config)


def no_code_image_request(models: list) -> dict[str, Any]:
    """The SDK's ``build_and_validate_no_code_environment_image_request``: the model ids alone, once checked."""
    _validate_no_code(models)
    return {"modelIds": [models[0].id]}


def _validate_no_code(models: list) -> None:
    """The SDK's ``build_and_validate_no_code_environment_image_request`` checks."""
    from .model import Model

    if len(models) != 1:
        raise UserErrorException("You must provide an InferenceConfig when deploying zero or multiple models.")
    if models[0].model_framework not in Model._SUPPORTED_FRAMEWORKS_FOR_NO_CODE_DEPLOY:
        raise UserErrorException("You must provide an InferenceConfig when deploying a model with model_framework "
                                 "set to {}. Default environments are only provided for these frameworks: {}."
                                 .format(models[0].model_framework, Model._SUPPORTED_FRAMEWORKS_FOR_NO_CODE_DEPLOY))


def print_configuration(models: list, inference_config: Any, deployment_config: Any,
                        deployment_target: Any) -> None:
    """Port of ``Model.print_configuration``."""
    if len(models) > 0:
        print("Models: {}".format([(model.id) for model in models]))
    if deployment_target:
        print("Compute target: {}".format(deployment_target.name))
    if inference_config:
        scoring_base_name, script_location = inference_config._get_entry_script_path()
        print("Entry script: {}".format(os.path.join(scoring_base_name, script_location)))
        if inference_config.base_image:
            print("Base image: {}".format(inference_config.base_image))
        if inference_config.environment:
            custom_env = inference_config.environment
            if custom_env.environment_variables and len(custom_env.environment_variables) > 1:
                print("Environment variables: {}".format(custom_env.environment_variables))
            conda_dependencies = custom_env.python.conda_dependencies if custom_env.python else None
            if conda_dependencies and conda_dependencies._conda_dependencies:
                dependencies = conda_dependencies._conda_dependencies
                if "dependencies" in dependencies and dependencies["dependencies"]:
                    print("Environment dependencies: {}".format(dependencies["dependencies"]))
            if custom_env.docker and custom_env.docker.base_image:
                print("Environment docker image: {}".format(custom_env.docker.base_image))
            if custom_env.docker and custom_env.docker.base_dockerfile:
                print("Environment docker file: {}".format(custom_env.docker.base_dockerfile))
    if deployment_config:
        deployment_config.print_deploy_configuration()


def build_environment_image_request(workspace: Any, service_name: str, model_ids: list[str], inference_config: Any,
                                    show_output: bool = False) -> dict[str, Any]:
    """``InferenceConfig._build_environment_image_request`` for the local cloud (see docs/rest-services.md).

    ``inference_config`` is already converted (``_convert_parts``). As in the SDK, the entry-script
    variables are added to the config's Environment object itself.
    """
    scoring_base_name, script_location = inference_config._get_entry_script_path()
    environment = inference_config.environment
    if environment is not None:
        if environment.environment_variables is None:
            environment.environment_variables = {}
        environment.environment_variables.update(inference_config._entry_script_env())
    # The entry script inside the asset: relative to the source directory when there is one.
    driver_program = script_location.replace(os.sep, "/")
    asset_id = upload_source_asset(workspace, inference_config)
    gpu = bool(inference_config.enable_gpu)
    if environment is not None:
        gpu = gpu or environment._uses_gpu()
    return {
        "driverProgram": driver_program,
        "assets": [{"id": asset_id}],
        "modelIds": list(model_ids),
        # None: the SDK would leave the environment to the service (no runtime/conda/docker settings given).
        "environment": environment._serialize_to_dict() if environment is not None else None,
        "sourceDirectory": scoring_base_name or None,
        "gpu": gpu,
    }


def upload_source_asset(workspace: Any, inference_config: Any) -> str:
    """Upload the source directory (paths relative to it) or the entry script alone (as its basename).

    The daemon lays the asset out under ``<app root>/<sourceDirectory>`` (or the app root), so
    ``driverProgram`` is the entry script relative to the source directory.
    """
    files: list[tuple[str, str]] = []
    if inference_config.source_directory:
        source_directory = inference_config.source_directory
        base = os.path.basename(source_directory)
        for dir_path, _, names in os.walk(source_directory):
            for file_name in sorted(names):
                local_path = os.path.join(dir_path, file_name)
                relpath = os.path.relpath(local_path, source_directory).replace(os.sep, "/")
                files.append((local_path, relpath))
        metadata = {"sourceDirectory": base, "entryScript": inference_config.entry_script}
    else:
        local_path = inference_config.entry_script
        files.append((local_path, os.path.basename(local_path)))
        metadata = {"sourceDirectory": None, "entryScript": os.path.basename(local_path)}
    body = MultipartUpload(metadata, files)
    asset = workspace._client.json("POST", workspace._arm_path + "/assets", "webservice", data=body,
                                   headers={"Content-Type": body.content_type})
    return asset["id"]


def _deploy_with_environment_image_request(workspace: Any, name: str, environment_image_request: dict[str, Any],
                                           deployment_config: Any, deployment_target: Any, overwrite: bool,
                                           show_output: bool) -> Any:
    from .compute.aks import AksCompute
    from .webservice import AciWebservice, AksWebservice, Webservice

    if not deployment_target and not deployment_config:
        deployment_config = AciWebservice.deploy_configuration()
    elif not deployment_config:
        if type(deployment_target) is AksCompute:
            deployment_config = AksWebservice.deploy_configuration()
        else:
            raise WebserviceException("Must provide deployment configuration when not deploying to AKS or ACI")

    webservice_payload = deployment_config._build_create_payload(name, environment_image_request,
                                                                 overwrite=overwrite)
    webservice_class = deployment_config._webservice_type
    if hasattr(deployment_config, "compute_target_name") and deployment_config.compute_target_name:
        webservice_payload["computeName"] = deployment_config.compute_target_name
    elif "computeName" in webservice_payload and deployment_target is not None:
        webservice_payload["computeName"] = deployment_target.name

    return Webservice._deploy_webservice(workspace, name, webservice_payload, overwrite, webservice_class,
                                         show_output)
