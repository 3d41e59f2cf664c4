"""Request schemas of the package and profile routes (the SDK's ``Model.package`` / ``Model.profile`` bodies)."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, StringConstraints

from ...validation import MAX_STORED_INT, Body, FilePath, Query
from ..services.schema import MAX_ASSETS, AssetRef, DeployableImageRequest

# Docker repository and tag components (lower-cased and cleaned up before use; docs/parity.md).
ImageName = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_./-]+$")]
ImageLabel = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")]
ProfileName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")]
# Rows of a profiling input: request bodies, sent as they are.
MAX_PROFILE_INPUTS = 10_000
InputRow = Annotated[str, StringConstraints(max_length=16 * 1024 * 1024)]


class PackageCreate(Body):
    """``POST .../packages``: the SDK's package request."""

    imageRequest: DeployableImageRequest
    packageType: Literal["DockerImage", "DockerBuildContext"] = "DockerImage"
    imageName: Optional[ImageName] = None
    imageLabel: Optional[ImageLabel] = None


class LogQuery(Query):
    offset: Annotated[int, Field(ge=0, le=MAX_STORED_INT)] = 0


class CodeImageRequest(DeployableImageRequest):
    """An image request with an entry script (the SDK's Model.profile requires an InferenceConfig)."""

    driverProgram: FilePath
    assets: Annotated[list[AssetRef], Field(min_length=1, max_length=MAX_ASSETS)]


class ProfileCreate(Body):
    """``POST .../profiles``: profile ``name`` (our body: the SDK's needs the dataset service, docs/parity.md)."""

    name: ProfileName
    description: Optional[Annotated[str, StringConstraints(max_length=4096)]] = None
    imageRequest: CodeImageRequest
    inputs: Annotated[list[InputRow], Field(min_length=1, max_length=MAX_PROFILE_INPUTS)]
    # The SDK's bounds (MIN/MAX_PROFILE_CPU, MIN/MAX_PROFILE_MEMORY in azureml.core.model).
    cpu: Optional[Annotated[float, Field(ge=0.1, le=3.5)]] = None
    memoryInGB: Optional[Annotated[float, Field(ge=0.1, le=15.0)]] = None
    inputDatasetId: Optional[Annotated[str, StringConstraints(max_length=255)]] = None


class ProfileQuery(Query):
    name: ProfileName
