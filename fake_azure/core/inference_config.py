"""Mirror of ``azureml.core.model.InferenceConfig``: what code and environment a deployment runs.

Validation (order, exception classes, messages, DeprecationWarnings) follows azureml-core 1.61.
``fake_azure.core.model`` re-exports :class:`InferenceConfig`. The private helpers at the bottom
port the SDK's deploy-time conversion of legacy parameters into an :class:`Environment`.
"""
from __future__ import annotations

import ast
import logging
import os
import warnings
from keyword import iskeyword
from typing import overload

from fake_azure.core.container_registry import ContainerRegistry
from fake_azure.core.environment import DEFAULT_GPU_IMAGE, Environment
from fake_azure.exceptions import UserErrorException, WebserviceException

module_logger = logging.getLogger(__name__)

HOW_TO_USE_ENVIRONMENTS_DOC_URL = "https://docs.microsoft.com/azure/machine-learning/how-to-use-environments"
SUPPORTED_RUNTIMES = {"spark-py": "SparkPython", "python": "Python", "python-slim": "PythonSlim"}
UNDOCUMENTED_RUNTIMES = ["python-slim"]
SUPPORTED_CUDA_VERSIONS = ["9.0", "9.1", "10.0"]
CUDA_9_BASE_IMAGE = "base-gpu:intelmpi2018.3-cuda9.0-cudnn7-ubuntu16.04"


