"""fake-azure: a local emulator and test double for Azure Machine Learning (SDK v1) GPU deployments.

``fake_azure.activate()`` makes ``from azureml.core import ...`` resolve to the emulator;
``fake-azure run -- python deploy.py`` does the same for an unchanged script."""
from __future__ import annotations

__version__ = "0.1.0"

from .activation import activate, activated, deactivate, is_active

__all__ = ["__version__", "activate", "activated", "deactivate", "is_active"]
