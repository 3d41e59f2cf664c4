"""Mirror of ``azureml.core.workspace``: the scope for models, compute targets and services."""
from __future__ import annotations

import builtins
import json
import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .._client import CloudClient
from ..exceptions import ProjectSystemException, UserErrorException, WorkspaceException
from ..settings import Settings

if TYPE_CHECKING:
    from .compute.compute import ComputeTarget
    from .model import Model

# Used when a caller names a workspace without its subscription or resource group.
DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "fake-azure-rg"

AZUREML_DIR = ".azureml"
AML_CONFIG_DIR = "aml_config"
CONFIG_FILENAME = "config.json"
LEGACY_PROJECT_FILENAME = "project.json"
_NOT_FOUND_CONFIG = (
    "The workspace configuration file config.json, could not be found in {} or its parent directories. Please "
    "check whether the workspace configuration file exists, or provide the full path to the configuration file as "
    "an argument. You can download a configuration file for your workspace, via http://ml.azure.com and clicking on "
    "the name of your workspace in the right top."
)

# The SDK's check_valid_resource_name text (the daemon refuses such names with the same words).
WORKSPACE_NAME_RULE = ("Workspace name must be between 3 and 33 characters long. Its first character has to be "
                       "alphanumeric, and the rest may contain hyphens and underscores. No whitespace is allowed.")


def find_config(start: str, file_name: str | None = None) -> str:
    """The config file ``from_config`` loads from the folder ``start`` ("" if none), searched as the SDK
    does: ``.azureml/`` walking up to the root, then ``aml_config/``, then the folders themselves."""
    files_to_look = [file_name] if file_name else [CONFIG_FILENAME, LEGACY_PROJECT_FILENAME]
    for directory in (AZUREML_DIR, AML_CONFIG_DIR, None):
        for name in files_to_look:
            found = _traverse_up(start, name, directory)
            if found:
                return found
    return ""


