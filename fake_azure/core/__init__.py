"""Mirror of ``azureml.core``: the names user deploy code imports."""
# Training is not emulated: these import (deploy scripts import them beside Workspace) and raise when used.
from ._training import Experiment, Run, RunConfiguration, ScriptRun, ScriptRunConfig, get_run
from .compute import ComputeTarget
from .container_registry import ContainerRegistry
from .dataset import Dataset
from .datastore import Datastore
from .environment import Environment
from .model import Model
from .webservice import Webservice
from .workspace import Workspace

VERSION = "1.61.0"
__version__ = VERSION

__all__ = ["ComputeTarget", "ContainerRegistry", "Dataset", "Datastore", "Environment", "Experiment", "Model",
           "Run", "RunConfiguration", "ScriptRun", "ScriptRunConfig", "VERSION", "Webservice", "Workspace", "get_run"]
