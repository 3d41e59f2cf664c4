"""Request schemas of the webservice routes: the SDK's create payload (AKS, ACI and local deployment
configurations), its JSON-patch update, key regeneration and the list/log queries.

Ranges are the SDK's own client-side checks (AksWebservice.deploy_configuration: replicas, probe
timings, timeouts "must be greater than zero", gpu_cores ">= 0", the Kubernetes namespace regex) plus
generous upper bounds where Azure documents none (listed in docs/parity.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional, Union

from pydantic import Discriminator, Field, RootModel, StringConstraints, Tag, model_validator

from ...errors import ValidationFailed
from ...validation import Body, Description, FilePath, JsonPatch, KvMap, Query, ResourceSegment, named
from ..environments.schema import EnvironmentDefinition
from ..workspaces.schema import Location

MAX_REPLICAS = 1000  # no documented limit; an AKS node pool holds at most 1000 nodes
MAX_GPUS = 64
MAX_CPU_CORES = 1024
MAX_MEMORY_GB = 16384
MAX_MS = 3_600_000  # scoring timeout and queue wait: an hour at most
MAX_PROBE_SECONDS = 86_400
MAX_ASSETS = 100
MAX_MODELS = 1000
# azureml._model_management._constants.NAMESPACE_REGEX
NAMESPACE_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
# A key is sent back in an Authorization header: visible ASCII, no spaces.
KEY_PATTERN = r"^[\x21-\x7e]{1,256}$"


def _invalid_name(value: Any) -> Exception:
    from .service import INVALID_NAME

    return ValidationFailed(INVALID_NAME, code="WebserviceValidation")


if TYPE_CHECKING:
    ServiceName = str  # what the type checker sees: named() builds the validating type at run time
else:
    ServiceName = named(r"[a-z]([-a-z0-9]{1,30}[a-z0-9])", _invalid_name)
Positive = Annotated[int, Field(ge=1)]
ReplicaCount = Annotated[int, Field(ge=1, le=MAX_REPLICAS)]
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Text = Annotated[str, StringConstraints(max_length=1024, pattern=r"^[^\x00-\x1f\x7f]*$")]


class AutoScaler(Body):
    autoscaleEnabled: Optional[bool] = None
    minReplicas: Optional[ReplicaCount] = None
    maxReplicas: Optional[ReplicaCount] = None
    refreshPeriodInSeconds: Optional[Annotated[int, Field(ge=1, le=MAX_PROBE_SECONDS)]] = None
    targetUtilization: Optional[Annotated[int, Field(ge=1, le=100)]] = None  # a percentage

    @model_validator(mode="after")
    def _min_not_above_max(self) -> "AutoScaler":
        if self.minReplicas is not None and self.maxReplicas is not None and self.minReplicas > self.maxReplicas:
            raise ValueError("minReplicas cannot be greater than maxReplicas")
        return self


class ContainerResources(Body):
    cpu: Optional[Annotated[float, Field(gt=0, le=MAX_CPU_CORES)]] = None
    cpuLimit: Optional[Annotated[float, Field(gt=0, le=MAX_CPU_CORES)]] = None
    memoryInGB: Optional[Annotated[float, Field(gt=0, le=MAX_MEMORY_GB)]] = None
    memoryInGBLimit: Optional[Annotated[float, Field(gt=0, le=MAX_MEMORY_GB)]] = None
    gpu: Optional[Annotated[int, Field(ge=0, le=MAX_GPUS)]] = None


class LivenessProbe(Body):
    periodSeconds: Optional[Annotated[int, Field(ge=1, le=MAX_PROBE_SECONDS)]] = None
    initialDelaySeconds: Optional[Annotated[int, Field(ge=1, le=MAX_PROBE_SECONDS)]] = None
    timeoutSeconds: Optional[Annotated[int, Field(ge=1, le=MAX_PROBE_SECONDS)]] = None
    successThreshold: Optional[Annotated[int, Field(ge=1, le=1000)]] = None
    failureThreshold: Optional[Annotated[int, Field(ge=1, le=1000)]] = None


class DataCollection(Body):
    eventHubEnabled: Optional[bool] = None
    storageEnabled: Optional[bool] = None


class AssetRef(Body):
    id: ResourceSegment


class EnvironmentImageRequest(Body):
    # Where these paths may point is the engine's business (resolved inside the service's folder);
    # here: their type and length.
    driverProgram: Optional[FilePath] = None
    assets: Optional[Annotated[list[AssetRef], Field(max_length=MAX_ASSETS)]] = None
    modelIds: Optional[Annotated[list[ResourceSegment], Field(max_length=MAX_MODELS)]] = None
    environment: Optional[EnvironmentDefinition] = None
    sourceDirectory: Optional[FilePath] = None
    gpu: Optional[bool] = None


class DeployableImageRequest(EnvironmentImageRequest):
    """What a service runs: an entry script in uploaded assets (the SDK's ``_build_environment_image_request``),
    or, for a no-code deployment, ``modelIds`` alone (``build_and_validate_no_code_environment_image_request``;
    emulator/deploy/no_code.py supplies the environment and the entry script)."""

    assets: Optional[Annotated[list[AssetRef], Field(min_length=1, max_length=MAX_ASSETS)]] = None

    @model_validator(mode="after")
    def _entry_script_or_no_code(self) -> "DeployableImageRequest":
        if (self.driverProgram is None) != (self.assets is None):
            missing = "driverProgram" if self.driverProgram is None else "assets"
            raise ValueError(f"{missing} is required: an entry script comes as driverProgram with its assets "
                             "(a no-code deployment sends neither).")
        if self.driverProgram is None and (self.environment is not None or self.sourceDirectory is not None):
            raise ValueError("driverProgram is required with an environment or a sourceDirectory (a no-code "
                             "deployment sends modelIds alone).")
        return self


class Keys(Body):
    primaryKey: Optional[Key] = None
    secondaryKey: Optional[Key] = None


class LocalSource(Body):
    sourceDirectory: Optional[FilePath] = None
    entryScript: Optional[FilePath] = None


class ServiceCreate(Body):
    """``POST .../services``: the SDK's create payload (``_build_create_payload``)."""

    name: ServiceName
    computeType: Optional[Annotated[str, StringConstraints(max_length=64)]] = None
    computeName: Optional[Annotated[str, StringConstraints(max_length=255)]] = None
    description: Optional[Description] = None
    kvTags: Optional[KvMap] = None
    properties: Optional[KvMap] = None
    authEnabled: Optional[bool] = None
    aadAuthEnabled: Optional[bool] = None
    appInsightsEnabled: Optional[bool] = None
    numReplicas: Optional[ReplicaCount] = None
    autoScaler: Optional[AutoScaler] = None
    containerResourceRequirements: Optional[ContainerResources] = None
    maxConcurrentRequestsPerContainer: Optional[Annotated[int, Field(ge=1, le=1000)]] = None
    maxQueueWaitMs: Optional[Annotated[int, Field(ge=1, le=MAX_MS)]] = None
    scoringTimeoutMs: Optional[Annotated[int, Field(ge=1, le=MAX_MS)]] = None
    livenessProbeRequirements: Optional[LivenessProbe] = None
    dataCollection: Optional[DataCollection] = None
    environmentImageRequest: DeployableImageRequest
    keys: Optional[Keys] = None
    namespace: Optional[Annotated[str, StringConstraints(pattern=NAMESPACE_PATTERN)]] = None
    location: Optional[Location] = None
    # ACI
    cname: Optional[Text] = None
    dnsNameLabel: Optional[Text] = None
    sslEnabled: Optional[bool] = None
    # Local (LocalWebservice): 0 or absent means any free port.
    port: Optional[Annotated[int, Field(ge=0, le=65535)]] = None
    localSource: Optional[LocalSource] = None


# --- AKS endpoints (AksEndpoint: versions behind one scoring URI, a traffic split between them) ---------

# "You can deploy up to six versions behind a single endpoint" (how-to-deploy-azure-kubernetes-service).
MAX_ENDPOINT_VERSIONS = 6
ENDPOINT = "AKSENDPOINT"
Percentile = Annotated[int, Field(ge=0, le=100)]


class VersionCreate(ServiceCreate):
    """One version of an endpoint: an AKS service body (the SDK's ``AksServiceDeploymentConfiguration``
    payload) and its place behind the endpoint. ``update_version`` patches ``tags`` (not ``kvTags``)."""

    trafficPercentile: Optional[Percentile] = None
    isDefault: Optional[bool] = None
    type: Optional[Literal["Control", "Treatment"]] = None
    tags: Optional[KvMap] = None


class EndpointCreate(Body):
    """``POST .../services`` with computeType AKSENDPOINT (``AksEndpointDeploymentConfiguration``)."""

    name: ServiceName
    computeType: Literal["AKSENDPOINT"]
    computeName: Optional[Annotated[str, StringConstraints(max_length=255)]] = None
    description: Optional[Description] = None
    kvTags: Optional[KvMap] = None
    properties: Optional[KvMap] = None
    authEnabled: Optional[bool] = None
    aadAuthEnabled: Optional[bool] = None
    appInsightsEnabled: Optional[bool] = None
    keys: Optional[Keys] = None
    namespace: Optional[Annotated[str, StringConstraints(pattern=NAMESPACE_PATTERN)]] = None
    location: Optional[Location] = None
    versions: Annotated[dict[ServiceName, VersionCreate], Field(min_length=1, max_length=MAX_ENDPOINT_VERSIONS)]


def _create_kind(value: Any) -> str:
    # Tags in the "kind[...]" form are left out of a failure's field path (validation._UNION_MEMBER).
    compute_type = value.get("computeType") if isinstance(value, dict) else getattr(value, "computeType", None)
    return "create[endpoint]" if compute_type == ENDPOINT else "create[service]"


class ServiceRequest(RootModel[Annotated[Union[Annotated[ServiceCreate, Tag("create[service]")],
                                               Annotated[EndpointCreate, Tag("create[endpoint]")]],
                                         Discriminator(_create_kind)]]):
    """``POST .../services``: a service (AKS, ACI, Local) or an AKS endpoint, told apart by computeType."""


class CreateQuery(Query):
    overwrite: bool = False


class ServiceListQuery(Query):
    computeType: Optional[Annotated[str, StringConstraints(max_length=64)]] = None
    modelName: Optional[Annotated[str, StringConstraints(max_length=255)]] = None
    modelId: Optional[Annotated[str, StringConstraints(max_length=300)]] = None
    tags: Optional[Annotated[str, StringConstraints(max_length=8192)]] = None
    properties: Optional[Annotated[str, StringConstraints(max_length=8192)]] = None


MAX_LOG_LINES = 1_000_000


class LogsQuery(Query):
    tail: Annotated[int, Field(ge=1, le=MAX_LOG_LINES)] = 5000
    init: bool = False


class RegenerateKeys(Body):
    """``POST .../services/{name}/regenerateKeys``."""

    keyType: Literal["Primary", "Secondary"]
    keyValue: Optional[Key] = None


# --- JSON patch (the SDK's update()) ---------------------------------------------------------------

# Each value is checked against the create payload's type at its path (/numReplicas, /autoScaler/minReplicas,
# /properties/<key>, ...); which paths may change at all is the service's rule (apply_patch), and the
# patched record is checked against ServiceCreate again (a patch cannot leave what create refuses).
class PatchTarget(ServiceCreate):
    """What a JSON patch may address: a service's fields, and an endpoint's versions (``/versions/<name>``,
    ``/versions/<name>/trafficPercentile``...), each checked as its create payload's."""

    versions: Optional[dict[str, VersionCreate]] = None


PATCH = JsonPatch(PatchTarget)
