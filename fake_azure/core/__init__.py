"""Mirror of ``azureml.core``: the names user deploy code imports."""
from .workspace import Workspace
from .compute import ComputeTarget
from .container_registry import ContainerRegistry
from .environment import Environment
from .model import Model
from .webservice import Webservice

VERSION = "1.61.0"
__version__ = VERSION

__all__ = ["ComputeTarget", "ContainerRegistry", "Environment", "Model", "VERSION", "Webservice", "Workspace"]
