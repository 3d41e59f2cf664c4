"""Mirror of ``azureml.data.azure_storage_datastore``: the workspace's blob datastore in the local cloud.

Blobs live in the local cloud's content-addressed store (beside registered model files); ``upload``,
``upload_files`` and ``download`` lay out paths as the SDK does (its ``target_path``/``relative_root``
rules and progress lines)."""
from __future__ import annotations

import collections
import json
import logging
import os
import re
import sys
from os import path as _path
from typing import Any
from urllib.parse import quote

from ..core._model_files import MultipartUpload, save_stream
from ..exceptions import UserErrorException
from ._reading import inside
from .data_reference import DataReference

module_logger = logging.getLogger(__name__)
_warned: set[str] = set()


def _warn_deprecation(target: str, replacement: str) -> None:
    # The SDK's @deprecated: one logged warning per method and process, before the call runs.
    if target not in _warned:
        _warned.add(target)
        module_logger.warning("{} is deprecated after version 1.0.69. Please use {}. See Dataset API change notice "
                              "at https://aka.ms/dataset-deprecation.".format(target, replacement))


class AbstractDatastore(object):
    """Base of datastores: a name and a type in a workspace."""

    def __init__(self, workspace, name, datastore_type):
        self._workspace = workspace
        self._name = name
        self._datastore_type = datastore_type

    @property
    def workspace(self):
        """The workspace this datastore belongs to."""
        return self._workspace

    @property
    def name(self):
        """The datastore's name."""
        return self._name

    @property
    def datastore_type(self):
        """The datastore's type, e.g. ``AzureBlob``."""
        return self._datastore_type

    def set_as_default(self):
        """Make this the workspace's default datastore (it already is: the local cloud has only this one)."""
        if self.name != self.workspace.get_default_datastore().name:
            raise UserErrorException("The local cloud has only the default datastore.")

    def unregister(self):
        """Not emulated: the workspace's default datastore cannot be unregistered."""
        raise UserErrorException("The local cloud keeps the workspace's default datastore {!r}; it cannot be "
                                 "unregistered.".format(self.name))

    def _as_dict(self):
        return {"name": self.name, "datastore_type": self.datastore_type}

    def _get_console_logger(self):
        return sys.stdout


class AbstractAzureStorageDatastore(AbstractDatastore):
    """Base of Azure Blob and Azure File datastores: container and account names."""

    _sanitize_regex = re.compile(r"^(\.*[/\\])*")

    def __init__(self, workspace, name, datastore_type, container_name, account_name,
                 sas_token=None, account_key=None, protocol=None, endpoint=None):
        super(AbstractAzureStorageDatastore, self).__init__(workspace, name, datastore_type)
        self.container_name = container_name
        self.account_name = account_name
        self.sas_token = sas_token
        self.account_key = account_key
        self.credential_type = "None"
        self.protocol = protocol
        self.endpoint = endpoint
        if account_key:
            self.credential_type = "AccountKey"
        if sas_token:
            self.credential_type = "Sas"
        self._data_reference = DataReference(datastore=self)

    def __repr__(self):
        content = collections.OrderedDict()
        content["name"] = self.name
        content["container_name"] = self.container_name
        content["account_name"] = self.account_name
        content["protocol"] = self.protocol
        content["endpoint"] = self.endpoint
        return json.dumps(content, indent=2)

    def __str__(self):
        return self.__repr__()

    def path(self, path=None, data_reference_name=None):
        """A DataReference to ``path`` on this datastore."""
        return self._data_reference.path(path, data_reference_name)

    def _as_dict(self, hide_secret=True):
        output = super(AbstractAzureStorageDatastore, self)._as_dict()
        output["container_name"] = self.container_name
        output["account_name"] = self.account_name
        output["protocol"] = self.protocol
        output["endpoint"] = self.endpoint
        if not hide_secret:
            output["credential_type"] = self.credential_type
            output["sas_token"] = self.sas_token
            output["account_key"] = self.account_key
        return output

    def _get_upload_from_dir(self, src_path, target_path):
        src_path = src_path.rstrip("/\\")
        if not os.path.isdir(src_path):
            raise UserErrorException("src_path must be a directory.")
        paths_to_upload = []
        for dirpath, _, filenames in os.walk(src_path):
            paths_to_upload += self._get_upload_from_files([os.path.join(dirpath, f) for f in filenames],
                                                           target_path, src_path, True)
        return paths_to_upload

    def _get_upload_from_files(self, file_paths, target_path, relative_root, skip_root_check):
        paths_to_upload = []
        target_path = AbstractAzureStorageDatastore._sanitize_target_path(target_path)
        for file_path in file_paths:
            if not skip_root_check and relative_root not in file_path and relative_root != "/":
                raise UserErrorException("relative_root: '{}' is not part of the file_path: '{}'.".format(
                    relative_root, file_path))
            if not os.path.isfile(file_path):
                err_msg = "'{}' does not point to a file. " + \
                    "Please upload the file to cloud first if running in a cloud notebook."
                raise UserErrorException(err_msg.format(file_path))
            target_file_path = _to_unix_path(file_path)
            if relative_root != "/":
                target_file_path = os.path.relpath(target_file_path, _to_unix_path(relative_root))
            else:
                target_file_path = target_file_path.lstrip("/")
            if target_path:
                target_file_path = os.path.join(target_path, target_file_path)
            paths_to_upload.append((file_path, target_file_path))
        return paths_to_upload

    @staticmethod
    def _sanitize_target_path(target_path):
        if not target_path:
            return target_path
        return AbstractAzureStorageDatastore._sanitize_regex.sub("", target_path)

    def _get_progress_logger(self, show_progress, logger=None):
        console = self._get_console_logger()

        def log(message):
            show_progress and console.write("{}\n".format(message))
            (logger or module_logger).info(message)

        return log


