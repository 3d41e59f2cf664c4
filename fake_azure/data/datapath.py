"""Mirror of ``azureml.data.datapath``: a path on a datastore."""
from __future__ import annotations

import uuid


class DataPath(object):
    """A path on a datastore: ``DataPath(datastore, 'folder/*.csv')``, what dataset factories accept."""

    def __init__(self, datastore=None, path_on_datastore=None, name=None):
        if not datastore:
            raise ValueError("datastore parameter is required.")
        self._datastore = datastore
        self._path_on_datastore = path_on_datastore
        self._name = name if name else "{0}_{1}".format(self.datastore_name, str(uuid.uuid4().hex)[0:8])

    @property
    def datastore_name(self):
        """The datastore's name."""
        return self._datastore.name

    @property
    def path_on_datastore(self):
        """The path on the datastore."""
        return self._path_on_datastore

    @staticmethod
    def create_from_data_reference(data_reference):
        """The DataPath a DataReference points at."""
        from .data_reference import DataReference

        if not data_reference:
            raise ValueError("data_reference is a required parameter")
        if not isinstance(data_reference, DataReference):
            raise ValueError("Invalid type. Expected DataReference, but type is {0}".format(type(data_reference)))
        return DataPath(datastore=data_reference.datastore, path_on_datastore=data_reference.path_on_datastore)

    def _serialize_to_dict(self):
        return {"name": self._name, "datastore_name": self.datastore_name, "path_on_datastore": self.path_on_datastore}
