"""Mirror of ``azureml.core.resource_configuration``: the CPU, memory and GPU a model asks for."""
from __future__ import annotations

import logging

from ..exceptions import WebserviceException

module_logger = logging.getLogger(__name__)


class ResourceConfiguration(object):
    """The resources to run a registered model with (``Model.register(..., resource_configuration=)``).

    :param cpu: CPU cores, may be fractional. :param memory_in_gb: memory in GB, may be fractional.
    :param gpu: the number of GPUs.
    """

    _expected_payload_keys = ["cpu", "memoryInGB", "gpu"]

    def __init__(self, cpu=None, memory_in_gb=None, gpu=None):
        self.cpu = cpu
        self.memory_in_gb = memory_in_gb
        self.gpu = gpu

    def serialize(self):
        """This configuration as the SDK's JSON dict (``cpu``, ``memoryInGB``, ``gpu``)."""
        return {"cpu": self.cpu, "memoryInGB": self.memory_in_gb, "gpu": self.gpu}

    @staticmethod
    def deserialize(payload_obj):
        """A ResourceConfiguration from a ``serialize()`` dict (None stays None)."""
        if payload_obj is None:
            return None
        for payload_key in ResourceConfiguration._expected_payload_keys:
            if payload_key not in payload_obj:
                raise WebserviceException("Invalid webservice payload, missing {} for ResourceConfiguration:\n"
                                          "{}".format(payload_key, payload_obj), logger=module_logger)
        return ResourceConfiguration(payload_obj["cpu"], payload_obj["memoryInGB"], payload_obj["gpu"])

    def _validate_configuration(self):
        # The SDK's checks and texts, its gpu condition included (a non-integer gpu <= 0 only).
        error = ""
        if self.cpu and self.cpu <= 0:
            error += "Invalid configuration, cpu must be greater than zero.\n"
        if self.memory_in_gb and self.memory_in_gb <= 0:
            error += "Invalid configuration, memory_in_gb must be greater than zero.\n"
        if self.gpu and not isinstance(self.gpu, int) and self.gpu <= 0:
            error += "Invalid configuration, gpu must be integer and greater than zero.\n"
        if error:
            raise WebserviceException(error, logger=module_logger)

    @staticmethod
    def _from_dto(resource_requirements):
        """From the registry's ``resourceRequirements`` body (the SDK reads its autorest object the same way:
        missing keys are None)."""
        if resource_requirements is None:
            return None
        return ResourceConfiguration(cpu=resource_requirements.get("cpu"),
                                     memory_in_gb=resource_requirements.get("memoryInGB"),
                                     gpu=resource_requirements.get("gpu"))
