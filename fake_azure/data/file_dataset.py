"""Mirror of ``azureml.data.file_dataset``: a dataset of files on a datastore (``Dataset.File.from_files``)."""
from __future__ import annotations

import os
import tempfile

from ..exceptions import UserErrorException
from ._reading import inside
from .abstract_dataset import AbstractDataset
from .dataset_error_handling import DatasetExecutionError


class FileDataset(AbstractDataset):
    """Files on datastores, read when used: ``download`` them or list them with ``to_path``."""

    def __init__(self):
        super().__init__()

    def _files(self, ignore_not_found=False):
        files, missing = self._resolve(is_file=self._definition.get("options", {}).get("isFile", False))
        if missing and not ignore_not_found:
            raise DatasetExecutionError("Found no resources for the input provided: {}".format(", ".join(missing)))
        return files

    def to_path(self):
        """The files' paths as ``download`` lays them out (relative to the pattern's base, '/'-prefixed)."""
        return ["/" + f.relative for f in self._files(ignore_not_found=True)]

    def download(self, target_path=None, overwrite=False, ignore_not_found=False):
        """Download the files into ``target_path`` (a new temporary folder by default); returns their paths."""
        target_path, is_empty = _ensure_path(target_path)
        files = self._files(ignore_not_found)
        download_list = [inside(target_path, f.relative) for f in files]
        if not is_empty and not overwrite:
            for p in download_list:
                if os.path.exists(p):
                    raise UserErrorException('File "{}" already exists. Set overwrite=True to overwrite it, \
                            or choose an empty target path.'.format(p))
        for file, local in zip(files, download_list):
            file.datastore._download_blob(file.path, local)
        return download_list

    def _steps(self):
        return ["GetDatastoreFiles"]


def _ensure_path(path):
    if not path or path.isspace():
        return tempfile.mkdtemp(), True
    if not os.path.exists(path):
        os.makedirs(path, exist_ok=True)
        return os.path.abspath(path), True
    is_empty = True
    for _, dirnames, files in os.walk(path):
        if files or dirnames:
            is_empty = False
            break
    return os.path.abspath(path), is_empty
