"""Mirror of ``azureml.data``: datastores and File/Tabular datasets, backed by the local cloud."""
from .file_dataset import FileDataset
from .tabular_dataset import TabularDataset

__all__ = ["FileDataset", "TabularDataset"]
