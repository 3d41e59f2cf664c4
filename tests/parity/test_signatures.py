"""Every mirrored public callable has the real SDK's signature: names, order, kinds and defaults.

Append ``(real_path, fake_path)`` pairs to ``MIRRORED`` for new facade code; a third element, a
set of parameter names, lists parameters to leave out of the comparison (for deliberate
differences such as a static helper standing in for an instance method).
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

pytestmark = pytest.mark.parity

_CD = ("azureml.core.conda_dependencies.CondaDependencies", "fake_azure.core.conda_dependencies.CondaDependencies")
_ENV = ("azureml.core.environment", "fake_azure.core.environment")
_WS = ("azureml.core.webservice.webservice", "fake_azure.core.webservice.webservice")
_AKS = ("azureml.core.webservice.aks", "fake_azure.core.webservice.aks")
_ACI = ("azureml.core.webservice.aci", "fake_azure.core.webservice.aci")
_LOCAL = ("azureml.core.webservice.local", "fake_azure.core.webservice.local")


def _pairs(base: tuple[str, str], *members: str) -> list[tuple[str, str]]:
    return [(f"{base[0]}.{m}", f"{base[1]}.{m}") for m in members]


MIRRORED: list[tuple[Any, ...]] = [
    *_pairs(_CD, "__init__", "create", "merge_requirements", "sdk_origin_url", "set_pip_index_url",
            "get_default_number_of_packages", "get_python_version", "set_python_version", "add_channel",
            "remove_channel", "add_conda_package", "remove_conda_package", "add_pip_package", "set_pip_option",
            "remove_pip_option", "remove_pip_package", "set_pip_requirements", "add_cntk_package",
            "add_tensorflow_pip_package", "add_tensorflow_conda_package", "save_to_file", "save",
            "serialize_to_string", "as_dict", "_get_package_name", "_get_package_name_with_extras",
            "_pin_sdk_packages"),
    ("azureml.core.container_registry.ContainerRegistry.__init__",
     "fake_azure.core.container_registry.ContainerRegistry.__init__"),
    ("azureml.core.container_registry.RegistryIdentity.__init__",
     "fake_azure.core.container_registry.RegistryIdentity.__init__"),
    *_pairs(_ENV, "Environment.__init__", "Environment.register", "Environment.get", "Environment.list",
            "Environment.label",
            "Environment.clone", "Environment._from_dependencies", "Environment.from_dockerfile",
            "Environment.from_docker_image", "Environment.from_conda_specification",
            "Environment.from_existing_conda_environment", "Environment.from_pip_requirements",
            "PythonSection.__init__", "DockerSection.__init__", "DockerImagePlatform.__init__"),
    ("azureml.core.model.InferenceConfig.__init__", "fake_azure.core.inference_config.InferenceConfig.__init__"),
    # Re-exported by fake_azure.core.model, where the SDK defines it.
    ("azureml.core.model.InferenceConfig.__init__", "fake_azure.core.model.InferenceConfig.__init__"),
    ("azureml.core.model.InferenceConfig.validate_configuration",
     "fake_azure.core.inference_config.InferenceConfig.validate_configuration"),
    ("azureml.core.model.InferenceConfig.validation_script_content",
     "fake_azure.core.inference_config.InferenceConfig.validation_script_content"),
    ("azureml._model_management._util.webservice_name_validation",
     "fake_azure.core.webservice.webservice.webservice_name_validation"),
    *_pairs(_WS, "ContainerResourceRequirements.__init__", "ContainerResourceRequirements.serialize",
            "ContainerResourceRequirements.deserialize", "LivenessProbeRequirements.__init__",
            "LivenessProbeRequirements.serialize", "LivenessProbeRequirements.deserialize",
            "AutoScaler.__init__", "AutoScaler.serialize", "AutoScaler.deserialize", "DataCollection.__init__",
            "DataCollection.serialize", "DataCollection.deserialize", "WebServiceAccessToken.__init__",
            "WebServiceAccessToken.serialize", "WebServiceAccessToken.deserialize",
            "WebserviceDeploymentConfiguration.__init__", "WebserviceDeploymentConfiguration.validate_image",
            "WebserviceDeploymentConfiguration.validate_configuration",
            "WebserviceDeploymentConfiguration.print_deploy_configuration",
            "WebserviceDeploymentConfiguration._build_base_create_payload"),
    *_pairs(_AKS, "AksWebservice.deploy_configuration", "AksWebservice._validate_update",
            "AksEndpoint.deploy_configuration", "AksEndpoint.create_version", "AksEndpoint.update_version",
            "AksEndpoint.delete_version", "AksEndpoint.update", "AksEndpoint._validate_update",
            "AksEndpoint._patch_endpoint_call", "AksEndpoint.serialize", "AksServiceDeploymentConfiguration.__init__",
            "AksServiceDeploymentConfiguration.validate_configuration",
            "AksServiceDeploymentConfiguration.print_deploy_configuration",
            "AksServiceDeploymentConfiguration._build_create_payload",
            "AksEndpointDeploymentConfiguration.__init__",
            "AksEndpointDeploymentConfiguration.validate_endpoint_configuration",
            "AksEndpointDeploymentConfiguration._build_create_payload",
            "AutoScaler.__init__", "ContainerResourceRequirements.__init__", "LivenessProbeRequirements.__init__",
            "DataCollection.__init__", "AksServiceAccessToken.__init__"),
    # The static update validator takes update()'s parameters; ``self``/``current`` are the deliberate difference.
    ("azureml.core.webservice.aks.AksWebservice.update",
     "fake_azure.core.webservice.aks.AksWebservice._validate_update_args", {"self", "current"}),
    *_pairs(_ACI, "AciWebservice.deploy_configuration", "AciWebservice.get_token",
            "AciServiceDeploymentConfiguration.__init__", "AciServiceDeploymentConfiguration.validate_configuration",
            "AciServiceDeploymentConfiguration.print_deploy_configuration",
            "AciServiceDeploymentConfiguration._build_create_payload", "ContainerResourceRequirements.__init__",
            "ContainerResourceRequirements.deserialize", "EncryptionProperties.__init__",
            "EncryptionProperties.deserialize", "VnetConfiguration.__init__", "VnetConfiguration.deserialize"),
    *_pairs(_LOCAL, "LocalWebservice.deploy_configuration", "LocalWebservice.get_keys", "LocalWebservice.get_token",
            "LocalWebservice.regen_key", "LocalWebservice.deserialize",
            "LocalWebserviceDeploymentConfiguration.__init__",
            "LocalWebserviceDeploymentConfiguration.validate_configuration"),
    ("azureml.core.webservice.unknown_webservice.UnknownWebservice.run",
     "fake_azure.core.webservice.unknown_webservice.UnknownWebservice.run"),
    ("azureml.core.webservice.unknown_webservice.UnknownWebservice.update",
     "fake_azure.core.webservice.unknown_webservice.UnknownWebservice.update"),
    ("azureml.core.webservice.unknown_webservice.UnknownWebservice.get_token",
     "fake_azure.core.webservice.unknown_webservice.UnknownWebservice.get_token"),
    ("azureml.core.webservice.container_resource_requirements.ContainerResourceRequirements.__init__",
     "fake_azure.core.webservice.container_resource_requirements.ContainerResourceRequirements.__init__"),
    # Workspace and AKS compute (tests/parity/test_compute_parity.py covers their behaviour).
    *_pairs(("azureml.core.workspace.Workspace", "fake_azure.core.workspace.Workspace"),
            "__init__", "from_config", "get", "create", "write_config", "list", "delete", "get_details"),
    *_pairs(("azureml.core.compute.compute.ComputeTarget", "fake_azure.core.compute.compute.ComputeTarget"),
            "__new__", "__init__", "create", "attach", "list", "wait_for_completion", "get_status", "refresh_state",
            "delete", "detach", "serialize", "deserialize"),
    *_pairs(("azureml.core.compute.aks.AksCompute", "fake_azure.core.compute.aks.AksCompute"),
            "provisioning_configuration", "attach_configuration", "_build_create_payload", "attach", "update",
            "delete", "detach", "refresh_state", "get_credentials", "serialize", "deserialize"),
    *_pairs(("azureml.core.compute.aks", "fake_azure.core.compute.aks"),
            "AksProvisioningConfiguration.__init__", "AksProvisioningConfiguration.enable_ssl",
            "AksProvisioningConfiguration.validate_configuration", "AksAttachConfiguration.__init__",
            "AksAttachConfiguration.enable_ssl", "AksAttachConfiguration.validate_configuration",
            "AksUpdateConfiguration.__init__", "AksUpdateConfiguration.validate_configuration",
            "SslConfiguration.__init__", "SslConfiguration.serialize", "SslConfiguration.deserialize",
            "SystemService.__init__", "SystemService.serialize", "SystemService.deserialize"),
    # Deployment and the service objects (tests/parity/test_webservice_parity.py covers their behaviour).
    # ``Webservice.__new__``/``__init__`` are left out: ours give workspace/name defaults for bare objects.
    ("azureml.core.model.Model.deploy", "fake_azure.core.model.Model.deploy"),
    # Model.package / Model.profile results (tests/integration/test_model_package_profile.py: behaviour).
    *_pairs(("azureml.core.model.ModelPackage", "fake_azure.core.model.ModelPackage"),
            "__init__", "get_container_registry", "get_logs", "pull", "save", "update_creation_state",
            "wait_for_creation", "serialize"),
    *_pairs(("azureml.core.profile.ModelProfile", "fake_azure.core.profile.ModelProfile"),
            "__init__", "wait_for_completion", "serialize", "get_details"),
    *_pairs(_WS, "Webservice._get", "Webservice._deploy_webservice", "Webservice.wait_for_deployment",
            "Webservice._wait_for_operation_to_complete", "Webservice._format_error_response",
            "Webservice._get_operation_state", "Webservice.update_deployment_state", "Webservice.list",
            "Webservice._add_tags", "Webservice._remove_tags", "Webservice._add_properties", "Webservice.get_logs",
            "Webservice.run", "Webservice.get_keys", "Webservice.regen_key", "Webservice.get_token",
            "Webservice.update", "Webservice.delete", "Webservice.serialize", "Webservice.deserialize",
            "Webservice._validate_get_payload", "Webservice._initialize"),
    *_pairs(_AKS, "AksWebservice._initialize", "AksWebservice.run", "AksWebservice.update", "AksWebservice.add_tags",
            "AksWebservice.remove_tags", "AksWebservice.add_properties", "AksWebservice.serialize",
            "AksWebservice.get_token", "AksWebservice.get_access_token"),
    *_pairs(_ACI, "AciWebservice._initialize", "AciWebservice.run", "AciWebservice.update",
            "AciWebservice._validate_update", "AciWebservice.add_tags", "AciWebservice.remove_tags",
            "AciWebservice.add_properties", "AciWebservice.serialize"),
    *_pairs(("azureml.core.authentication", "fake_azure.core.authentication"),
            "InteractiveLoginAuthentication.__init__", "AzureCliAuthentication.__init__",
            "ServicePrincipalAuthentication.__init__", "TokenAuthentication.__init__"),
    # Datastores, datasets and model resource configurations (tests/integration/test_datasets.py covers them).
    *_pairs(("azureml.core.resource_configuration.ResourceConfiguration",
             "fake_azure.core.resource_configuration.ResourceConfiguration"),
            "__init__", "serialize", "deserialize", "_validate_configuration"),
    ("azureml.core.model.Model.register", "fake_azure.core.model.Model.register"),
    ("azureml.core.model.Model.update", "fake_azure.core.model.Model.update"),
    *_pairs(("azureml.core.workspace.Workspace", "fake_azure.core.workspace.Workspace"),
            "get_default_datastore", "set_default_datastore"),
    *_pairs(("azureml.core.datastore.Datastore", "fake_azure.core.datastore.Datastore"),
            "__new__", "__init__", "get", "get_default", "register_azure_blob_container", "register_azure_file_share"),
    *_pairs(("azureml.data.azure_storage_datastore.AzureBlobDatastore",
             "fake_azure.data.azure_storage_datastore.AzureBlobDatastore"),
            "__init__", "upload", "upload_files", "download", "path"),
    *_pairs(("azureml.data.datapath.DataPath", "fake_azure.data.datapath.DataPath"), "__init__"),
    *_pairs(("azureml.data.data_reference.DataReference", "fake_azure.data.data_reference.DataReference"),
            "__init__", "path"),
    *_pairs(("azureml.data.dataset_factory", "fake_azure.data.dataset_factory"),
            "TabularDatasetFactory.from_delimited_files", "FileDatasetFactory.from_files",
            "FileDatasetFactory.upload_directory"),
    *_pairs(("azureml.data.abstract_dataset.AbstractDataset", "fake_azure.data.abstract_dataset.AbstractDataset"),
            "get_by_name", "get_by_id", "get_all", "register"),
    *_pairs(("azureml.core.dataset.Dataset", "fake_azure.core.dataset.Dataset"), "get_by_name", "get_by_id",
            "get_all"),
    *_pairs(("azureml.data.file_dataset.FileDataset", "fake_azure.data.file_dataset.FileDataset"),
            "download", "to_path"),
    ("azureml.data.tabular_dataset.TabularDataset.to_pandas_dataframe",
     "fake_azure.data.tabular_dataset.TabularDataset.to_pandas_dataframe"),
]


def resolve(path: str) -> Any:
    """Import the longest importable module prefix of ``path`` and walk the remaining attributes."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(path)


