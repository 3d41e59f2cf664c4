"""Mirror of ``azureml.core.script_run_config``: importable, not emulated (training is out of scope)."""
from ._training import ScriptRunConfig

__all__ = ["ScriptRunConfig"]
