"""``azureml.core.model.Model.get_model_path`` with the SDK's in-container resolution rules.

Used only in replicas whose interpreter lacks azureml-core (score.py often imports ``Model`` just
for this call). There is no workspace inside a replica, so lookup is purely local, as in Azure.
"""
from __future__ import annotations

import logging
import os

from azureml.exceptions import ModelNotFoundException, WebserviceException

module_logger = logging.getLogger(__name__)

# Computed at import time, like the SDK: changing AML_APP_ROOT later has no effect.
MODELS_DIR = os.path.join(os.environ.get("AML_APP_ROOT", ""), "azureml-models")


class Model:
    """Only the static ``get_model_path`` of ``azureml.core.model.Model``."""

    @staticmethod
    def get_model_path(model_name, version=None, _workspace=None):
        """Path of a model's single file/folder under ``MODELS_DIR``, else ``./<model_name>``."""
        if version is not None and not isinstance(version, int):
            raise WebserviceException("version should be an int", logger=module_logger)
        if version is not None:
            try:
                return Model._get_model_path_local(model_name, version)
            except ModelNotFoundException as ee:
                # The SDK re-raises under a different class when a version was asked for.
                raise WebserviceException(ee.message, logger=module_logger) from None
        return Model._get_model_path_local(model_name, version)

    @staticmethod
    def _get_model_path_local(model_name, version=None):
        if version is not None and not isinstance(version, int):
            raise WebserviceException("version should be an int", logger=module_logger)
        if model_name is None:
            raise WebserviceException("model_name is None", logger=module_logger)
        candidate = os.path.join(MODELS_DIR, model_name)
        if not os.path.exists(candidate):
            return Model._get_model_path_local_from_root(model_name)
        if version is None:
            version = Model._get_latest_version(os.listdir(candidate))
        candidate = os.path.join(candidate, str(version))
        if not os.path.exists(candidate):
            return Model._get_model_path_local_from_root(model_name)
        entries = os.listdir(candidate)
        if len(entries) != 1:
            raise WebserviceException("Dir {} can contain only 1 file or folder. Found {}".format(
                candidate, entries), logger=module_logger)
        return os.path.join(candidate, entries[0])

    @staticmethod
    def _get_model_path_local_from_root(model_name):
        if os.path.exists(model_name):
            return model_name
        raise ModelNotFoundException("Model {} not found in cache at {} or in current working directory {}. "
                                     "For more info, set logging level to DEBUG.".format(
                                         model_name, MODELS_DIR, os.getcwd()))

    @staticmethod
    def _get_latest_version(versions):
        if not len(versions) > 0:
            raise WebserviceException("versions is empty", logger=module_logger)
        return max(int(version) for version in versions)