def _shape(func: Any, ignore: set[str]) -> list[tuple[str, str, Any]]:
    signature = inspect.signature(func)
    return [(p.name, p.kind.name, p.default) for p in signature.parameters.values() if p.name not in ignore]


def _id(entry: tuple[Any, ...]) -> str:
    return entry[1].replace("fake_azure.core.", "")


@pytest.mark.parametrize("entry", MIRRORED, ids=[_id(e) for e in MIRRORED])
def test_signature_matches_sdk(entry: tuple[Any, ...]) -> None:
    real_path, fake_path = entry[0], entry[1]
    ignore: set[str] = entry[2] if len(entry) > 2 else set()
    real, fake = resolve(real_path), resolve(fake_path)
    assert getattr(inspect.getmodule(real), "__name__", "").startswith("azureml"), (
        f"{real_path} did not resolve to the real SDK (is the fake_azure import hook active?)")
    assert _shape(fake, ignore) == _shape(real, ignore)


def test_webservice_package_exports_match_sdk() -> None:
    import azureml.core.webservice as real

    import fake_azure.core.webservice as fake

    assert fake.__all__ == real.__all__
    for name in real.__all__:
        assert getattr(fake, name).__name__ == getattr(real, name).__name__
        assert getattr(fake, name)._webservice_type == getattr(real, name)._webservice_type


def test_environment_constants_match_sdk() -> None:
    import azureml.core.environment as real

    import fake_azure.core.environment as fake

    assert (fake.DEFAULT_CPU_IMAGE, fake.DEFAULT_GPU_IMAGE) == (real.DEFAULT_CPU_IMAGE, real.DEFAULT_GPU_IMAGE)
