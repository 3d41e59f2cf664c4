"""Mirror of ``azureml.core.compute.computeinstance``: importable, not emulated (training is out of scope)."""
from .._training import ComputeInstance

__all__ = ["ComputeInstance"]
