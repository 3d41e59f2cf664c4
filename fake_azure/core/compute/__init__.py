"""Mirror of ``azureml.core.compute``. Only AKS is emulated; it is what model deployment targets."""
from .compute import ComputeTarget
from .aks import AksCompute

__all__ = ["AksCompute", "ComputeTarget"]