class Workspace:
    """A workspace in the local cloud, created on first use unless FAKE_AZURE_STRICT_WORKSPACES is set."""

    def __init__(self, subscription_id, resource_group, workspace_name, auth=None, _location=None,
                 _disable_service_check=False, _workspace_id=None, sku="basic", tags=None, _cloud="AzureCloud"):
        self._subscription_id = subscription_id
        self._resource_group = resource_group
        self._workspace_name = workspace_name
        self._auth = auth  # accepted and ignored: the local cloud uses its own token
        self._sku = sku
        self._tags = tags
        self._settings = Settings.from_env()
        self._client = CloudClient.connect(self._settings)
        self._take_details(self._fetch_or_create(_location, sku, tags))

    @classmethod
    def _from_details(cls, client: CloudClient, details: dict[str, Any], auth: Any = None, *,
                      names: tuple[str, str, str] | None = None, sku: str = "basic", tags: dict | None = None,
                      settings: Settings | None = None) -> "Workspace":
        """A Workspace over ``details``, the service's workspace body (from a GET, a PUT or a list), with no
        request of its own. ``names``: (subscription, resource group, workspace) as the caller spelled them
        (the service matches them case-insensitively), the body's by default; ``settings``: the client's by
        default."""
        workspace = cls.__new__(cls)
        workspace._subscription_id, workspace._resource_group, workspace._workspace_name = names or (
            details["subscriptionId"], details["resourceGroup"], details["name"])
        workspace._auth, workspace._sku, workspace._tags = auth, sku, tags
        workspace._settings = settings or client.settings
        workspace._client = client
        workspace._take_details(details)
        return workspace

    def _take_details(self, details: dict[str, Any]) -> None:
        self._details = details
        self._location = details.get("location")
        self._workspace_id = details["properties"]["workspaceId"]

    def _fetch_or_create(self, location: str | None, sku: str, tags: dict | None) -> dict[str, Any]:
        response = self._client.request("GET", self._arm_path, "workspace", ok=(200, 404))
        if response.status_code == 200:
            return response.json()
        if self._settings.strict_workspaces:
            raise ProjectSystemException("Workspace not found.")
        body = {"location": location or self._settings.default_location, "sku": sku, "tags": tags or {}}
        return self._client.json("PUT", self._arm_path, "workspace", json=body)

    @property
    def _arm_scope(self) -> str:
        """The workspace's ARM resource id, names as they are (what ``write_config`` records)."""
        return (f"/subscriptions/{self._subscription_id}/resourceGroups/{self._resource_group}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{self._workspace_name}")

    @property
    def _arm_path(self) -> str:
        return _arm_path(self._subscription_id, self._resource_group, self._workspace_name)

    # --- discovery -------------------------------------------------------------------------------
    @staticmethod
    def from_config(path=None, auth=None, _logger=None, _file_name=None):
        """Find ``config.json`` (in .azureml/, aml_config/ or the folder itself, walking up) and load it."""
        normalized_path = os.path.normpath(os.path.abspath(os.path.expanduser(path if path is not None else ".")))
        found_path = normalized_path if os.path.isfile(normalized_path) else find_config(normalized_path, _file_name)
        if not found_path:
            raise UserErrorException(_NOT_FOUND_CONFIG.format(normalized_path))
        subscription_id, resource_group, workspace_name = _read_config(found_path)
        return Workspace.get(workspace_name, auth=auth, subscription_id=subscription_id,
                             resource_group=resource_group)

    @staticmethod
    def get(name, auth=None, subscription_id=None, resource_group=None, location=None, cloud="AzureCloud",
            id=None):
        """The workspace ``name``; without a subscription or group, the only one of that name (or a default)."""
        if subscription_id is None or resource_group is None:
            settings = Settings.from_env()
            client = CloudClient.connect(settings)
            matches = [w for w in Workspace._list_bodies(client, subscription_id, resource_group)
                       if w["name"].lower() == name.lower()]
            if len(matches) > 1:
                raise WorkspaceException(
                    "Multiple workspaces with name {} found; specify subscription_id and resource_group.".format(name),
                    found_multiple=True)
            if matches:
                # The list's body is the workspace's GET body: no second request for it.
                match = matches[0]
                return Workspace._from_details(client, match, auth, settings=settings,
                                               names=(match["subscriptionId"], match["resourceGroup"], name))
            subscription_id = subscription_id or DEFAULT_SUBSCRIPTION_ID
            resource_group = resource_group or DEFAULT_RESOURCE_GROUP
        return Workspace(subscription_id, resource_group, name, auth=auth, _location=location)

    @staticmethod
    def create(name, auth=None, subscription_id=None, resource_group=None, location=None,
               create_resource_group=True, sku="basic", tags=None, friendly_name=None, storage_account=None,
               key_vault=None, app_insights=None, container_registry=None, adb_workspace=None,
               primary_user_assigned_identity=None, cmk_keyvault=None, resource_cmk_uri=None, hbi_workspace=False,
               default_cpu_compute_target=None, default_gpu_compute_target=None, private_endpoint_config=None,
               private_endpoint_auto_approval=True, exist_ok=False, show_output=True,
               user_assigned_identity_for_cmk_encryption=None, system_datastores_auth_mode="accessKey",
               v1_legacy_mode=None):
        """Create a workspace; an existing one is an error unless ``exist_ok``."""
        if not name or not re.match(r"^[a-zA-Z0-9][\w\-]{2,32}$", name):
            raise UserErrorException(WORKSPACE_NAME_RULE)
        subscription_id = subscription_id or DEFAULT_SUBSCRIPTION_ID
        resource_group = resource_group or DEFAULT_RESOURCE_GROUP
        client = CloudClient.connect()
        existing = [w for w in Workspace._list_bodies(client, subscription_id, resource_group)
                    if w["name"].lower() == name.lower()]
        if existing and not exist_ok:
            raise WorkspaceException("Workspace with name '{}' already exists under resource group with name "
                                     "'{}'.".format(name, resource_group))
        names = (subscription_id, resource_group, name)
        body = {"location": location or client.settings.default_location, "sku": sku, "tags": tags or {}}
        details = client.json("PUT", _arm_path(*names), "workspace", json=body)
        workspace = Workspace._from_details(client, details, auth, names=names, sku=sku, tags=tags)
        if show_output and not existing:
            print("Deployed Workspace with name {}.".format(name))
        return workspace

    @staticmethod
    def list(subscription_id, auth=None, resource_group=None):
        """All workspaces of a subscription: ``{name: [Workspace, ...]}`` as the SDK returns."""
        settings = Settings.from_env()
        client = CloudClient.connect(settings)
        result: dict[str, list[Workspace]] = {}
        for body in Workspace._list_bodies(client, subscription_id, resource_group):
            # Each body is the workspace's GET body: no request per workspace.
            ws = Workspace._from_details(client, body, auth, settings=settings)
            result.setdefault(body["name"], []).append(ws)
        return result

    @staticmethod
    def _list_bodies(client: CloudClient, subscription_id: str | None,
                     resource_group: str | None) -> builtins.list[dict]:  # `list` here is Workspace.list
        # Our extension of ARM's subscription-level list: every workspace this local cloud holds.
        bodies = client.json("GET", "/providers/Microsoft.MachineLearningServices/workspaces", "workspace")["value"]
        return [b for b in bodies if (subscription_id is None or b["subscriptionId"] == subscription_id)
                and (resource_group is None or b["resourceGroup"].lower() == resource_group.lower())]

    def write_config(self, path=None, file_name=None):
        """Write ``.azureml/config.json`` (or aml_config/ if it exists) so ``from_config`` finds this workspace."""
        base = os.path.abspath(os.path.normpath(path if path is not None else "."))
        config_dir = os.path.join(base, AML_CONFIG_DIR)
        if not os.path.exists(config_dir):
            config_dir = os.path.join(base, AZUREML_DIR)
        try:
            os.makedirs(config_dir, exist_ok=True)
        except OSError as exc:
            raise UserErrorException("Could not write the config file to: {}\n{}".format(config_dir, exc)) from exc
        if file_name is None:
            legacy = os.path.join(config_dir, LEGACY_PROJECT_FILENAME)
            file_name = LEGACY_PROJECT_FILENAME if os.path.exists(legacy) else CONFIG_FILENAME
        elif not file_name.endswith(".json"):
            file_name += ".json"
        target = os.path.normpath(os.path.join(config_dir, file_name))
        with open(target, "w") as handle:
            handle.write(json.dumps({"Id": None, "Scope": self._arm_scope}))

    def delete(self, delete_dependent_resources=False, no_wait=False):
        self._client.request("DELETE", self._arm_path, "workspace")

    def get_details(self):
        details = self._details
        return {
            "id": details["id"], "name": self.name, "location": self.location, "type": details["type"],
            "tags": details.get("tags", {}), "sku": self.sku, "workspaceid": self._workspace_id,
            "description": "", "friendlyName": self.name, "creationTime": None,
        }

    # --- properties ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._workspace_name

    @property
    def subscription_id(self) -> str:
        return self._subscription_id

    @property
    def resource_group(self) -> str:
        return self._resource_group

    @property
    def location(self) -> str | None:
        return self._location

    @property
    def sku(self) -> str:
        # As azureml-core: the stored workspace's ``sku.tier`` (its autorest model maps ``sku`` to it).
        sku = self._details.get("sku") or {}
        if isinstance(sku, str):
            return sku
        return sku.get("tier") or sku.get("name") or self._sku

    @property
    def tags(self) -> dict:
        return self._details.get("tags") or {}

    @property
    def service_context(self) -> None:
        return None

    @property
    def compute_targets(self) -> dict[str, "ComputeTarget"]:
        from .compute.compute import ComputeTarget

        return {target.name: target for target in ComputeTarget.list(self)}

    @property
    def models(self) -> dict[str, "Model"]:
        from .model import Model

        return {model.name: model for model in Model.list(self, latest=True)}

    @property
    def webservices(self) -> dict[str, Any]:
        """The workspace's services by name."""
        from .webservice import Webservice

        return {s.name: s for s in Webservice.list(self)}

    @property
    def datastores(self) -> dict[str, Any]:
        """The workspace's datastores by name (the local cloud has the default ``workspaceblobstore``)."""
        from .datastore import Datastore

        return {datastore.name: datastore for datastore in Datastore._list(self)}

    @property
    def datasets(self) -> dict[str, Any]:
        """The workspace's registered datasets (latest versions) by name."""
        from .dataset import Dataset

        return Dataset.get_all(self)

    def get_default_datastore(self) -> Any:
        """The workspace's default datastore (``workspaceblobstore``, an Azure Blob container)."""
        from .datastore import Datastore

        return Datastore.get_default(self)

    def set_default_datastore(self, name: str) -> None:
        """Make ``name`` the default datastore: only ``workspaceblobstore`` exists, and it is the default."""
        from .datastore import Datastore

        Datastore.get(self, name).set_as_default()

    @property
    def environments(self) -> dict[str, Any]:
        return {env.name: env for env in self._environments.list()}

    @property
    def _environments(self) -> Any:
        from .environment_registry import EnvironmentRegistry

        return EnvironmentRegistry(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and self._arm_path.lower() == other._arm_path.lower()

    def __hash__(self) -> int:
        return hash(self._arm_path.lower())

    def __repr__(self) -> str:
        return ("Workspace.create(name='{}', subscription_id='{}', resource_group='{}')"
                .format(self.name, self.subscription_id, self.resource_group))


def _arm_path(subscription_id: str, resource_group: str, workspace_name: str) -> str:
    """A workspace's URL path: each name escaped, so a '#' or '?' in one cannot cut it short."""
    parts = (subscription_id, resource_group, workspace_name)
    if any("/" in str(x) for x in parts):
        # Escaped, '/' is '%2F', which the daemon's WSGI server decodes back into a separator (the path
        # would reach another route, e.g. 'ws/computes' the compute list). No ARM name holds a '/'.
        if "/" in str(workspace_name):
            raise UserErrorException(WORKSPACE_NAME_RULE)
        raise UserErrorException("Subscription ids and resource group names cannot contain '/': "
                                 "{!r}, {!r}.".format(subscription_id, resource_group))
    sub, rg, name = (quote(str(x), safe="") for x in parts)
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{name}"


def _traverse_up(start: str, file_name: str, directory: str | None) -> str:
    relative = os.path.join(directory, file_name) if directory else file_name
    current = start
    while True:
        candidate = os.path.join(current, relative)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.realpath(os.path.join(current, os.path.pardir))
        if parent == current:
            return ""
        current = parent


def _read_config(found_path: str) -> tuple[str, str, str]:
    with open(found_path) as handle:
        config = json.load(handle)
    scope = config.get("Scope")
    if not scope:
        if not all(key in config for key in ("subscription_id", "resource_group", "workspace_name")):
            raise UserErrorException(
                "The config file found in: {} does not seem to contain the required parameters. Please make sure "
                "it contains your subscription_id, resource_group and workspace_name.".format(found_path))
        return config["subscription_id"], config["resource_group"], config["workspace_name"]
    pieces = scope.split("/")
    return pieces[2], pieces[4], pieces[8]
