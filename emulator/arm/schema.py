"""Request schemas of the SDK v2 routes (ARM asset bodies, datastore secrets, pending uploads, the storage
account's block list), checked by emulator/validation.py before a handler runs."""
from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from ..validation import _NO_CONTROL, MAX_DESCRIPTION, Body, Query, canonical

# azure-ai-ml's asset name rule (and the service's): letters, digits, '-', '_', '.', up to 255 characters.
AssetName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,254}$")]
# Anonymous environments (a deployment's inline Environment) are versioned by a 64-hex content hash.
AssetVersion = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9\-_.]{0,127}$")]
DatastoreName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_]{1,255}$")]
Uri = Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=rf"^{_NO_CONTROL}+$")]
Text = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)]
# Asset tags and properties: string maps (the SDK sends text; numbers and booleans pass as ARM binds them).
StringMap = Annotated[dict[Annotated[str, StringConstraints(min_length=1, max_length=512)],
                           Union[Text, int, float, bool, None]], Field(max_length=1000)]
MAX_CONDA_FILE = 1024 * 1024


class AssetProperties(Body):
    description: Optional[Text] = None
    tags: Optional[StringMap] = None
    properties: Optional[StringMap] = None
    isAnonymous: Optional[bool] = None
    isArchived: Optional[bool] = None


class ModelVersionProperties(AssetProperties):
    modelType: Optional[Annotated[str, StringConstraints(max_length=64)]] = None
    modelUri: Uri
    flavors: Optional[dict[str, Optional[dict]]] = None
    stage: Optional[Annotated[str, StringConstraints(max_length=64)]] = None
    jobName: Optional[Text] = None


class ModelVersionPut(Body):
    """``PUT .../models/{name}/versions/{version}``."""

    properties: ModelVersionProperties


class BuildContext(Body):
    contextUri: Uri
    dockerfilePath: Optional[Annotated[str, StringConstraints(min_length=1, max_length=1024)]] = None


class EnvironmentVersionProperties(AssetProperties):
    image: Optional[Annotated[str, StringConstraints(min_length=1, max_length=1024,
                                                     pattern=rf"^{_NO_CONTROL}+$")]] = None
    condaFile: Optional[Annotated[str, StringConstraints(max_length=MAX_CONDA_FILE)]] = None
    build: Optional[BuildContext] = None
    osType: Optional[Literal["Linux", "Windows"]] = None
    inferenceConfig: Optional[dict] = None

    @model_validator(mode="after")
    def image_or_build(self) -> "EnvironmentVersionProperties":
        if (self.image is None) == (self.build is None):
            raise ValueError("exactly one of image and build must be given")
        return self


class EnvironmentVersionPut(Body):
    """``PUT .../environments/{name}/versions/{version}``."""

    properties: EnvironmentVersionProperties


class CodeVersionProperties(AssetProperties):
    codeUri: Uri


class CodeVersionPut(Body):
    """``PUT .../codes/{name}/versions/{version}``."""

    properties: CodeVersionProperties


class ListSecretsBody(Body):
    """``POST .../datastores/{name}/listSecrets`` (azure-ai-ml asks for an expiring secret)."""

    expirableSecret: Optional[bool] = None
    expireAfterHours: Optional[Annotated[int, Field(ge=1, le=24 * 365)]] = None


class PendingUploadBody(Body):
    """``POST .../codes/{name}/versions/{version}/startPendingUpload``."""

    pendingUploadType: Optional[Literal["TemporaryBlobReference", "None"]] = None
    pendingUploadId: Optional[Annotated[str, StringConstraints(max_length=256, pattern=rf"^{_NO_CONTROL}*$")]] = None


LIST_VIEW_TYPES = ("ActiveOnly", "ArchivedOnly", "All")
# Which versions or containers a list shows by their archive flag (azure-ai-ml sends ActiveOnly by default).
ListViewType = Annotated[str, AfterValidator(lambda v: canonical(v, LIST_VIEW_TYPES))]


class ContainerListQuery(Query):
    """``GET .../{kind}``: the asset's containers."""

    listViewType: Optional[ListViewType] = None


class VersionListQuery(Query):
    """``GET .../{kind}/{name}/versions``: newest first by default; ``$top`` bounds the page."""

    top: Optional[Annotated[int, Field(ge=1, le=1000)]] = Field(default=None, alias="$top")
    orderBy: Optional[Annotated[str, StringConstraints(max_length=128)]] = Field(default=None, alias="$orderBy")
    hash: Optional[Annotated[str, StringConstraints(max_length=128)]] = None
    listViewType: Optional[ListViewType] = None


class DatastoreListQuery(Query):
    isDefault: Optional[bool] = None


class BlockList(Body):
    """A Put Block List body, read from its XML: the ids of the blocks to commit, in order."""

    tag: Literal["BlockList"]
    ids: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=128)]], Field(max_length=50_000)]


class MetadataQuery(Query):
    """``GET /metadata/endpoints`` (azure-ai-ml's cloud discovery)."""

    api_version: Optional[Annotated[str, StringConstraints(max_length=32)]] = Field(default=None,
                                                                                   alias="api-version")


class TokenQuery(Query):
    """``GET /msi/token``: the App Service managed-identity protocol azure-identity speaks."""

    api_version: Optional[Annotated[str, StringConstraints(max_length=32)]] = Field(default=None,
                                                                                   alias="api-version")
    resource: Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=rf"^{_NO_CONTROL}+$")]
