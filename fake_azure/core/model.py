"""Mirror of ``azureml.core.model``: the registered-model object, backed by the local cloud's registry.

Signatures, attribute names, printed lines and exception texts are azureml-core 1.61's. ``Model.deploy``
is here (its work is in ``_deploy``); ``package``/``profile`` are not. Datasets attached at registration
(``datasets=``, ``sample_input_dataset=``, ``sample_output_dataset=``) are saved to the workspace and read
back as dataset objects, and ``resource_configuration`` as a ResourceConfiguration, as the SDK does.
"""
from __future__ import annotations

import copy
import json
import logging
import os
import re
from datetime import datetime
from typing import Any, Sequence
from urllib.parse import quote

from .._client import error_from_response
from ..data.abstract_dataset import AbstractDataset
from ..data.file_dataset import FileDataset
from ..data.tabular_dataset import TabularDataset
from ..exceptions import ModelNotFoundException, UserErrorException, WebserviceException
from ._model_files import MultipartUpload, collect_model_artifact_paths, refuse_escaping_links, save_stream
from ._queries import filter_query as _filter_query
from .inference_config import InferenceConfig as InferenceConfig  # re-exported, as azureml.core.model does
from .resource_configuration import ResourceConfiguration

module_logger = logging.getLogger(__name__)
# As in the SDK, fixed when the module is imported: a replica sets AML_APP_ROOT before it starts.
MODELS_DIR = os.path.join(os.environ.get("AML_APP_ROOT", ""), "azureml-models")


