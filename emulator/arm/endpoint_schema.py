"""Request schemas of the SDK v2 online-endpoint routes (endpoint bodies, key regeneration), checked by
emulator/validation.py before a handler runs."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from ..validation import _NO_CONTROL, Body, canonical
from .schema import StringMap, Text

# The service's naming rules: an endpoint starts with a letter, a deployment with a letter or digit; both
# 3 to 32 letters, digits and '-'.
EndpointName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{2,31}$")]
DeploymentName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9-]{2,31}$")]
Percent = Annotated[int, Field(ge=0, le=100)]
# A region's name or display name ("eastus", "East US"): letters, digits and inner spaces.
Location = Annotated[str, StringConstraints(min_length=1, max_length=64,
                                            pattern=r"^[a-zA-Z0-9]([a-zA-Z0-9 ]*[a-zA-Z0-9])?$")]
ArmId = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=rf"^{_NO_CONTROL}+$")]
NETWORK_ACCESS = ("Enabled", "Disabled")


NetworkAccess = Annotated[str, AfterValidator(lambda v: canonical(v, NETWORK_ACCESS))]


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
    publicNetworkAccess: Optional[NetworkAccess] = None


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


# --- deployments -------------------------------------------------------------------------------------------

# ISO 8601 durations of hours, minutes and seconds, as the client writes them (PT5S, PT0.5S, PT1M).
Duration = Annotated[str, StringConstraints(max_length=32,
                                            pattern=r"^PT(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?$")]
Threshold = Annotated[int, Field(ge=1, le=1000)]
EnvironmentVariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,255}$")]
RelativeScript = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=rf"^{_NO_CONTROL}+$")]


class CodeConfiguration(Body):
    codeId: ArmId
    scoringScript: RelativeScript


class RequestSettings(Body):
    requestTimeout: Optional[Duration] = None
    maxConcurrentRequestsPerInstance: Optional[Threshold] = None
    maxQueueWait: Optional[Duration] = None


class ProbeSettings(Body):
    initialDelay: Optional[Duration] = None
    period: Optional[Duration] = None
    timeout: Optional[Duration] = None
    successThreshold: Optional[Threshold] = None
    failureThreshold: Optional[Threshold] = None


class ScaleSettings(Body):
    """``Default`` (managed and Kubernetes), or ``TargetUtilization`` (Kubernetes: the autoscaler's settings)."""

    scaleType: Literal["Default", "TargetUtilization"]
    minInstances: Optional[Annotated[int, Field(ge=0, le=1000)]] = None
    maxInstances: Optional[Annotated[int, Field(ge=1, le=1000)]] = None
    pollingInterval: Optional[Duration] = None
    targetUtilizationPercentage: Optional[Annotated[int, Field(ge=1, le=100)]] = None

    @model_validator(mode="after")
    def min_within_max(self) -> "ScaleSettings":
        if self.minInstances is not None and self.maxInstances is not None and self.minInstances > self.maxInstances:
            raise ValueError("minInstances cannot be more than maxInstances")
        return self


# A Kubernetes quantity as the client sends it: "2", "0.5", "100m" cores; "2Gi", "512Mi", "1G" bytes.
Quantity = Annotated[str, StringConstraints(max_length=32, pattern=r"^\d+(\.\d+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")]


class ResourceSettings(Body):
    cpu: Optional[Quantity] = None
    memory: Optional[Quantity] = None
    gpu: Optional[Quantity] = None


class ContainerResourceRequirements(Body):
    """A Kubernetes deployment's ``resources`` (what overrides its instance type's requests and limits)."""

    containerResourceRequests: Optional[ResourceSettings] = None
    containerResourceLimits: Optional[ResourceSettings] = None


class OnlineDeploymentProperties(Body):
    endpointComputeType: Literal["Managed", "Kubernetes"]
    # Managed: a VM size (required: checked by the handler); Kubernetes: an instance type of the attached
    # compute, its default when none is named.
    instanceType: Optional[Annotated[str, StringConstraints(min_length=1, max_length=64,
                                                            pattern=r"^[A-Za-z0-9_-]+$")]] = None
    containerResourceRequirements: Optional[ContainerResourceRequirements] = None
    environmentId: ArmId
    model: Optional[ArmId] = None
    codeConfiguration: Optional[CodeConfiguration] = None
    environmentVariables: Optional[Annotated[dict[EnvironmentVariableName, Annotated[str, StringConstraints(
        max_length=32768)]], Field(max_length=1000)]] = None
    requestSettings: Optional[RequestSettings] = None
    livenessProbe: Optional[ProbeSettings] = None
    readinessProbe: Optional[ProbeSettings] = None
    scaleSettings: Optional[ScaleSettings] = None
    description: Optional[Text] = None
    properties: Optional[StringMap] = None
    appInsightsEnabled: Optional[bool] = None
    egressPublicNetworkAccess: Optional[NetworkAccess] = None


class DeploymentSku(Body):
    name: Optional[Annotated[str, StringConstraints(max_length=64)]] = None
    capacity: Optional[Annotated[int, Field(ge=1, le=100)]] = None


class OnlineDeploymentPut(Body):
    """``PUT .../onlineEndpoints/{endpoint}/deployments/{name}``."""

    location: Location
    tags: Optional[StringMap] = None
    properties: OnlineDeploymentProperties
    sku: Optional[DeploymentSku] = None


class GetLogsBody(Body):
    """``POST .../deployments/{name}/getLogs``."""

    containerType: Optional[Literal["StorageInitializer", "InferenceServer"]] = None
    tail: Optional[Annotated[int, Field(ge=1, le=100000)]] = None
