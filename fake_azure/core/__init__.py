"""Mirror of ``azureml.core``: the names user deploy code imports."""
from .workspace import Workspace

VERSION = "1.61.0"
__version__ = VERSION
from .compute import ComputeTarget  # noqa: E402
from .model import Model  # noqa: E402