class Model(object):
    """A model registered in a workspace: a name, a version and the files registered under them.

    ``Model(ws, name)`` fetches the latest version (or ``version=``/``id=``); ``Model.register``
    uploads a file or folder as the next version; ``download`` recreates the registered layout.
    """

    def __init__(self, workspace, name=None, id=None, tags=None, properties=None, version=None,
                 run_id=None, model_framework=None, expand=True, **kwargs):
        self.created_by = None
        self.created_time = None
        self.description = None
        self.id = None
        self.mime_type = None
        self.name = None
        self.model_framework = None
        self.tags = None
        self.properties = None
        self.unpack = None
        self.url = None
        self.version = None
        self.workspace = None
        self.experiment_name = None
        self.run_id = None
        self.run = None
        self.datasets = {}
        self._auth = None
        self._mms_endpoint = None
        self.sample_input_dataset = None
        self.sample_output_dataset = None
        self.resource_configuration = None

        _model_dto = kwargs.get("_model_dto", None)
        if _model_dto:
            self._initialize(workspace, model_dto=_model_dto, expand=expand)
        elif workspace:
            model_dto = self._get(workspace, name, id, tags, properties, version, model_framework, run_id)
            if model_dto:
                self._initialize(workspace, model_dto=model_dto, expand=expand)
            else:
                raise WebserviceException(_not_found_details(
                    name=name, id=id, tags=tags, properties=properties, version=version, run_id=run_id,
                    model_framework=model_framework, **kwargs))

    def __repr__(self):
        return "{}(workspace={}, name={}, id={}, version={}, tags={}, properties={})".format(
            self.__class__.__name__, self.workspace.__repr__(), self.name, self.id, self.version, self.tags,
            self.properties)

    def _initialize(self, workspace, obj_dict=None, model_dto=None, expand=True):
        """Fill the attributes from a ``serialize()`` dict (``obj_dict``) or the registry's model body."""
        if obj_dict:
            source, tags = obj_dict, obj_dict.get("tags", {})
            self.created_by = obj_dict["createdBy"]
            self.created_time = _parse_time(obj_dict["createdTime"])
            self.description = obj_dict["description"]
            self.mime_type = obj_dict["mimeType"]
            self.model_framework = obj_dict["framework"]
            self.model_framework_version = obj_dict["frameworkVersion"]
            self.unpack = obj_dict["unpack"]
        elif model_dto:
            source, tags = model_dto, model_dto.get("kvTags")
            self.created_by = {k: v for k, v in (model_dto.get("createdBy") or {}).items() if v is not None} \
                if model_dto.get("createdBy") is not None else None
            self.created_time = _parse_time(model_dto.get("createdTime"))
            self.description = model_dto.get("description")
            self.mime_type = model_dto.get("mimeType")
            self.model_framework = model_dto.get("framework")
            self.model_framework_version = model_dto.get("frameworkVersion")
            self.unpack = model_dto.get("unpack")
        else:
            raise ModelNotFoundException("Invalid configuration provided to _initialize {} {}".format(
                json.dumps(obj_dict), json.dumps(model_dto)), logger=module_logger)
        self.id = source["id"]
        self.name = source["name"]
        self.tags = tags
        self.properties = source.get("properties")
        self.url = source.get("url")
        self.version = source["version"]
        self.workspace = workspace
        self.experiment_name = source.get("experimentName")
        self.run_id = source.get("runId")
        self._auth = getattr(workspace, "_auth", None)
        self._mms_endpoint = (workspace._client.base_url + _model_path(workspace, self.id)
                              if hasattr(workspace, "_client") else None)
        self.parent_id = source.get("parentModelId")
        self.derived_model_ids = source.get("derivedModelIds")
        # The SDK reads 'resourceRequirements' in both branches (serialize() writes 'resourceConfiguration').
        requirements = source.get("resourceRequirements")
        self.resource_configuration = (ResourceConfiguration.deserialize(requirements) if obj_dict
                                       else ResourceConfiguration._from_dto(requirements))
        if expand:
            # As the SDK: datasets by scenario, and the sample datasets behind their 'aml://dataset/<id>' URLs.
            for dataset_reference in source.get("datasets") or []:
                dataset = Model._get_dataset(workspace, dataset_reference["id"])
                if dataset is not None:
                    self.datasets.setdefault(dataset_reference["name"], []).append(dataset)
            for attribute, key in (("sample_input_dataset", "sampleInputData"),
                                   ("sample_output_dataset", "sampleOutputData")):
                url = source.get(key)
                if url is not None and url.startswith("aml://dataset/"):
                    setattr(self, attribute, Model._get_dataset(workspace, url[len("aml://dataset/"):]))
        # Runs do not exist in the local cloud (training is out of scope), so there is no run to expand.

    @staticmethod
    def _get(workspace, name=None, id=None, tags=None, properties=None, version=None,
             model_framework=None, run_id=None):
        """The registry's body for the model, or None when a name query matches nothing."""
        if not id and not name:
            raise WebserviceException("Error, one of id or name must be provided.", logger=module_logger)
        client = workspace._client
        if id:
            return client.json("GET", _model_path(workspace, id), "model")
        if version:
            return client.json("GET", _model_path(workspace, name + ":" + str(version)), "model")
        params = {"name": name, "framework": model_framework, "tags": _filter_query(tags),
                  "properties": _filter_query(properties), "runId": run_id, "count": 1}
        found = client.json("GET", _models_path(workspace), "model", params=_without_none(params))["value"]
        return found[0] if found else None

    @staticmethod
    def register(workspace, model_path, model_name, tags=None, properties=None, description=None,
                 datasets=None, model_framework=None, model_framework_version=None, child_paths=None,
                 sample_input_dataset=None, sample_output_dataset=None, resource_configuration=None):
        """Register the file or folder at ``model_path`` as the next version of ``model_name``."""
        _model_name_validation(model_name)
        if model_framework is None and model_framework_version is not None:
            raise WebserviceException("Model framework version cannot be provided without a valid framework",
                                      logger=module_logger)
        Model._validate_model_path(model_path, child_paths)
        file_names, artifact_names = collect_model_artifact_paths(model_path, child_paths)
        refuse_escaping_links(file_names, os.getcwd())
        # The SDK sizes its upload timeout with max() of the file sizes: an empty folder fails here.
        max(os.path.getsize(name) for name in file_names)

        print("Registering model {}".format(model_name))
        metadata = Model._registration_metadata(workspace, model_name, tags, properties, description, datasets,
                                                model_framework, model_framework_version, sample_input_dataset,
                                                sample_output_dataset, resource_configuration)
        body = MultipartUpload(metadata, list(zip(file_names, artifact_names)))
        model_dto = workspace._client.json("POST", _models_path(workspace), "model", data=body,
                                           headers={"Content-Type": body.content_type})
        return Model(workspace=workspace, _model_dto=model_dto)

    @staticmethod
    def _registration_metadata(workspace, model_name, tags, properties, description, datasets, model_framework,
                               model_framework_version, sample_input_dataset, sample_output_dataset,
                               resource_configuration) -> dict[str, Any]:
        """The checks and payload of the SDK's ``_register_with_asset``, in its order."""
        if tags:
            try:
                if not isinstance(tags, dict):
                    raise WebserviceException("Tags must be a dict", logger=module_logger)
                tags = json.loads(json.dumps(tags))
            except ValueError as err:
                raise WebserviceException("Error with JSON serialization for tags, be sure they are properly "
                                          "formatted.", logger=module_logger) from err
        if properties:
            try:
                if not isinstance(properties, dict):
                    raise WebserviceException("Properties must be a dict", logger=module_logger)
                properties = json.loads(json.dumps(properties))
            except ValueError as err:
                raise WebserviceException("Error with JSON serialization for properties, be sure they are "
                                          "properly formatted.", logger=module_logger) from err
        datasets_payload = []
        for dataset_scenario, dataset in datasets or []:
            if isinstance(dataset, (TabularDataset, FileDataset)):
                datasets_payload.append({"name": dataset_scenario, "id": dataset._ensure_saved(workspace)})
            else:  # the SDK's legacy Dataset and DatasetSnapshot types are not emulated
                raise WebserviceException("Invalid dataset of type {} passed, must be of type Dataset or "
                                          "DatasetSnapshot".format(type(dataset)), logger=module_logger)
        if model_framework == Model.Framework.TFKERAS:
            module_logger.warning("Tfkeras will be deprecated soon. Use Model.Framework.TENSORFLOW instead.")
        sample_input_data = sample_output_data = None
        if sample_input_dataset:
            sample_input_data = "aml://dataset/{}".format(
                Model._get_dataset_id(workspace, sample_input_dataset, "sample input dataset"))
        if sample_output_dataset:
            sample_output_data = "aml://dataset/{}".format(
                Model._get_dataset_id(workspace, sample_output_dataset, "sample output dataset"))
        if resource_configuration:
            resource_configuration._validate_configuration()
            resource_configuration = resource_configuration.serialize()
        return {"name": model_name, "kvTags": _as_string_map(tags), "properties": _as_string_map(properties),
                "description": description, "mimeType": "application/json", "framework": model_framework,
                "frameworkVersion": model_framework_version, "unpack": False, "experimentName": None,
                "runId": None, "datasets": datasets_payload, "sampleInputData": sample_input_data,
                "sampleOutputData": sample_output_data,
                "resourceRequirements": resource_configuration}

    @staticmethod
    def _validate_model_path(model_path, child_paths=None):
        """The SDK 1.61 checks, in its order (including the path-must-be-under-cwd rule)."""
        cwd = os.getcwd()
        model_path = os.path.normpath(os.path.join(cwd, model_path))
        if not os.path.exists(model_path):
            raise FileNotFoundError("Path does not exist")
        if not os.path.abspath(model_path).startswith(os.path.abspath(cwd)):
            raise PermissionError("Unauthorized access: Path outside current working directory")
        if child_paths:
            for path in child_paths:
                model_path = os.path.normpath(model_path)
                if not os.path.exists(os.path.join(model_path, path)):
                    raise WebserviceException('Error, provided child path "{}" cannot be found'.format(path),
                                              logger=module_logger)

    @staticmethod
    def _get_dataset_id(workspace, dataset, param_name):
        """The saved id of a TabularDataset or FileDataset (saved to the workspace first if need be)."""
        if isinstance(dataset, (TabularDataset, FileDataset)):
            return dataset._ensure_saved(workspace)
        raise WebserviceException("Invalid {} of type {} passed, must be of type TabularDataset or FileDataset"
                                  .format(param_name, type(dataset)), logger=module_logger)

    @staticmethod
    def _get_dataset(workspace, dataset_id):
        """The dataset saved as ``dataset_id``, or None (with the SDK's warning) when it cannot be read."""
        try:
            return AbstractDataset.get_by_id(workspace, dataset_id)
        except Exception as e:
            module_logger.warning("Unable to retrieve Dataset with ID {} due to the following exception.\n"
                                  "{}".format(dataset_id, e))
            return None

    # --- listing --------------------------------------------------------------------------------------

    @staticmethod
    def list(workspace, name=None, tags=None, properties=None, run_id=None, latest=False,
             dataset_id=None, expand=True, page_count=255, model_framework=None):
        """The workspace's models (every version unless ``latest``), newest first, optionally filtered."""
        if page_count and (page_count < 20 or page_count > 255):
            raise UserErrorException(
                "Expected page_count value is between %s and %s. Provided: %s" % (20, 255, page_count))
        if tags is not None and type(tags) is not list:
            raise UserErrorException(
                'Expected tags must be list type. Ex. ["key", ["key2", "key2 value"]]: provided {0}'.format(
                    type(tags)))
        params = {"name": name, "tags": _filter_query(tags), "properties": _filter_query(properties),
                  "runId": run_id, "datasetId": dataset_id, "latestVersionOnly": "true" if latest else None,
                  "framework": model_framework}
        bodies = workspace._client.json("GET", _models_path(workspace), "model", params=_without_none(params))
        return [Model(workspace, _model_dto=body, expand=expand) for body in bodies["value"]]

    # --- download and local paths -----------------------------------------------------------------------

    def download(self, target_dir=".", exist_ok=False, exists_ok=None):
        """Download the model's files under ``target_dir``; returns the path of the file or folder."""
        if exists_ok is not None:
            if exist_ok is not None:
                raise WebserviceException("Both exists_ok and exist_ok are set. Please use exist_ok only.",
                                          logger=module_logger)
            module_logger.warning("exists_ok is deprecated. Please use exist_ok")
            exist_ok = exists_ok
        client = self.workspace._client
        manifest = client.json("GET", _model_path(self.workspace, self.id) + "/files", "model")["value"]
        if len(manifest) == 0:
            raise WebserviceException("No files to download. Did you upload files?", logger=module_logger)
        target_dir = os.path.normpath(target_dir)
        file_paths = []
        for entry in manifest:
            target_path = os.path.join(target_dir, *entry["path"].split("/"))
            if not exist_ok and os.path.exists(target_path):
                raise WebserviceException("File already exists. To overwrite, set exist_ok to True. "
                                          "{}".format(target_path), logger=module_logger)
            url = _model_path(self.workspace, self.id) + "/files/" + quote(entry["path"], safe="/")
            save_stream(client.request("GET", url, "model", stream=True), target_path)
            file_paths.append(target_path)
        return os.path.commonpath(file_paths)

    @staticmethod
    def get_model_path(model_name, version=None, _workspace=None):
        """The local path of a model: the ``azureml-models`` cache, then ``./<model_name>``; with
        ``_workspace``, downloads into the cache first (outside a replica only)."""
        if version is not None and not isinstance(version, int):
            raise WebserviceException("version should be an int", logger=module_logger)
        # The SDK first asks Run.get_context() for a workspace; the local cloud has no submitted runs.
        active_workspace = _workspace
        if version is not None:
            try:
                return Model._get_model_path_local(model_name, version)
            except ModelNotFoundException as ee:
                module_logger.debug("Model not find in local")
                if active_workspace is not None:
                    return Model._get_model_path_remote(model_name, version, active_workspace)
                raise WebserviceException(ee.message, logger=module_logger) from None
        if active_workspace is not None:
            return Model._get_model_path_remote(model_name, version, active_workspace)
        return Model._get_model_path_local(model_name, version)

    @staticmethod
    def _get_model_path_local(model_name, version=None):
        if version is not None and not isinstance(version, int):
            raise WebserviceException("version should be an int", logger=module_logger)
        if model_name is None:
            raise WebserviceException("model_name is None", logger=module_logger)
        candidate_model_path = os.path.join(MODELS_DIR, model_name)
        if not os.path.exists(candidate_model_path):
            return Model._get_model_path_local_from_root(model_name)
        if version is None:
            version = Model._get_latest_version(os.listdir(candidate_model_path))
        candidate_model_path = os.path.join(candidate_model_path, str(version))
        if not os.path.exists(candidate_model_path):
            return Model._get_model_path_local_from_root(model_name)
        file_system_entries = os.listdir(candidate_model_path)
        if len(file_system_entries) != 1:
            raise WebserviceException("Dir {} can contain only 1 file or folder. Found {}".format(
                candidate_model_path, file_system_entries), logger=module_logger)
        return os.path.join(candidate_model_path, file_system_entries[0])

    @staticmethod
    def _get_model_path_local_from_root(model_name):
        if os.path.exists(model_name):
            return model_name
        raise ModelNotFoundException("Model {} not found in cache at {} or in current working directory {}. "
                                     "For more info, set logging level to DEBUG.".format(model_name, MODELS_DIR,
                                                                                         os.getcwd()))

    @staticmethod
    def _get_latest_version(versions):
        if not len(versions) > 0:
            raise WebserviceException("versions is empty", logger=module_logger)
        return max(int(version) for version in versions)

    @staticmethod
    def _get_model_path_remote(model_name, version, workspace):
        if version is not None and not isinstance(version, int):
            raise WebserviceException("version should be an int", logger=module_logger)
        from .workspace import Workspace

        assert isinstance(workspace, Workspace)
        try:
            model = Model(workspace=workspace, name=model_name, version=version)
        except WebserviceException as e:
            if "ModelNotFound" in e.message:
                model_infos = sorted("{}/{}".format(m.name, m.version) for m in Model.list(workspace))
                raise ModelNotFoundException("Model/Version {}/{} not found in workspace. {}".format(
                    model_name, version, model_infos), logger=module_logger) from None
            raise WebserviceException(e.message, logger=module_logger) from None
        target_dir = os.path.join(MODELS_DIR, model_name, str(model.version))
        model_path = model.download(target_dir, exist_ok=True)
        if not os.path.exists(model_path):
            raise ModelNotFoundException("Expected model path does not exist: {}. Found items in dir: {}".format(
                model_path, str(os.listdir(target_dir))), logger=module_logger)
        return model_path

    # --- changes --------------------------------------------------------------------------------------

    def update(self, tags=None, description=None, sample_input_dataset=None, sample_output_dataset=None,
               resource_configuration=None):
        """Replace the tags and/or description (and resource configuration) of this model version."""
        patch_list = []
        if tags:
            patch_list.append({"op": "replace", "path": "/kvTags", "value": tags})
        if description:
            patch_list.append({"op": "replace", "path": "/description", "value": description})
        if sample_input_dataset:
            saved_id = Model._get_dataset_id(self.workspace, sample_input_dataset, "sample input dataset")
            patch_list.append({"op": "replace", "path": "/sampleInputData",
                               "value": "aml://dataset/{}".format(saved_id)})
        if sample_output_dataset:
            saved_id = Model._get_dataset_id(self.workspace, sample_output_dataset, "sample output dataset")
            patch_list.append({"op": "replace", "path": "/sampleOutputData",
                               "value": "aml://dataset/{}".format(saved_id)})
        if resource_configuration:
            resource_configuration._validate_configuration()
            patch_list.append({"op": "replace", "path": "/resourceRequirements",
                               "value": resource_configuration.serialize()})
        self._patch(patch_list)
        if tags:
            self.tags = tags
        if description:
            self.description = description
        if resource_configuration:
            self.resource_configuration = resource_configuration
        if sample_input_dataset:
            self.sample_input_dataset = sample_input_dataset
        if sample_output_dataset:
            self.sample_output_dataset = sample_output_dataset

    def update_tags_properties(self, add_tags=None, remove_tags=None, add_properties=None):
        """Add and remove tags and add properties (existing properties are immutable)."""
        _check_duplicate_properties(self.properties, add_properties)
        patch_list = []
        tag_update = False
        if add_tags is not None:
            tag_update = True
            if self.tags is None:
                self.tags = copy.deepcopy(add_tags)
            else:
                for key in add_tags:
                    if key in self.tags:
                        print("Replacing tag {} -> {} with {} -> {}".format(key, self.tags[key], key, add_tags[key]))
                    self.tags[key] = add_tags[key]
        if remove_tags is not None:
            if self.tags is None:
                print("Model has no tags to remove.")
            else:
                tag_update = True
                if not isinstance(remove_tags, list):
                    remove_tags = [remove_tags]
                for key in remove_tags:
                    if key in self.tags:
                        del self.tags[key]
                    else:
                        print("Tag with key {} not found.".format(key))
        if tag_update:
            patch_list.append({"op": "replace", "path": "/kvTags", "value": self.tags})
        if add_properties is not None:
            if self.properties is None:
                self.properties = copy.deepcopy(add_properties)
            else:
                for key in add_properties:
                    self.properties[key] = add_properties[key]
            patch_list.append({"op": "add", "path": "/properties", "value": self.properties})
        if not patch_list:
            return
        self._patch(patch_list)

    def add_tags(self, tags):
        """Add key value pairs to the tags dictionary of this model."""
        self.update_tags_properties(add_tags=tags)
        print("Model tag add operation complete.")

    def remove_tags(self, tags):
        """Remove the specified keys from the tags dictionary of this model."""
        self.update_tags_properties(remove_tags=tags)
        print("Model tag remove operation complete.")

    def add_properties(self, properties):
        """Add key value pairs to the properties dictionary of this model."""
        self.update_tags_properties(add_properties=properties)
        print("Model properties add operation complete.")

    def _patch(self, patch_list: Sequence[dict[str, Any]]) -> None:  # `list` here would be Model.list
        self.workspace._client.json("PATCH", _model_path(self.workspace, self.id), "model", json=patch_list)

    def delete(self):
        """Delete this model version from its workspace."""
        # The model family's exceptions carry no status code: the 412 is looked at here instead.
        response = self.workspace._client.request("DELETE", _model_path(self.workspace, self.id), "model",
                                                  ok=(200, 202, 204, 412))
        if response.status_code == 412:
            if "DeletionRequired" in response.text:
                raise WebserviceException("The model cannot be deleted because it is currently being used in one or "
                                          "more images. To know what images contain the model, run "
                                          '"Image.list(<workspace>, model_id={})"'.format(self.id),
                                          logger=module_logger)
            raise error_from_response(response, "model")

    # --- deployment ----------------------------------------------------------------------------------

    @staticmethod
    def deploy(workspace, name, models, inference_config=None, deployment_config=None, deployment_target=None,
               overwrite=False, show_output=False):
        """Deploy ``models`` as service ``name``; returns the (still Transitioning) Webservice at once.

        The work is in :mod:`fake_azure.core._deploy`; call ``wait_for_deployment`` on the result.
        """
        from . import _deploy

        return _deploy.deploy(workspace, name, models, inference_config=inference_config,
                              deployment_config=deployment_config, deployment_target=deployment_target,
                              overwrite=overwrite, show_output=show_output)

    @staticmethod
    def package(workspace, models, inference_config=None, generate_dockerfile=False, image_name=None,
                image_label=None):
        """Package ``models`` and their environment as a Docker image, or (``generate_dockerfile``) a build context.

        Returns a :class:`ModelPackage`; call ``wait_for_creation``, then ``pull()`` or ``save(folder)``.
        """
        from .model_package import package

        return package(workspace, models, inference_config, generate_dockerfile, image_name, image_label)

    @staticmethod
    def profile(workspace, profile_name, models, inference_config, input_dataset, cpu=None, memory_in_gb=None,
                description=None):
        """Run the models on the input dataset's rows and measure CPU, memory and latency.

        Returns a :class:`~azureml.core.profile.ModelProfile`; call ``wait_for_completion``, then ``get_details()``.
        """
        from .profile import profile

        return profile(workspace, profile_name, models, inference_config, input_dataset, cpu, memory_in_gb,
                       description)

    # --- serialization ----------------------------------------------------------------------------------

    def serialize(self):
        """This model as the SDK's JSON-serializable dict."""
        created_time = self.created_time.isoformat() if self.created_time else None
        datasets = [{"name": scenario, "id": dataset.id}
                    for scenario, dataset_list in self.datasets.items() for dataset in dataset_list]
        return {"createdTime": created_time,
                "createdBy": self.created_by,
                "description": self.description,
                "id": self.id,
                "mimeType": self.mime_type,
                "name": self.name,
                "framework": self.model_framework,
                "frameworkVersion": self.model_framework_version,
                "tags": self.tags,
                "properties": self.properties,
                "unpack": self.unpack,
                "url": self.url,
                "version": self.version,
                "experimentName": self.experiment_name,
                "runId": self.run_id,
                "runDetails": self.run.__str__(),
                "datasets": datasets,
                "resourceConfiguration": self.resource_configuration.serialize()
                if self.resource_configuration else None,
                "sampleInputDatasetId": self.sample_input_dataset.id if self.sample_input_dataset else None,
                "sampleOutputDatasetId": self.sample_output_dataset.id if self.sample_output_dataset else None}

    @staticmethod
    def deserialize(workspace, model_payload):
        """A Model from a ``serialize()`` dict, bound to ``workspace``."""
        model = Model(None)
        model._initialize(workspace, obj_dict=model_payload)
        return model

    class Framework(object):
        """Constants for the supported framework types."""

        CUSTOM = "Custom"
        TENSORFLOW = "TensorFlow"
        SCIKITLEARN = "ScikitLearn"
        ONNX = "Onnx"
        TFKERAS = "TfKeras"
        PYTORCH = "PyTorch"
        MULTI = "Multi"

    _SUPPORTED_FRAMEWORKS_FOR_NO_CODE_DEPLOY = [
        Framework.ONNX,
        Framework.SCIKITLEARN,
        Framework.TENSORFLOW,
        Framework.MULTI,
    ]


