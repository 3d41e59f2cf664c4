"""Mirror of ``azureml.data.dataset_factory``: ``Dataset.File.from_files`` and
``Dataset.Tabular.from_delimited_files`` over datastore paths.

Paths are ``(datastore, 'path/glob')`` tuples, ``DataPath`` or ``DataReference`` objects (or a list of
them), checked with the SDK's rules and texts; web URLs, ``partition_format`` and ``set_column_types`` are
not emulated and say so. ``Dataset.File.upload_directory`` uploads through the datastore."""
from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import sys
from pathlib import Path
from typing import Any

from ..exceptions import UserErrorException
from .data_reference import DataReference
from .datapath import DataPath
from .dataset_error_handling import DatasetValidationError
from .dataset_type_definitions import FileEncoding, PromoteHeadersBehavior

_INVALID_PATH = ('Invalid argument type for `path`. It can be single value or a list of: '
                 'string starting with "http://" or "https://", '
                 '`azureml.data.datapath.DataPath` object, '
                 'or tuple of `azureml.core.Datastore` object and string for relative path in the datastore.'
                 'Url of blob can\'t contains SAS token, please use datastore instead.')
_NOT_EMULATED = "{} is not emulated by the local cloud (docs/parity.md): use datastore paths, e.g. " \
                "(ws.get_default_datastore(), 'folder/*.csv')."


def _parse_encoding(name: str) -> FileEncoding:
    try:
        return FileEncoding[name.upper()]
    except KeyError:
        raise UserErrorException((
            "Invalid encoding '{}'. The supported encodings are 'utf8', 'iso88591', "
            "'latin1', 'ascii', 'utf16', 'utf32', 'utf8bom' and 'windows1252'.").format(name)) from None


class TabularDatasetFactory:
    """Creates TabularDatasets (``Dataset.Tabular``)."""

    @staticmethod
    def from_delimited_files(path, validate=True, include_path=False, infer_column_types=True, set_column_types=None,
                             separator=",", header=True, partition_format=None, support_multi_line=False,
                             empty_as_string=False, encoding="utf8"):
        """A TabularDataset of the delimited files at ``path`` (CSV by default, first row as header)."""
        from .tabular_dataset import TabularDataset

        if header is True or header == "ALL_FILES_HAVE_SAME_HEADERS":
            header = PromoteHeadersBehavior.ALL_FILES_HAVE_SAME_HEADERS
        elif header is False or header == "NO_HEADERS":
            header = PromoteHeadersBehavior.NO_HEADERS
        elif header == "ONLY_FIRST_FILE_HAS_HEADERS":
            header = PromoteHeadersBehavior.ONLY_FIRST_FILE_HAS_HEADERS
        elif header == "COMBINE_ALL_FILES_HEADERS":
            header = PromoteHeadersBehavior.COMBINE_ALL_FILES_HEADERS
        elif isinstance(header, str):
            raise UserErrorException("Unsupported header provided. The allowed values are "
                                     "NO_HEADERS"
                                     "ONLY_FIRST_FILE_HAS_HEADERS"
                                     "COMBINE_ALL_FILES_HEADERS"
                                     "ALL_FILES_HAVE_SAME_HEADERS")
        encoding = _parse_encoding(encoding)
        paths = _validate_and_normalize_path(path)
        if set_column_types is not None:
            raise UserErrorException(_NOT_EMULATED.format("set_column_types"))
        if partition_format:
            raise UserErrorException(_NOT_EMULATED.format("partition_format"))
        options = {"separator": separator, "header": _header_value(header),
                   "inferColumnTypes": bool(infer_column_types),
                   "includePath": bool(include_path), "encoding": encoding.name.lower(),
                   "emptyAsString": bool(empty_as_string), "supportMultiLine": bool(support_multi_line)}
        dataset = TabularDataset._create(*_definition("Tabular", paths, options))
        if validate or infer_column_types:
            _validate_has_data(dataset, "Failed to validate the data.If data is inaccessible, please set validate "
                                        "to False." if validate else
                               "Failed to infer column type.If data is inaccessible, please turn off inference.")
        return dataset