class AzureBlobDatastore(AbstractAzureStorageDatastore):
    """A datastore over an Azure Blob container: in the local cloud, the workspace's ``workspaceblobstore``."""

    def __init__(self, workspace, name, container_name, account_name, sas_token=None,
                 account_key=None, protocol=None, endpoint=None, request_session=None, workspace_msi_has_access=False,
                 subscription_id=None, resource_group=None, service_data_access_auth_identity=None):
        super(AzureBlobDatastore, self).__init__(workspace, name, "AzureBlob", container_name, account_name,
                                                 sas_token, account_key, protocol, endpoint)
        self.workspace_msi_has_access = workspace_msi_has_access
        self.service_data_access_auth_identity = service_data_access_auth_identity
        self.subscription_id = subscription_id
        self.resource_group = resource_group

    @classmethod
    def _from_body(cls, workspace, body: dict[str, Any]) -> "AzureBlobDatastore":
        section = body["azureStorageSection"]
        datastore = cls(workspace, body["name"], section["containerName"], section["accountName"],
                        protocol=section.get("protocol"), endpoint=section.get("endpoint"),
                        subscription_id=section.get("subscriptionId"), resource_group=section.get("resourceGroup"),
                        service_data_access_auth_identity="None")
        # The local cloud holds the key: uploads and downloads work as with the SDK's keyed default datastore.
        datastore.credential_type = section.get("credentialType", "None")
        return datastore

    def download(self, target_path, prefix=None, overwrite=False, show_progress=True):
        """Download the container's blobs (those under ``prefix``) into ``target_path``; returns how many."""
        if not os.path.exists(target_path):
            os.makedirs(target_path)
        blobs = self._list_blobs(prefix or "")
        total = len(blobs)
        if total == 0:
            return 0
        console = self._get_progress_logger(show_progress)
        count = 0
        for blob in blobs:
            file_path = inside(target_path, blob["path"])
            if not overwrite and os.path.exists(file_path):
                module_logger.warning("Path already exists. Skipping download for {}".format(file_path))
                total -= 1
                continue
            console("Downloading {}".format(blob["path"]))
            self._download_blob(blob["path"], file_path)
            count += 1
            console("Downloaded {}, {} files out of an estimated total of {}".format(blob["path"], count, total))
        return count

    def upload(self, src_dir, target_path=None, overwrite=False, show_progress=True):
        """Upload the folder ``src_dir`` under ``target_path``; returns a DataReference to ``target_path``."""
        _warn_deprecation('"Datastore.upload"', '"Dataset.File.upload_directory" to upload your files             '
                                                'from a local directory and create FileDataset in single method call')
        target_path = target_path or ""
        self._start_upload(self._get_upload_from_dir(src_dir, target_path), overwrite, show_progress)
        return DataReference(datastore=self, path_on_datastore=target_path)

    def upload_files(self, files, relative_root=None, target_path=None, overwrite=False, show_progress=True):
        """Upload ``files`` under ``target_path`` (their paths relative to ``relative_root``, by default the
        folder they share); returns a DataReference to ``target_path``."""
        _warn_deprecation('"datastore.upload_files"', '"FileDatasetFactory.upload_directory" instead')
        target_path = target_path or ""
        relative_root = relative_root or _common_path(files)
        self._start_upload(self._get_upload_from_files(files, target_path, relative_root, False), overwrite,
                           show_progress)
        return DataReference(datastore=self, path_on_datastore=target_path)

    def _start_upload(self, paths_to_upload, overwrite, show_progress):
        console = self._get_progress_logger(show_progress)
        estimated_total = len(paths_to_upload)
        console("Uploading an estimated of {} files".format(estimated_total))
        if not paths_to_upload:
            console("Uploaded 0 files")
            return 0
        body = MultipartUpload({"overwrite": bool(overwrite)},
                               [(source, target.replace(os.sep, "/")) for source, target in paths_to_upload])
        client = self.workspace._client
        results = client.json("POST", self._path + "/blobs", "datastore", data=body,
                              headers={"Content-Type": body.content_type})["value"]
        count = 0
        for (source, target), result in zip(paths_to_upload, results):
            if not result["uploaded"]:
                estimated_total -= 1
                console("Target already exists. Skipping upload for {}".format(target))
                continue
            count += 1
            console("Uploading {}".format(source))
            console("Uploaded {}, {} files out of an estimated total of {}".format(source, count, estimated_total))
        console("Uploaded {} files".format(count))
        return count

    @property
    def _path(self) -> str:
        return self.workspace._arm_path + "/datastores/" + quote(self.name, safe="")

    def _list_blobs(self, prefix: str) -> list[dict[str, Any]]:
        listed = self.workspace._client.json("GET", self._path + "/blobs", "datastore", params={"prefix": prefix})
        return listed["value"]

    def _download_blob(self, blob_path: str, target_file: str) -> None:
        url = self._path + "/blobs/" + quote(blob_path, safe="/")
        save_stream(self.workspace._client.request("GET", url, "datastore", stream=True), target_file)

    def _read_blob(self, blob_path: str) -> bytes:
        url = self._path + "/blobs/" + quote(blob_path, safe="/")
        return self.workspace._client.request("GET", url, "datastore").content

    def _as_dict(self, hide_secret=True):
        output = super(AzureBlobDatastore, self)._as_dict(hide_secret)
        if self.workspace_msi_has_access:
            output["workspace_msi_has_access"] = self.workspace_msi_has_access
        if self.service_data_access_auth_identity:
            output["service_data_access_auth_identity"] = self.service_data_access_auth_identity
        if self.subscription_id:
            output["subscription_id"] = self.subscription_id
        if self.resource_group:
            output["resource_group"] = self.resource_group
        return output


# --- the SDK's path helpers (azureml._base_sdk_common.utils), same results --------------------------------

def _split_path(p: str) -> list[str]:
    segments = []
    while True:
        p, tail = _path.split(p)
        if tail:
            segments.append(tail)
        else:
            segments.append(p)
            break
    return segments[::-1]


def _to_unix_path(p: str) -> str:
    if not p:
        return p
    segments = [s for s in _split_path(p) if s]
    if ":" in segments[0]:
        segments[0] = segments[0].rstrip("\\/:")
        segments = [""] + segments
    return "/".join(segments)


def _common_path(files: list[str]) -> str:
    if len(files) == 0:
        return ""
    if len(files) == 1:
        return _path.split(files[0])[0]
    common_segment = _split_path(files[0])
    for path_segment in (_split_path(p) for p in files[1:]):
        shorter = min(len(common_segment), len(path_segment))
        cl = next((i for i in range(shorter) if common_segment[i] != path_segment[i]), shorter)
        if cl == 0:
            return "/"
        common_segment = common_segment[:cl]
    return _path.join(*common_segment)
