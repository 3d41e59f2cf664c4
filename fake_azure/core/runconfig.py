"""Mirror of ``azureml.core.runconfig``: importable, not emulated (training is out of scope; see _training)."""
from ._training import RunConfiguration

__all__ = ["RunConfiguration"]