# --- helpers (ports of azureml._model_management._util) --------------------------------------------------

def _model_name_validation(name: str) -> None:
    if not re.fullmatch(r"^[a-zA-Z0-9][a-zA-Z0-9\-\._]{0,254}$", name):
        raise WebserviceException("Error, provided model name is invalid. It must only consist of letters, "
                                  "numbers, dashes, periods, or underscores, start with a letter or number, and be "
                                  "between 1 and 255 characters long.")


def _check_duplicate_properties(current_properties: dict, new_properties: dict | None) -> None:
    if new_properties:
        duplicate_properties = [key for key in new_properties if key in current_properties]
        if duplicate_properties:
            raise WebserviceException("Error, properties are immutable, the following keys cannot be added/modified: "
                                      "{}".format(",".join(duplicate_properties)), logger=module_logger)


def _not_found_details(**kwargs: Any) -> str:
    return ("ModelNotFound: Model with " + ", ".join(["{} {}".format(key, val) for key, val in kwargs.items() if val])
            + " not found in provided workspace")


def _as_string_map(values: dict | None) -> dict | None:
    # The SDK's REST layer (msrest, type {str}) sends keys and non-None values through str().
    if values is None:
        return None
    return {str(k): (None if v is None else str(v)) for k, v in values.items()}


def _without_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _models_path(workspace: Any) -> str:
    return workspace._arm_path + "/models"


def _model_path(workspace: Any, model_id: str) -> str:
    return _models_path(workspace) + "/" + quote(model_id, safe=":")


def __getattr__(name: str) -> Any:
    # azureml.core.model exports ModelPackage; it is imported on first use (model_package imports this module).
    if name == "ModelPackage":
        from .model_package import ModelPackage

        return ModelPackage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
