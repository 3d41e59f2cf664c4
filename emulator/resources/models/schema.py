"""Request schemas of the model registry: the registration's ``metadata`` field, its JSON patch, the list query."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional

from pydantic import Field, StringConstraints

from ...validation import Body, Description, JsonPatch, KvMap, Query, named

Text = Annotated[str, StringConstraints(max_length=1024, pattern=r"^[^\x00-\x1f\x7f]*$")]
MAX_LIST_COUNT = 100_000


def _invalid_name(value: Any) -> Exception:
    from .service import INVALID_NAME, ModelValidation

    return ModelValidation(INVALID_NAME)


# azureml._model_management._util.model_name_validation, with the SDK's text.
if TYPE_CHECKING:
    ModelName = str  # what the type checker sees: named() builds the validating type at run time
else:
    ModelName = named(r"[a-zA-Z0-9][a-zA-Z0-9\-\._]{0,254}", _invalid_name)


class ModelRegistration(Body):
    """The ``metadata`` JSON field of ``POST .../models`` (the SDK's model DTO)."""

    name: ModelName
    description: Optional[Description] = None
    kvTags: Optional[KvMap] = None
    properties: Optional[KvMap] = None
    framework: Optional[Text] = None
    frameworkVersion: Optional[Text] = None
    mimeType: Optional[Text] = None
    unpack: Optional[bool] = None
    experimentName: Optional[Text] = None
    runId: Optional[Text] = None
    datasets: Optional[Annotated[list[dict[str, Any]], Field(max_length=1000)]] = None
    sampleInputData: Optional[Text] = None
    sampleOutputData: Optional[Text] = None
    resourceRequirements: Optional[dict[str, Any]] = None


# Model.update / update_tags_properties / add_dataset_references: values typed as at registration.
PATCH = JsonPatch(ModelRegistration)


class ModelListQuery(Query):
    name: Optional[Annotated[str, StringConstraints(max_length=255)]] = None
    framework: Optional[Text] = None
    tags: Optional[Annotated[str, StringConstraints(max_length=8192)]] = None
    properties: Optional[Annotated[str, StringConstraints(max_length=8192)]] = None
    runId: Optional[Text] = None
    datasetId: Optional[Text] = None
    latestVersionOnly: bool = False
    count: Optional[Annotated[int, Field(ge=1, le=MAX_LIST_COUNT)]] = None
