"""Mirror of ``azureml.core.profile``: ``ModelProfile``, the result of ``Model.profile``.

The local cloud measures where Azure estimates: the model runs on one replica with the requested
resources and every input row is sent to it (emulator/packaging/profiles.py); the result has the SDK's keys.
"""
from __future__ import annotations

import logging
import sys
import time
import warnings
from datetime import datetime
from typing import Any

from ..exceptions import UserErrorException, WebserviceException

module_logger = logging.getLogger(__name__)

MIN_PROFILE_CPU = 0.1
MAX_PROFILE_CPU = 3.5
MIN_PROFILE_MEMORY = 0.1
MAX_PROFILE_MEMORY = 15.0
PROFILE_PARTIAL_SUCCESS_MESSAGE = ("Model Profiling operation completed, but encountered issues during execution: %s "
                                   "Inspect ModelProfile.error property for more information.")
PROFILE_FAILURE_MESSAGE = ("Model Profiling operation failed with the following error: %s Request ID: %s. "
                           "Inspect ModelProfile.error property for more information.")
_TERMINAL = ("Cancelled", "Succeeded", "Failed", "TimedOut")


def profile(workspace: Any, profile_name: str, models: list, inference_config: Any, input_dataset: Any,
            cpu: float | None = None, memory_in_gb: float | None = None, description: str | None = None
            ) -> "ModelProfile":
    """``Model.profile``: the SDK's checks, then the profiling operation (see the module docstring)."""
    from .model_package import image_request

    if not profile_name:
        raise UserErrorException("profile_name cannot be None or empty.")
    if cpu and (cpu < MIN_PROFILE_CPU or cpu > MAX_PROFILE_CPU):
        raise UserErrorException("Expected cpu value is between %s and %s. Provided: %s"
                                 % (MIN_PROFILE_CPU, MAX_PROFILE_CPU, cpu))
    if memory_in_gb and (memory_in_gb < MIN_PROFILE_MEMORY or memory_in_gb > MAX_PROFILE_MEMORY):
        raise UserErrorException("Expected memory value is between %s and %s. Provided: %s"
                                 % (MIN_PROFILE_MEMORY, MAX_PROFILE_MEMORY, memory_in_gb))
    if input_dataset is None:
        raise UserErrorException("Dataset not provided. Profiling required a dataset with sample input data.")
    inputs, dataset_id = _input_rows(input_dataset)
    request = image_request(workspace, list(models), inference_config, profile_name)
    body = {"name": profile_name, "description": description, "imageRequest": request, "inputs": inputs,
            "cpu": cpu, "memoryInGB": memory_in_gb, "inputDatasetId": dataset_id}
    created = workspace._client.json("POST", workspace._arm_path + "/profiles", "webservice",
                                     json={k: v for k, v in body.items() if v is not None})
    result = ModelProfile(workspace, None)
    result.name = profile_name
    result.create_operation_id = created["operationId"]
    return result


def _input_rows(input_dataset: Any) -> tuple[list[str], str | None]:
    """The request bodies of ``input_dataset``: a TabularDataset with one string column (as the SDK requires),
    or (our extension) a list of request bodies, strings or JSON-serializable objects."""
    import json

    from ..data.tabular_dataset import TabularDataset

    if isinstance(input_dataset, (list, tuple)):
        rows = [row if isinstance(row, str) else json.dumps(row) for row in input_dataset]
        dataset_id = None
    elif isinstance(input_dataset, TabularDataset):
        frame = input_dataset.to_pandas_dataframe()
        if len(frame.columns) != 1:
            raise UserErrorException("Dataset format not supported. Number of columns != 1. Dataset profile %s"
                                     % list(frame.columns))
        column = frame[frame.columns[0]]
        if not all(isinstance(value, str) for value in column):
            raise UserErrorException("Dataset format not supported. Dataset contains datatype other than string. "
                                     "Dataset profile %s" % dict(frame.dtypes.astype(str)))
        rows = list(column)
        dataset_id = getattr(input_dataset, "id", None)
    else:
        raise UserErrorException("Dataset type not supported. Profiling currently works only with Tabular Datasets. "
                                 "Provided: %s" % type(input_dataset))
    if not rows:
        raise UserErrorException("Empty Dataset. Dataset profile %s" % input_dataset)
    return rows, dataset_id


