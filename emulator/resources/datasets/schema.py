"""Request schemas of datasets: a dataset definition (saved datasets), a registration, the queries."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, StringConstraints

from ...validation import MAX_STORED_INT, Body, Description, KvMap, Query

_TEXT = r"^[^\x00-\x1f\x7f]*$"
# A path on a datastore, globs allowed ('folder/**/*.csv'); where it may point is checked on read.
DatastorePath = Annotated[str, StringConstraints(max_length=4096, pattern=_TEXT)]
DatastoreName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+$")]
# Azure documents no rule for dataset names; bounded, one path segment, no control characters.
DatasetName = Annotated[str, StringConstraints(min_length=1, max_length=250, pattern=r"^[^\x00-\x1f\x7f/\\]+$")]
ShortText = Annotated[str, StringConstraints(max_length=64, pattern=_TEXT)]


class DatastorePathRef(Body):
    """One ``(datastore, 'path/glob')`` of a dataset."""

    datastoreName: DatastoreName
    path: DatastorePath


class ReadOptions(Body):
    """How a tabular dataset's delimited files are read (the factory's arguments); files datasets send none."""

    separator: Optional[Annotated[str, StringConstraints(min_length=1, max_length=16)]] = None
    header: Optional[Annotated[int, Field(ge=0, le=3)]] = None  # PromoteHeadersBehavior's values
    inferColumnTypes: Optional[bool] = None
    includePath: Optional[bool] = None
    encoding: Optional[ShortText] = None
    emptyAsString: Optional[bool] = None
    supportMultiLine: Optional[bool] = None
    partitionFormat: Optional[DatastorePath] = None
    isFile: Optional[bool] = None


class DatasetDefinition(Body):
    """``POST .../saveddatasets``: what a dataset reads. Saving the same definition twice gives one id."""

    datasetType: Literal["File", "Tabular"]
    paths: Annotated[list[DatastorePathRef], Field(min_length=1, max_length=1000)]
    options: ReadOptions = Field(default_factory=ReadOptions)


class DatasetRegistration(Body):
    """``POST .../datasets``: a saved dataset registered under a name (a new version when asked)."""

    name: DatasetName
    savedDatasetId: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9a-f-]+$")]
    description: Optional[Description] = None
    tags: Optional[KvMap] = None
    createNewVersion: bool = False


class DatasetListQuery(Query):
    savedDatasetId: Optional[Annotated[str, StringConstraints(max_length=64)]] = None


class DatasetGetQuery(Query):
    version: Optional[Annotated[int, Field(ge=1, le=MAX_STORED_INT)]] = None
