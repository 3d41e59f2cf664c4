"""Mirror of ``azureml.data.tabular_dataset``: rows read from delimited files on a datastore
(``Dataset.Tabular.from_delimited_files``)."""
from __future__ import annotations

from .abstract_dataset import AbstractDataset


class TabularDataset(AbstractDataset):
    """Delimited files on datastores, parsed into rows when used (``to_pandas_dataframe``)."""

    def __init__(self):
        super().__init__()

    def to_pandas_dataframe(self, on_error="null", out_of_range_datetime="null"):
        """Every row of the dataset as a pandas DataFrame (pandas must be installed, as with the SDK)."""
        from ._reading import read_delimited

        files, _ = self._resolve()
        return read_delimited(files, self._definition.get("options", {}))

    def _steps(self):
        return ["GetDatastoreFiles", "ParseDelimited", "DropColumns"] + (
            ["SetColumnTypes"] if self._definition.get("options", {}).get("inferColumnTypes") else [])
