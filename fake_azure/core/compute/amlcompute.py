"""Mirror of ``azureml.core.compute.amlcompute``: importable, not emulated (training clusters are out of
scope; see fake_azure/core/_training.py)."""
from .._training import AmlCompute

__all__ = ["AmlCompute"]
