"""Mirror of ``azureml.core.experiment``: importable, not emulated (training is out of scope; see _training)."""
from ._training import Experiment

__all__ = ["Experiment"]