class InferenceConfig:
    """Entry script, source directory and environment (or legacy runtime/conda parameters) of a deployment."""

    def __init__(self, entry_script: str, runtime: str | None = None, conda_file: str | None = None,
                 extra_docker_file_steps: str | None = None, source_directory: str | None = None,
                 enable_gpu: bool | None = None, description: str | None = None, base_image: str | None = None,
                 base_image_registry: ContainerRegistry | None = None, cuda_version: str | None = None,
                 environment: Environment | None = None) -> None:
        self.entry_script = entry_script
        self.runtime = runtime
        self.conda_file = conda_file
        self.extra_docker_file_steps = extra_docker_file_steps
        self.source_directory = source_directory
        self.enable_gpu = enable_gpu
        self.cuda_version = cuda_version
        self.description = description
        self.base_image = base_image
        self.base_image_registry = base_image_registry or ContainerRegistry()
        self.environment = environment
        self.validate_configuration()

    def __repr__(self) -> str:
        return "{}(entry_script={}, runtime={}, conda_file={}, extra_docker_file_steps={}, source_directory={}, " \
               "enable_gpu={}, base_image={}, base_image_registry={})".format(
                   self.__class__.__name__, self.entry_script, self.runtime, self.conda_file,
                   self.extra_docker_file_steps, self.source_directory, self.enable_gpu, self.base_image,
                   self.base_image_registry)

    def validate_configuration(self) -> None:
        """Check the configuration; raises ``WebserviceException``/``UserErrorException`` like the SDK."""
        # Deprecation warnings come first and never stop validation.
        if self.runtime:
            runtime_specific_hashtag = "#example-notebooks" if self.runtime.lower() == "spark-py" else ""
            warnings.warn("runtime parameter has been deprecated "
                          + "and will be removed in a future release. Please migrate to using Environments. "
                          + "{}{}".format(HOW_TO_USE_ENVIRONMENTS_DOC_URL, runtime_specific_hashtag),
                          category=DeprecationWarning, stacklevel=2)
        if self.conda_file:
            warnings.warn("conda_file parameter has been deprecated "
                          + "and will be removed in a future release. Please migrate to using Environments. "
                          + "{}#conda-and-pip-packages".format(HOW_TO_USE_ENVIRONMENTS_DOC_URL),
                          category=DeprecationWarning, stacklevel=2)
        if self.extra_docker_file_steps:
            warnings.warn("extra_docker_file_steps parameter has been deprecated "
                          + "and will be removed in a future release. Please migrate to using Environments. "
                          + "{}#docker-and-environments".format(HOW_TO_USE_ENVIRONMENTS_DOC_URL),
                          category=DeprecationWarning, stacklevel=2)
        if self.enable_gpu or self.cuda_version:
            warnings.warn("enable_gpu and cuda_version parameters have been deprecated "
                          + "and will be removed in a future release. Please migrate to using Environments. "
                          + "{}#docker-and-environments".format(HOW_TO_USE_ENVIRONMENTS_DOC_URL),
                          category=DeprecationWarning, stacklevel=2)
        if self.base_image or (self.base_image_registry and self.base_image_registry.address):
            warnings.warn("base_image and base_image_registry parameters have been deprecated "
                          + "and will be removed in a future release. Please migrate to using Environments "
                          + "and custom base image. "
                          + "{}#example-notebooks".format(HOW_TO_USE_ENVIRONMENTS_DOC_URL),
                          category=DeprecationWarning, stacklevel=2)

        if not self.entry_script:
            raise WebserviceException("Error, need to specify entry_script.")

        if self.environment:
            if self.runtime or self.conda_file or self.extra_docker_file_steps or \
                    self.enable_gpu or self.cuda_version or self.base_image:
                raise WebserviceException("Error, unable to provide runtime, conda_file, extra_docker_file_steps, "
                                          "enable_gpu, cuda_version, or base_image along with an environment object.")
            conda_dependencies = self.environment.python.conda_dependencies
            if conda_dependencies and "azureml-defaults" not in conda_dependencies.serialize_to_string():
                module_logger.warning("Warning, azureml-defaults not detected in provided environment pip "
                                      "dependencies. The azureml-defaults package contains requirements for the "
                                      "inference stack to run, and should be included.")
            if self.environment.docker.base_dockerfile and self.environment.docker.base_image:
                raise WebserviceException("Error, only one of base_dockerfile or base_image should be provided to the "
                                          "environment.docker object.")

        if self.source_directory:
            self.source_directory = os.path.realpath(self.source_directory)
            _validate_path_exists_or_throw(self.source_directory, "source directory")

        _validate_path_exists_or_throw(_join_path(self.source_directory, self.entry_script), "entry_script",
                                       extra_message="entry_script should be path relative to "
                                                     "current working directory")

        script_name, script_extension = os.path.splitext(os.path.basename(self.entry_script))
        if script_extension != ".py":
            raise WebserviceException("Invalid driver type. Currently only Python drivers are supported.",
                                      logger=module_logger)
        _validate_entry_script_name(script_name)

        if self.runtime and (self.runtime.lower() not in SUPPORTED_RUNTIMES.keys()):
            runtimes = "|".join(x for x in SUPPORTED_RUNTIMES.keys() if x not in UNDOCUMENTED_RUNTIMES)
            raise WebserviceException("Provided runtime not supported. "
                                      "Possible runtimes are: {}".format(runtimes), logger=module_logger)

        if self.cuda_version is not None:
            if self.cuda_version.lower() not in SUPPORTED_CUDA_VERSIONS:
                cuda_versions = "|".join(SUPPORTED_CUDA_VERSIONS)
                raise WebserviceException("Provided cuda_version not supported. "
                                          "Possible cuda_versions are: {}".format(cuda_versions), logger=module_logger)

        if self.conda_file:
            _validate_path_exists_or_throw(_join_path(self.source_directory, self.conda_file), "Conda file")

        if self.extra_docker_file_steps:
            _validate_path_exists_or_throw(_join_path(self.source_directory, self.extra_docker_file_steps),
                                           "extra docker file steps")

        self.validation_script_content()

    def validation_script_content(self) -> None:
        """Check that the entry script parses (``ast.parse``); raises ``UserErrorException`` otherwise."""
        entry_script_realpath = _join_path(self.source_directory, self.entry_script)
        try:
            with open(entry_script_realpath, "r") as script:
                contents = script.read()
                try:
                    ast.parse(contents, entry_script_realpath)
                except Exception as ex:
                    raise UserErrorException("{}. Please check it and try local deployment "
                                             "to verify.".format(ex)) from ex
        except IOError as err:
            raise UserErrorException("Failed to open {}, please check if it exists and the read permission. "
                                     "We can not deploy the model if we can not access this file."
                                     .format(entry_script_realpath)) from err

    # --- deploy-time helpers (ours; ports of SDK internals) -----------------------------------------

    def _convert_parts(self, service_name: str) -> tuple["InferenceConfig", bool]:
        """Port of ``azureml._model_management._util.convert_parts_to_environment``.

        Returns ``(config, use_environment_route)``: legacy python-runtime parameters become a new
        config holding an Environment named ``{service_name}-env``; other configs come back unchanged.
        """
        if not self.environment and self.runtime == "python" \
                and not self.extra_docker_file_steps and not self.cuda_version == "9.1" \
                and not (self.base_image and (self.enable_gpu or self.cuda_version)):
            env_name = "{}-env".format(service_name)
            if self.conda_file:
                if self.source_directory:
                    conda_path = os.path.join(self.source_directory, self.conda_file)
                else:
                    conda_path = self.conda_file
                env = Environment.from_conda_specification(env_name, conda_path)
            else:
                env = Environment(env_name)
            if self.base_image:
                env.docker.base_image = self.base_image
                env.docker.base_image_registry = self.base_image_registry
                env.inferencing_stack_version = "latest"
            if self.enable_gpu or self.cuda_version == "10.0":
                env.docker.gpu_support = True
                env.docker.base_image = DEFAULT_GPU_IMAGE
            elif self.cuda_version == "9.0":
                env.docker.gpu_support = True
                env.docker.base_image = CUDA_9_BASE_IMAGE
            return type(self)(entry_script=self.entry_script, source_directory=self.source_directory,
                              description=self.description, environment=env), True

        if not self.environment and not self.runtime and not self.extra_docker_file_steps \
                and not self.conda_file and self.entry_script:
            return self, True
        return self, self.environment is not None

    def _to_environment(self, service_name: str) -> Environment | None:
        """Return the Environment a deployment named ``service_name`` would use.

        None means the SDK would deploy without an environment: either the server-side default
        (no runtime/conda/docker parameters given) or the retired image route (e.g. ``spark-py``,
        ``extra_docker_file_steps``, cuda 9.1); ``_convert_parts`` tells the two apart.
        """
        config, _ = self._convert_parts(service_name)
        return config.environment

    def _get_entry_script_path(self) -> tuple[str, str]:
        """The SDK's: (the source directory's basename or '', the script's location).

        The location is ``entry_script`` with a source directory, its basename without one. As in
        the SDK, a trailing separator is stripped off ``entry_script`` itself.
        """
        self.entry_script = self.entry_script.rstrip(os.sep)
        scoring_base_name = ""
        script_location = os.path.basename(self.entry_script)
        if self.source_directory:
            scoring_base_name = os.path.basename(self.source_directory)
            script_location = self.entry_script
        return scoring_base_name, script_location

    def _entry_script_env(self) -> dict[str, str]:
        """The variables the SDK adds to the environment at deploy time.

        ``AZUREML_ENTRY_SCRIPT`` is ``<basename(source_directory)>/<entry_script>`` (forward slashes),
        or the entry script's basename without a source directory; ``AZUREML_SOURCE_DIRECTORY`` is
        the source directory's basename and only present with one.
        """
        scoring_base_name, script_location = self._get_entry_script_path()
        variables: dict[str, str] = {}
        if self.source_directory:
            variables["AZUREML_SOURCE_DIRECTORY"] = scoring_base_name
        variables["AZUREML_ENTRY_SCRIPT"] = os.path.join(scoring_base_name, script_location).replace(os.sep, "/")
        return variables


def _validate_path_exists_or_throw(member: str, name: str, extra_message: str = "") -> None:
    member = os.path.normpath(member)
    if not os.path.exists(member):
        raise WebserviceException("{0} {1} doesn't exist. {2}".format(name, member, extra_message),
                                  logger=module_logger)


@overload
def _join_path(source_directory: str | None, path: str) -> str: ...
@overload
def _join_path(source_directory: str | None, path: None) -> None: ...
def _join_path(source_directory: str | None, path: str | None) -> str | None:
    if path and source_directory:
        return os.path.join(source_directory, path).replace(os.sep, "/")
    return path


def _validate_entry_script_name(name: str) -> None:
    if not name.isidentifier() or iskeyword(name):
        raise WebserviceException('Error, invalid name "{}" for provided entry script. The script must be importable '
                                  "as a valid python module, and must adhere to standard module naming. This means it "
                                  "must be a valid python identifier and not a part of the set of python standard "
                                  "keywords.".format(name), logger=module_logger)


__all__ = ["InferenceConfig"]
