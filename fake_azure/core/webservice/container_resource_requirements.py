"""Mirror of ``azureml.core.webservice.container_resource_requirements``.

The SDK defines an identical copy of the class here; we re-export the one from ``webservice``.
"""
from fake_azure.core.webservice.webservice import ContainerResourceRequirements

__all__ = ["ContainerResourceRequirements"]
