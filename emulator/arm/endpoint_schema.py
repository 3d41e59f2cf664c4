"""Request schemas of the SDK v2 online-endpoint routes (endpoint bodies, key regeneration), checked by
emulator/validation.py before a handler runs."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, StringConstraints

from ..validation import _NO_CONTROL, Body
from .schema import StringMap, Text

# The service's naming rules: an endpoint starts with a letter, a deployment with a letter or digit; both
# 3 to 32 letters, digits and '-'.
EndpointName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{2,31}$")]
DeploymentName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9-]{2,31}$")]
Percent = Annotated[int, Field(ge=0, le=100)]
Location = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9 ]+$")]
ArmId = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=rf"^{_NO_CONTROL}+$")]


class Identity(Body):
    type: Literal["None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned"]
    userAssignedIdentities: Optional[dict[ArmId, Optional[dict]]] = None


class OnlineEndpointProperties(Body):
    authMode: Literal["Key", "AMLToken", "AADToken"]
    description: Optional[Text] = None
    properties: Optional[StringMap] = None
    traffic: Optional[dict[DeploymentName, Percent]] = None
    mirrorTraffic: Optional[dict[DeploymentName, Annotated[int, Field(ge=0, le=50)]]] = None
    compute: Optional[ArmId] = None
    publicNetworkAccess: Optional[Literal["Enabled", "Disabled"]] = None


class OnlineEndpointPut(Body):
    """``PUT .../onlineEndpoints/{name}``."""

    location: Location
    identity: Optional[Identity] = None
    kind: Optional[Annotated[str, StringConstraints(max_length=64)]] = None
    tags: Optional[StringMap] = None
    properties: OnlineEndpointProperties


class RegenerateKeysBody(Body):
    """``POST .../onlineEndpoints/{name}/regenerateKeys``."""

    keyType: Literal["Primary", "Secondary"]
    keyValue: Optional[Annotated[str, StringConstraints(max_length=512)]] = None


class EmptyBody(Body):
    """``POST .../listKeys`` and ``.../token``: the client sends no body (or an empty object)."""
