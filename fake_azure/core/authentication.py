"""Mirror of ``azureml.core.authentication``. The local cloud needs no Azure identity: every class
accepts the SDK's arguments and is ignored by the facade (the control-plane token is used instead)."""
from __future__ import annotations

from typing import Any


class AbstractAuthentication:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs

    def get_authentication_header(self) -> dict[str, str]:
        return {"Authorization": "Bearer fake-azure-local"}


class InteractiveLoginAuthentication(AbstractAuthentication):
    def __init__(self, force: bool = False, tenant_id: str | None = None, cloud: str | None = None) -> None:
        super().__init__(force=force, tenant_id=tenant_id, cloud=cloud)


class AzureCliAuthentication(AbstractAuthentication):
    def __init__(self, cloud: str | None = None) -> None:
        super().__init__(cloud=cloud)


class ServicePrincipalAuthentication(AbstractAuthentication):
    def __init__(self, tenant_id: str, service_principal_id: str, service_principal_password: str,
                 cloud: str = "AzureCloud", _enable_caching: bool = True) -> None:
        super().__init__(tenant_id=tenant_id, service_principal_id=service_principal_id, cloud=cloud)


class MsiAuthentication(AbstractAuthentication):
    def __init__(self, cloud: str | None = None, **kwargs: Any) -> None:
        super().__init__(cloud=cloud, **kwargs)


class TokenAuthentication(AbstractAuthentication):
    def __init__(self, get_token_for_audience: Any, cloud: str | None = None) -> None:
        super().__init__(cloud=cloud)
