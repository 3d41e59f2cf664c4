"""Mirror of ``azureml.data.data_reference``: what ``Datastore.upload``/``upload_files``/``path`` return.

Only its description of a location is emulated; binding it to a training run is not (training is out of
scope, docs/parity.md)."""
from __future__ import annotations

import uuid

from ..exceptions import UserErrorException

SUPPORTED_DATAREF_MODES = ["mount", "download", "upload"]


class DataReference(object):
    """A reference to a path on a datastore (``datastore``, ``path_on_datastore``, ``mode``)."""

    def __init__(self, datastore, data_reference_name=None, path_on_datastore=None, mode="mount",
                 path_on_compute=None, overwrite=False):
        self.datastore = datastore
        self.data_reference_name = data_reference_name
        self.path_on_datastore = path_on_datastore
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite
        if not self.data_reference_name and path_on_datastore and not _is_current_path(path_on_datastore):
            self.data_reference_name = str(uuid.uuid4().hex)
        elif not self.data_reference_name:
            self.data_reference_name = self.datastore.name
        if mode not in SUPPORTED_DATAREF_MODES:
            raise UserErrorException("Invalid mode {0}. Only mount, download, upload are supported".format(mode))

    def path(self, path=None, data_reference_name=None):
        """A DataReference to ``path`` (below this one's path) on the same datastore."""
        if not path or _is_current_path(path):
            return DataReference(self.datastore, data_reference_name) if data_reference_name else self
        if not self.path_on_datastore or _is_current_path(self.path_on_datastore):
            return DataReference(self.datastore, data_reference_name, path)
        return DataReference(self.datastore, data_reference_name, "{0}/{1}".format(self.path_on_datastore, path))

    def __str__(self):
        return "$AZUREML_DATAREFERENCE_{0}".format(self.data_reference_name)

    def __repr__(self):
        return self.__str__()


def _is_current_path(path: str) -> bool:
    return path == "/" or path == "." or path == "./"
