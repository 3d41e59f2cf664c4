"""Mirror of ``azureml.core.dataset``: ``Dataset.File`` / ``Dataset.Tabular`` factories and registered
dataset lookups (``get_by_name``, ``get_by_id``, ``get_all``)."""
from __future__ import annotations

from ..data.abstract_dataset import AbstractDataset


class Dataset(object):
    """Entry point to datasets: ``Dataset.Tabular.from_delimited_files(...)``, ``Dataset.File.from_files(...)``,
    ``Dataset.get_by_name(ws, name)``. The SDK's deprecated definition-based API is not emulated."""

    Tabular = AbstractDataset.Tabular
    File = AbstractDataset.File

    get_by_name = AbstractDataset.get_by_name
    get_by_id = AbstractDataset.get_by_id
    get_all = AbstractDataset.get_all
