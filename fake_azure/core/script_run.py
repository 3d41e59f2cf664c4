"""Mirror of ``azureml.core.script_run``: importable, not emulated (training is out of scope; see _training)."""
from ._training import ScriptRun

__all__ = ["ScriptRun"]
