"""Mirror of ``azureml.core.run``: importable, not emulated (training is out of scope; see _training)."""
from ._training import Run, get_run

__all__ = ["Run", "get_run"]
