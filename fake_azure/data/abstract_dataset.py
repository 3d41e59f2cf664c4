"""Mirror of ``azureml.data.abstract_dataset``: what File and Tabular datasets share (saving, registering,
looking registered datasets up), backed by the local cloud's dataset registry."""
from __future__ import annotations

import collections
import copy
import json
import logging
from typing import Any
from urllib.parse import quote

from ..exceptions import UserErrorException
from .dataset_factory import FileDatasetFactory, TabularDatasetFactory

module_logger = logging.getLogger(__name__)


class AbstractDataset(object):
    """Base class of datasets; create them with ``Dataset.File`` / ``Dataset.Tabular``."""

    Tabular = TabularDatasetFactory
    File = FileDatasetFactory

    def __init__(self):
        if self.__class__ == AbstractDataset:
            raise UserErrorException("Cannot create instance of abstract class AbstractDataset")
        self._definition = None  # {"datasetType", "paths": [{"datastoreName", "path"}], "options"}
        self._datastores: dict[str, Any] = {}  # datastore objects by name, to read the data
        self._properties = {}
        self._registration = None

    # --- lookups ------------------------------------------------------------------------------------

    @staticmethod
    def get_by_name(workspace, name, version="latest", **kwargs):
        """The dataset registered as ``name`` (its latest version, or ``version``)."""
        if version != "latest" and version is not None:
            try:
                version = int(version)
            except Exception:
                raise UserErrorException('Invalid value {} for version. Version value must be number or "latest".'
                                         .format(version)) from None
        else:
            version = None
        params = {"version": version} if version is not None else {}
        response = workspace._client.request("GET", _datasets_path(workspace) + "/" + quote(name, safe=""), "dataset",
                                             ok=(200, 404), params=params)
        if response.status_code == 404:
            raise UserErrorException('Cannot find dataset registered with name "{}"{} in the workspace.'.format(
                name, "" if version is None else " (version: {})".format(version)))
        return _from_body(workspace, response.json())

    @staticmethod
    def get_by_id(workspace, id, **kwargs):
        """The dataset saved as ``id`` (with its registration's name and version, if it has one)."""
        registrations = workspace._client.json("GET", _datasets_path(workspace), "dataset",
                                               params={"savedDatasetId": id})["value"]
        if registrations:
            return _from_body(workspace, registrations[0])
        response = workspace._client.request("GET", _saved_path(workspace) + "/" + quote(id, safe=""), "dataset",
                                             ok=(200, 404))
        if response.status_code == 404:
            raise UserErrorException('Cannot find dataset with id "{}" in the workspace.'.format(id))
        return _from_body(workspace, response.json(), registered=False)

    @staticmethod
    def get_all(workspace):
        """The workspace's registered datasets (latest versions), keyed by name."""
        bodies = workspace._client.json("GET", _datasets_path(workspace), "dataset")["value"]
        return {body["name"]: _from_body(workspace, body) for body in bodies}

    # --- registration -------------------------------------------------------------------------------

    @property
    def id(self):
        """The saved dataset's id (None until saved to a workspace)."""
        if self._registration:
            if self._registration.saved_id:
                return self._registration.saved_id
            if self._registration.workspace:
                self._ensure_saved(self._registration.workspace)
                return self._registration.saved_id
        return None

    @property
    def name(self):
        """The registration name."""
        return None if self._registration is None else self._registration.name

    @property
    def version(self):
        """The registration version."""
        return None if self._registration is None else self._registration.version

    @property
    def description(self):
        """The registration description."""
        return None if self._registration is None else self._registration.description

    @property
    def tags(self):
        """The registration tags."""
        return None if self._registration is None else self._registration.tags

    def register(self, workspace, name, description=None, tags=None, create_new_version=False):
        """Register this dataset in ``workspace`` as ``name``; returns the registered dataset."""
        saved_id = self._ensure_saved(workspace)
        body = {"name": name, "savedDatasetId": saved_id, "description": description, "tags": tags,
                "createNewVersion": bool(create_new_version)}
        response = workspace._client.request("POST", _datasets_path(workspace), "dataset", ok=(200, 409), json=body)
        if response.status_code == 409:
            raise UserErrorException((
                'There is already a dataset registered under name "{}". '
                'Specify `create_new_version=True` to register the dataset as a new version. '
                'Use `update`, `add_tags`, or `remove_tags` to change only the description or tags.'
            ).format(name))
        return _from_body(workspace, response.json())

    def _ensure_saved(self, workspace):
        if not self._registration or not self._registration.saved_id:
            body = workspace._client.json("POST", _saved_path(workspace), "dataset", json=self._definition)
            if self._registration:
                self._registration.saved_id = body["id"]
            else:
                self._registration = _DatasetRegistration(workspace, body["id"])
        return self._registration.saved_id

    # --- construction -------------------------------------------------------------------------------

    @classmethod
    def _create(cls, definition, datastores, registration=None):
        dataset = cls()
        dataset._definition = definition
        dataset._datastores = dict(datastores)
        dataset._registration = registration
        return dataset

    def _resolve(self, is_file=False):
        from ._reading import resolve

        return resolve(self._bound_datastores(), self._definition["paths"], is_file)

    def _bound_datastores(self) -> dict[str, Any]:
        # A dataset read back from the registry names its datastores: look them up in its workspace.
        missing = {p["datastoreName"] for p in self._definition["paths"]} - set(self._datastores)
        if missing:
            from ..core.datastore import Datastore

            workspace = self._registration.workspace if self._registration else None
            if workspace is None:
                raise UserErrorException("The dataset has no workspace to find its datastores {} in."
                                         .format(sorted(missing)))
            for name in missing:
                self._datastores[name] = Datastore.get(workspace, name)
        return self._datastores

    def __str__(self):
        return "{}\n{}".format(type(self).__name__, self.__repr__())

    def __repr__(self):
        content = collections.OrderedDict()
        if self._definition is not None:
            content["source"] = ["('{}', '{}')".format(p["datastoreName"], p["path"])
                                 for p in self._definition["paths"]]
            content["definition"] = self._steps()
        if self._registration is not None:
            content["registration"] = collections.OrderedDict([("id", self.id), ("name", self.name),
                                                               ("version", self.version)])
            if self.description:
                content["registration"]["description"] = self.description
            if self.tags:
                content["registration"]["tags"] = self.tags
            content["registration"]["workspace"] = self._registration.workspace.__repr__()
        return json.dumps(content, indent=2)

    def _steps(self) -> list[str]:
        return ["GetDatastoreFiles"]


