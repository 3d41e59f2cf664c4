"""Mirror of ``azureml.core.compute.compute``: the ComputeTarget base and configuration bases."""
from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from datetime import datetime
from urllib.parse import quote

from ...exceptions import ComputeTargetException, UserErrorException

RESERVED_NAMES = ("amlcompute", "local", "containerinstance")


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ComputeTarget(ABC):
    """A compute target in a workspace. ``ComputeTarget(ws, name)`` returns the matching subclass."""

    _compute_type: str | None = None

    def __new__(cls, workspace, name):
        if workspace and name:
            payload = cls._get(workspace, name)
            if payload:
                compute_type = payload["properties"]["computeType"]
                for child in ComputeTarget.__subclasses__():
                    if compute_type == child._compute_type:
                        target = super().__new__(child)
                        target._initialize(workspace, payload)
                        return target
                raise ComputeTargetException(
                    "Compute type {} of {} is not supported by fake-azure".format(compute_type, name))
            raise ComputeTargetException("ComputeTargetNotFound: Compute Target with name {} not found in "
                                         "provided workspace".format(name))
        return super().__new__(cls)

    def __init__(self, workspace, name):
        pass

    def __repr__(self):
        return "{}(workspace={}, name={}, id={}, type={}, provisioning_state={}, location={}, tags={})".format(
            self.__class__.__name__,
            self.workspace.__repr__() if hasattr(self, "workspace") else None,
            getattr(self, "name", None), getattr(self, "id", None), getattr(self, "type", None),
            getattr(self, "provisioning_state", None), getattr(self, "location", None), getattr(self, "tags", None))

    @abstractmethod
    def _initialize(self, compute_resource_id, name, location, compute_type, tags, description, created_on,
                    modified_on, provisioning_state, provisioning_errors, cluster_resource_id, cluster_location,
                    workspace, mlc_endpoint, operation_endpoint, auth, is_attached):
        self.id = compute_resource_id
        self.name = name
        self.location = location
        self.type = compute_type
        self.tags = tags
        self.description = description
        self.created_on = _parse_time(created_on)
        self.modified_on = _parse_time(modified_on)
        self.provisioning_state = provisioning_state
        self.provisioning_errors = provisioning_errors
        self.cluster_resource_id = cluster_resource_id
        self.cluster_location = cluster_location
        self.workspace = workspace
        self._mlc_endpoint = mlc_endpoint
        self._operation_endpoint = operation_endpoint
        self._auth = auth
        self.is_attached = is_attached

    # --- REST -------------------------------------------------------------------------------------
    @staticmethod
    def _compute_path(workspace, name: str) -> str:
        # Escaped as one segment: 'ab#c' must reach the cloud whole, not as the target 'ab'.
        return "{}/computes/{}".format(workspace._arm_path, quote(str(name), safe=""))

    @staticmethod
    def _get(workspace, name):
        response = workspace._client.request("GET", ComputeTarget._compute_path(workspace, name), "compute",
                                             ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    @staticmethod
    def create(workspace, name, provisioning_configuration):
        """Provision a new compute target; returns at once with the operation running."""
        if name in RESERVED_NAMES:
            raise UserErrorException("Please specify a different target name. {} is a reserved name.".format(name))
        compute_type = provisioning_configuration._compute_type
        return compute_type._create(workspace, name, provisioning_configuration)

    @staticmethod
    def _create_compute_target(workspace, name, compute_payload, target_class):
        operation_endpoint = ComputeTarget._put_compute(workspace, name, compute_payload)
        target = target_class(workspace, name)
        target._operation_endpoint = operation_endpoint
        return target

    @staticmethod
    def _put_compute(workspace, name, compute_payload):
        """PUT the target's payload; returns the operation's location (``Azure-AsyncOperation``).

        The SDK warns on every such PUT (update() included) whose ``computeLocation`` is not the
        workspace's.
        """
        compute_location = compute_payload.get("properties").get("computeLocation")
        if compute_location and compute_location != workspace.location:
            import logging

            logging.warning("You might see network latency and increased data transfer costs if you chose a "
                            "cluster location different from the location of your workspace")
        response = workspace._client.request("PUT", ComputeTarget._compute_path(workspace, name), "compute",
                                             json=compute_payload)
        return response.headers["Azure-AsyncOperation"]

    @staticmethod
    def attach(workspace, name, attach_configuration):
        """Attaching existing clusters is not emulated (there is no existing cluster to attach)."""
        raise ComputeTargetException("fake-azure does not emulate attaching existing clusters; create one with "
                                     "ComputeTarget.create(workspace, name, AksCompute.provisioning_configuration())")

    @staticmethod
    def list(workspace):
        """All compute targets of the workspace, as their subclasses."""
        response = workspace._client.request("GET", "{}/computes".format(workspace._arm_path), "compute",
                                             ok=tuple(range(200, 600)))
        if response.status_code >= 400:
            raise ComputeTargetException("Error occurred retrieving targets:\nResponse Code: {}\nHeaders: {}\n"
                                         "Content: {}".format(response.status_code, response.headers,
                                                              response.content))
        payload = response.json()
        if "value" not in payload:
            raise ComputeTargetException('Error, invalid paginated response payload, missing "value":\n'
                                         "{}".format(payload))
        targets = []
        for item in payload["value"]:
            compute_type = item.get("properties", {}).get("computeType")
            for child in ComputeTarget.__subclasses__():
                if compute_type == child._compute_type:
                    targets.append(child.deserialize(workspace, item))
                    break
        return targets

    # --- operations -------------------------------------------------------------------------------
    def wait_for_completion(self, show_output=False, is_delete_operation=False):
        """Poll the running operation until it ends, printing progress as the SDK does."""
        try:
            operation_state, error = self._wait_for_completion(show_output)
            print('Provisioning operation finished, operation "{}"'.format(operation_state))
            if not is_delete_operation:
                self.refresh_state()
            if operation_state != "Succeeded":
                if error and "statusCode" in error and "message" in error:
                    error_response = "StatusCode: {}\nMessage: {}".format(error["statusCode"], error["message"])
                else:
                    error_response = error
                raise ComputeTargetException("Compute object provisioning polling reached non-successful terminal "
                                             "state, current provisioning state: {}\n"
                                             "Provisioning operation error:\n"
                                             "{}".format(self.provisioning_state, error_response))
        except ComputeTargetException as e:
            if e.message == "No operation endpoint":
                self.refresh_state()
                raise ComputeTargetException("Long running operation information not known, unable to poll. "
                                             "Current state is {}".format(self.provisioning_state)) from None
            raise

    def _wait_for_completion(self, show_output):
        if not self._operation_endpoint:
            raise ComputeTargetException("No operation endpoint")
        operation_state, error = self._get_operation_state()
        current_state = operation_state
        if show_output:
            sys.stdout.write("{}".format(current_state))
            sys.stdout.flush()
        while operation_state not in ("Succeeded", "Failed", "Canceled"):
            # Azure polls every 5 s; the local cloud's progress policy decides how many polls it takes.
            time.sleep(self.workspace._settings.poll_interval)
            operation_state, error = self._get_operation_state()
            if show_output:
                sys.stdout.write(".")
                if operation_state != current_state:
                    sys.stdout.write("\n{}".format(operation_state))
                    current_state = operation_state
                sys.stdout.flush()
        return operation_state, error

    def _get_operation_state(self):
        content = self.workspace._client.json("GET", self._operation_endpoint, "compute")
        error = content.get("error")
        if error is not None and error.get("error") is not None:
            error = error["error"]
        return content["status"], error

    @abstractmethod
    def refresh_state(self):
        pass

    def get_status(self):
        """Refresh and return the provisioning state."""
        self.refresh_state()
        return self.provisioning_state

    @abstractmethod
    def delete(self):
        pass

    @abstractmethod
    def detach(self):
        pass

    def _delete_or_detach(self, underlying_resource_action):
        response = self.workspace._client.request(
            "DELETE", self._compute_path(self.workspace, self.name), "compute",
            params={"underlyingResourceAction": underlying_resource_action})
        self.provisioning_state = "Deleting"
        self._operation_endpoint = response.headers["Azure-AsyncOperation"]

    @abstractmethod
    def serialize(self):
        created_on = self.created_on.isoformat() if self.created_on else None
        modified_on = self.modified_on.isoformat() if self.modified_on else None
        return {"id": self.id, "name": self.name, "location": self.location, "type": self.type, "tags": self.tags,
                "description": self.description, "created_on": created_on, "modified_on": modified_on,
                "provisioning_state": self.provisioning_state, "provisioning_errors": self.provisioning_errors}

    @staticmethod
    @abstractmethod
    def deserialize(workspace, object_dict):
        pass

    @staticmethod
    @abstractmethod
    def _validate_get_payload(payload):
        pass


class ComputeTargetProvisioningConfiguration(ABC):
    def __init__(self, type, location):
        self._compute_type = type
        self.location = location

    @abstractmethod
    def validate_configuration(self):
        pass


class ComputeTargetAttachConfiguration(ABC):
    def __init__(self, type):
        self._compute_type = type

    @abstractmethod
    def validate_configuration(self):
        pass


class ComputeTargetUpdateConfiguration(ABC):
    def __init__(self, type):
        self._compute_type = type

    @abstractmethod
    def validate_configuration(self):
        pass
