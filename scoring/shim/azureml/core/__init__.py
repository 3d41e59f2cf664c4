"""Minimal ``azureml.core`` for replicas without azureml-core: only ``Model.get_model_path``."""
from .model import Model

__all__ = ["Model"]
