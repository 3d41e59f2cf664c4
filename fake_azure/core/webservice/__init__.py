"""Mirror of ``azureml.core.webservice``: deployed services and their deployment configurations."""
from fake_azure.core.webservice.aci import AciWebservice
from fake_azure.core.webservice.aks import AksEndpoint, AksWebservice
from fake_azure.core.webservice.local import LocalWebservice
from fake_azure.core.webservice.unknown_webservice import UnknownWebservice
from fake_azure.core.webservice.webservice import Webservice

__version__ = "1.61.0"

__all__ = [
    "AciWebservice",
    "AksEndpoint",
    "AksWebservice",
    "LocalWebservice",
    "UnknownWebservice",
    "Webservice",
]