class _DatasetRegistration(object):
    def __init__(self, workspace, saved_id, registered_id=None, name=None, version=None, description=None,
                 tags=None):
        self.workspace = workspace
        self.saved_id = saved_id
        self.registered_id = registered_id
        self.name = name
        self.version = version
        self.description = description
        self.tags = tags

    def __repr__(self):
        return "DatasetRegistration(id='{}', name='{}', version={}, description='{}', tags={})".format(
            self.saved_id, self.name, self.version, self.description or "", self.tags or {})

    def __deepcopy__(self, memodict={}):
        return _DatasetRegistration(self.workspace, self.saved_id, self.registered_id, self.name, self.version,
                                    self.description, copy.deepcopy(self.tags))


def _from_body(workspace, body: dict[str, Any], registered: bool = True) -> AbstractDataset:
    """A File/Tabular dataset from the registry's body (a registration, or a saved dataset)."""
    from .file_dataset import FileDataset
    from .tabular_dataset import TabularDataset

    cls = FileDataset if body["datasetType"] == "File" else TabularDataset
    if registered:
        registration = _DatasetRegistration(workspace, body["id"], body.get("registrationId"), body["name"],
                                            body["version"], body.get("description"), body.get("tags") or {})
    else:
        registration = _DatasetRegistration(workspace, body["id"])
    return cls._create(body["definition"], {}, registration)


def _datasets_path(workspace) -> str:
    return workspace._arm_path + "/datasets"


def _saved_path(workspace) -> str:
    return workspace._arm_path + "/saveddatasets"