class ModelProfile(object):
    """The results of a profiling run: a resource requirement recommendation and what was measured."""

    _model_eval_type = "profiling"
    _details_keys_success = [
        "requestedCpu", "requestedMemoryInGB", "requestedQueriesPerSecond", "maxUtilizedMemoryInGB",
        "maxUtilizedCpu", "totalQueries", "successQueries", "successRate", "averageLatencyInMs",
        "latencyPercentile50InMs", "latencyPercentile90InMs", "latencyPercentile95InMs", "latencyPercentile99InMs",
        "latencyPercentile999InMs", "measuredQueriesPerSecond", "state", "name", "description", "createdTime",
        "error", "recommendedMemoryInGB", "recommendedCpu"]
    _details_keys_error = ["name", "description", "state", "requestedCpu", "requestedMemoryInGB",
                           "requestedQueriesPerSecond", "error", "errorLogsUri", "createdTime"]

    def __init__(self, workspace, name):
        """Get the latest profile ``name`` of ``workspace`` (an empty object when either is None)."""
        self.workspace = workspace
        self.name = name
        self.create_operation_id = None
        self.parent_request_id = None
        if workspace and name:
            self._update_creation_state()
        else:
            self._initialize({})

    def _initialize(self, obj_dict):
        self.name = obj_dict.get("name", self.name)
        self.description = obj_dict.get("description")
        created = obj_dict.get("createdTime")
        self.created_time = datetime.fromisoformat(created) if created else None
        self.id = obj_dict.get("id")
        requirements = obj_dict.get("containerResourceRequirements")
        self.requested_cpu = requirements["cpu"] if requirements else None
        self.requested_memory_in_gb = requirements["memoryInGB"] if requirements else None
        self.requested_queries_per_second = obj_dict.get("requestedQueriesPerSecond")
        self.input_dataset_id = obj_dict.get("inputDatasetId")
        self.state = obj_dict.get("state")
        self.model_ids = obj_dict.get("modelIds")
        self.max_utilized_memory = obj_dict.get("maxUtilizedMemoryInGB")
        self.max_utilized_cpu = obj_dict.get("maxUtilizedCpu")
        self.measured_queries_per_second = obj_dict.get("measuredQueriesPerSecond")
        self.environment = obj_dict.get("environment")
        self.error = obj_dict.get("error")
        self.error_logs_url = obj_dict.get("errorLogsUri")
        self.total_queries = obj_dict.get("totalQueries")
        self.success_queries = obj_dict.get("successQueries")
        self.success_rate = obj_dict.get("successRate")
        self.average_latency_in_ms = obj_dict.get("averageLatencyInMs")
        self.latency_percentile_50_in_ms = obj_dict.get("latencyPercentile50InMs")
        self.latency_percentile_90_in_ms = obj_dict.get("latencyPercentile90InMs")
        self.latency_percentile_95_in_ms = obj_dict.get("latencyPercentile95InMs")
        self.latency_percentile_99_in_ms = obj_dict.get("latencyPercentile99InMs")
        self.latency_percentile_999_in_ms = obj_dict.get("latencyPercentile999InMs")
        self.recommended_memory = obj_dict.get("recommendedMemoryInGB")
        self.recommended_cpu = obj_dict.get("recommendedCpu")

    def _update_creation_state(self):
        response = self.workspace._client.request("GET", self.workspace._arm_path + "/profiles", "webservice",
                                                  params={"name": self.name}, ok=(200, 404))
        if response.status_code != 200:
            raise WebserviceException("Model {} result with name {} not found in provided workspace"
                                      .format(self._model_eval_type, self.name))
        self._initialize(response.json()["value"][0])

    def _get_operation_state(self, wait_seconds=0.0):
        operation = self.workspace._client.json(
            "GET", self.workspace._arm_path + "/operations/" + self.create_operation_id, "webservice",
            params={"waitSeconds": wait_seconds} if wait_seconds else None)
        return operation["state"], operation.get("error"), operation["id"]

    def wait_for_completion(self, show_output=False):
        """Wait for the model to finish profiling; warns (as the SDK) when it failed or partly failed."""
        if not (self.workspace and self.create_operation_id):
            raise UserErrorException("wait_for_completion operation cannot be performed on this object.Make sure the "
                                     "object was created via the appropriate method in the Model class")
        state, error, self.parent_request_id = self._get_operation_state()
        current = state
        if show_output:
            sys.stdout.write("{}".format(current))
            sys.stdout.flush()
        while state not in _TERMINAL:
            time.sleep(self.workspace._settings.poll_interval)
            state, error, _ = self._get_operation_state(wait_seconds=1.0)
            if show_output:
                sys.stdout.write(".")
                if state != current:
                    sys.stdout.write("\n{}".format(state))
                    current = state
                sys.stdout.flush()
        sys.stdout.write("\n")
        sys.stdout.flush()
        self._update_creation_state()
        if self.state == "Failed":
            warnings.warn(PROFILE_FAILURE_MESSAGE % (self.error["message"], self.parent_request_id),
                          category=UserWarning, stacklevel=2)
        elif self.error:
            warnings.warn(PROFILE_PARTIAL_SUCCESS_MESSAGE % self.error["message"], category=UserWarning, stacklevel=2)

    def serialize(self):
        created_time = self.created_time.isoformat() if self.created_time else None
        return {
            "id": self.id, "name": self.name, "createdTime": created_time, "state": self.state,
            "description": self.description, "requestedCpu": self.requested_cpu,
            "requestedMemoryInGB": self.requested_memory_in_gb,
            "requestedQueriesPerSecond": self.requested_queries_per_second, "inputDatasetId": self.input_dataset_id,
            "maxUtilizedMemoryInGB": self.max_utilized_memory, "totalQueries": self.total_queries,
            "successQueries": self.success_queries, "successRate": self.success_rate,
            "averageLatencyInMs": self.average_latency_in_ms,
            "latencyPercentile50InMs": self.latency_percentile_50_in_ms,
            "latencyPercentile90InMs": self.latency_percentile_90_in_ms,
            "latencyPercentile95InMs": self.latency_percentile_95_in_ms,
            "latencyPercentile99InMs": self.latency_percentile_99_in_ms,
            "latencyPercentile999InMs": self.latency_percentile_999_in_ms, "modelIds": self.model_ids,
            "environment": self.environment, "maxUtilizedCpu": self.max_utilized_cpu,
            "measuredQueriesPerSecond": self.measured_queries_per_second, "error": self.error,
            "errorLogsUri": self.error_logs_url, "recommendedMemoryInGB": self.recommended_memory,
            "recommendedCpu": self.recommended_cpu,
        }

    def __repr__(self):
        parts = ["workspace=%r" % (self.workspace,)]
        parts += ["%s=%s" % (key, value) for key, value in self.__dict__.items()
                  if key[0] != "_" and key != "workspace"]
        return "%s(%s)" % (self.__class__.__name__, ", ".join(parts))

    def get_details(self):
        """The measured metrics and recommendations (success), or the error's keys (failure)."""
        data = self.serialize()
        if data["state"] == "Succeeded":
            details = {k: v for k, v in data.items() if v is not None and k in self._details_keys_success}
            if "error" in details:
                warnings.warn(PROFILE_PARTIAL_SUCCESS_MESSAGE % details["error"]["message"], category=UserWarning,
                              stacklevel=2)
            return details
        return {k: v for k, v in data.items() if v is not None and k in self._details_keys_error}
