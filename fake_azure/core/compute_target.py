"""Mirror of ``azureml.core.compute_target`` for the names deploy scripts import from it."""
from ..exceptions import ComputeTargetException, UserErrorException

__all__ = ["ComputeTargetException", "UserErrorException"]
