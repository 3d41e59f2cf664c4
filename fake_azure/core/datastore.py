"""Mirror of ``azureml.core.datastore``: look up the workspace's datastores.

The local cloud gives each workspace Azure's default blob datastore, ``workspaceblobstore``; registering
other storage (``register_azure_blob_container`` and the other ``register_*``) is not emulated."""
from __future__ import annotations

from urllib.parse import quote

from ..exceptions import UserErrorException

_NOT_EMULATED = ("Datastore.{} is not emulated: the local cloud has only the workspace's default blob datastore "
                 "'workspaceblobstore' (Workspace.get_default_datastore()). See docs/parity.md.")


class Datastore(object):
    """``Datastore(ws, name)`` / ``Datastore.get(ws, name)``: a datastore of the workspace (the default one
    when ``name`` is None)."""

    def __new__(cls, workspace, name=None):
        if name is None:
            return Datastore.get_default(workspace)
        return Datastore.get(workspace, name)

    def __init__(self, workspace, name=None):
        self.workspace = workspace
        self.name = name

    @staticmethod
    def get(workspace, datastore_name):
        """The datastore ``datastore_name`` of ``workspace``."""
        path = workspace._arm_path + "/datastores/" + quote(datastore_name, safe="")
        return _from_body(workspace, workspace._client.json("GET", path, "datastore"))

    @staticmethod
    def get_default(workspace):
        """The workspace's default datastore (``workspaceblobstore``)."""
        return _from_body(workspace, workspace._client.json("GET", workspace._arm_path + "/default", "datastore"))

    @staticmethod
    def _list(workspace):
        bodies = workspace._client.json("GET", workspace._arm_path + "/datastores", "datastore")["value"]
        return [_from_body(workspace, body) for body in bodies]

    @staticmethod
    def register_azure_blob_container(workspace, datastore_name, container_name, account_name, sas_token=None,
                                      account_key=None, protocol=None, endpoint=None, overwrite=False,
                                      create_if_not_exists=False, skip_validation=False, blob_cache_timeout=None,
                                      grant_workspace_access=False, subscription_id=None, resource_group=None):
        """Not emulated (see the module docstring)."""
        raise UserErrorException(_NOT_EMULATED.format("register_azure_blob_container"))

    @staticmethod
    def register_azure_file_share(workspace, datastore_name, file_share_name, account_name, sas_token=None,
                                  account_key=None, protocol=None, endpoint=None, overwrite=False,
                                  create_if_not_exists=False, skip_validation=False):
        """Not emulated (see the module docstring)."""
        raise UserErrorException(_NOT_EMULATED.format("register_azure_file_share"))


def _from_body(workspace, body):
    from ..data.azure_storage_datastore import AzureBlobDatastore

    return AzureBlobDatastore._from_body(workspace, body)
