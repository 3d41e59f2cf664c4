"""Mirror of ``azureml.core.compute``. Only AKS is emulated; it is what model deployment targets.
``AmlCompute`` and ``ComputeInstance`` (training) import, and raise TrainingNotEmulated when used."""
from .aks import AksCompute
from .amlcompute import AmlCompute
from .compute import ComputeTarget
from .computeinstance import ComputeInstance

__all__ = ["AksCompute", "AmlCompute", "ComputeInstance", "ComputeTarget"]
