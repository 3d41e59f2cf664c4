"""Mirror of ``azureml.data.dataset_error_handling``: the errors datasets raise."""
from __future__ import annotations

from ..exceptions import UserErrorException


class DatasetValidationError(UserErrorException):
    """A dataset's data could not be validated when it was created."""


class DatasetExecutionError(UserErrorException):
    """A dataset's data could not be read."""
