"""Request schema of the SDK v2 compute route: attaching a Kubernetes cluster (``KubernetesCompute``), checked by
emulator/validation.py before the handler runs. Other compute types are not served on the v2 front end."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, StringConstraints

from ..validation import Body
from .endpoint_schema import ArmId, Location, Quantity
from .schema import StringMap, Text

# Azure ML's compute names: 2-16 letters, digits and '-', starting with a letter (as v1's).
ComputeName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{1,15}$")]
InstanceTypeName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")]
LabelValue = Annotated[str, StringConstraints(max_length=63, pattern=r"^[A-Za-z0-9_.-]*$")]
# Kubernetes resource names in an instance type's requests and limits.
ResourceName = Literal["cpu", "memory", "nvidia.com/gpu"]


class InstanceTypeResources(Body):
    requests: Optional[dict[ResourceName, Optional[Quantity]]] = None
    limits: Optional[dict[ResourceName, Optional[Quantity]]] = None


class InstanceType(Body):
    nodeSelector: Optional[Annotated[dict[Label, LabelValue], Field(max_length=64)]] = None
    resources: Optional[InstanceTypeResources] = None


class KubernetesProperties(Body):
    namespace: Optional[Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]] = None
    defaultInstanceType: Optional[InstanceTypeName] = None
    instanceTypes: Optional[Annotated[dict[InstanceTypeName, InstanceType], Field(max_length=100)]] = None
    # Connection details of the cluster's Azure ML extension: recorded only.
    relayConnectionString: Optional[Text] = None
    serviceBusConnectionString: Optional[Text] = None
    extensionPrincipalId: Optional[Text] = None
    extensionInstanceReleaseTrain: Optional[Text] = None
    vcName: Optional[Text] = None


class KubernetesComputeProperties(Body):
    computeType: Literal["Kubernetes"]
    resourceId: ArmId
    computeLocation: Optional[Location] = None
    description: Optional[Text] = None
    properties: Optional[KubernetesProperties] = None


class Identity(Body):
    type: Literal["None", "SystemAssigned", "UserAssigned", "SystemAssigned,UserAssigned"]
    userAssignedIdentities: Optional[dict[ArmId, Optional[dict]]] = None


class ComputePut(Body):
    """``PUT .../computes/{name}`` of the v2 client: attach a Kubernetes cluster."""

    location: Optional[Location] = None
    tags: Optional[StringMap] = None
    identity: Optional[Identity] = None
    properties: KubernetesComputeProperties