class FileDatasetFactory:
    """Creates FileDatasets (``Dataset.File``)."""

    @staticmethod
    def from_files(path, validate=True, partition_format=None, is_file=False):
        """A FileDataset of the files at ``path`` (files, folders or globs on datastores)."""
        from .file_dataset import FileDataset

        paths = _validate_and_normalize_path(path)
        if partition_format:
            raise UserErrorException(_NOT_EMULATED.format("partition_format"))
        return FileDataset._create(*_definition("File", paths, {"isFile": bool(is_file)}))

    @staticmethod
    def upload_directory(src_dir, target, pattern=None, overwrite=False, show_progress=True):
        """Upload the folder ``src_dir`` to ``target`` (a datastore, a DataPath or ``(datastore, path)``),
        keeping only files whose absolute path matches ``pattern`` if given; returns a FileDataset of it."""
        def console(message):
            if show_progress:
                sys.stdout.write("{}\n".format(message))

        src_dir = Path(src_dir).absolute().as_posix()
        console("Validating arguments.")
        if pattern is not None and not isinstance(pattern, str):
            raise ValueError("Expected {} of type {} but received {}".format("pattern", str, type(pattern)))
        datastore, relative_path = _parse_target(target)
        console("Arguments validated.")
        console("'overwrite' is set to True. Any file already present in the target will be overwritten." if overwrite
                else "'overwrite' is set to False. Any file already present in the target will be skipped.'")
        console("Uploading files from '{}' to '{}'".format(src_dir, relative_path))
        files = sorted(Path(folder, name).as_posix() for folder, _, names in os.walk(src_dir) for name in names)
        if pattern is not None:
            console("Filtering files with pattern matching {}".format(pattern))
            files = [f for f in files if fnmatch.fnmatch(f, pattern)]
            if not files:
                console("No files found with pattern {}".format(pattern))
        base = relative_path.strip("/")
        uploads = [(f, posixpath.join(base, posixpath.relpath(f, src_dir)) if base else posixpath.relpath(f, src_dir))
                   for f in files]
        if uploads:
            datastore._start_upload(uploads, overwrite, show_progress)
        console("Creating new dataset")
        return FileDatasetFactory.from_files(DataPath(datastore, "/%s" % relative_path if relative_path else None))


def _parse_target(target: Any) -> tuple[Any, str | None]:
    """(datastore, path) of an upload target, as the SDK's parse_target reads it."""
    from .azure_storage_datastore import AbstractAzureStorageDatastore

    datastore, relative_path = None, None
    if isinstance(target, AbstractAzureStorageDatastore):
        datastore, relative_path = target, "/"
    elif isinstance(target, DataPath):
        datastore = target._datastore
        relative_path = "/" if target.path_on_datastore is None else target.path_on_datastore
    elif isinstance(target, tuple) and len(target) == 2:
        datastore, relative_path = target
    if not isinstance(datastore, AbstractAzureStorageDatastore):
        raise ValueError("The target type is not supported, target: {}".format(target))
    return datastore, relative_path


def _header_value(header: Any) -> int:
    return header.value if isinstance(header, PromoteHeadersBehavior) else int(header)


def _definition(dataset_type: str, paths: list[DataPath], options: dict[str, Any]) -> tuple[dict, dict]:
    definition = {"datasetType": dataset_type,
                  "paths": [{"datastoreName": p.datastore_name, "path": p.path_on_datastore or ""} for p in paths],
                  "options": options}
    return definition, {p.datastore_name: p._datastore for p in paths}


def _validate_has_data(dataset: Any, error_message: str) -> None:
    files, missing = dataset._resolve()
    if missing or not files:
        raise DatasetValidationError(error_message + "\n" + "Found no resources for the input provided: {}".format(
            ", ".join(missing)))


def _validate_and_normalize_path(path: Any) -> list[DataPath]:
    from .azure_storage_datastore import AbstractDatastore

    invalid_path_error = UserErrorException(_INVALID_PATH)
    if path is None:
        raise invalid_path_error
    if not isinstance(path, list):
        path = [path]
    if len(path) == 0:
        raise invalid_path_error
    if all(isinstance(p, str) for p in path):
        if any(not re.match(r"^(https?|adl|wasbs?|abfss?)://", p, re.IGNORECASE) for p in path):
            raise invalid_path_error
        raise UserErrorException(_NOT_EMULATED.format("Reading datasets from URLs"))
    normalized = []
    for p in path:
        if isinstance(p, DataPath):
            normalized.append(p)
        elif isinstance(p, DataReference):
            normalized.append(DataPath(p.datastore, p.path_on_datastore))
        elif isinstance(p, tuple):
            if len(p) == 2 and isinstance(p[0], AbstractDatastore) and isinstance(p[1], str):
                normalized.append(DataPath(*p))
            else:
                raise UserErrorException("Invalid tuple for path. Please make sure the tuple consists of a datastore "
                                         "and a path/SQL query")
        else:
            raise invalid_path_error
    return normalized
