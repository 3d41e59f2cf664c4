"""Mirror of ``azureml.core.environment``: Python/Docker environment definitions.

Client-side behaviour (defaults, mutually exclusive Docker settings, deprecation log warnings,
serialized form) follows azureml-core 1.61. Registration and lookup are delegated to
``workspace._environments``, which the emulator provides.
"""
from __future__ import annotations

import copy
import json
import logging
import os
from collections import OrderedDict
from typing import Any

from fake_azure.core.conda_dependencies import PYTHON_DEFAULT_VERSION, CondaDependencies
from fake_azure.core.container_registry import ContainerRegistry, _RunConfigElement
from fake_azure.exceptions import UserErrorException

module_logger = logging.getLogger(__name__)

# Values of the installed SDK: the CPU image is tagged from its azureml_base_images.json, the GPU
# image has no entry there and stays untagged.
DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:20251130.v1"
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"
_DEFAULT_SHM_SIZE = "2g"

# Sections the emulator does not model; kept verbatim so serialization round-trips and matches the SDK.
_DEFAULT_SPARK_SECTION: dict[str, Any] = {"repositories": [], "packages": [], "precachePackages": True}
_DEFAULT_DATABRICKS_SECTION: dict[str, Any] = {
    "mavenLibraries": [], "pypiLibraries": [], "rcranLibraries": [], "jarLibraries": [], "eggLibraries": [],
}

_GPU_SUPPORT_WARNING = ("'gpu_support' is no longer necessary; AzureML now automatically detects and uses "
                        "nvidia docker extension when it is available. It will be removed in a future release.")


class PythonSection(_RunConfigElement):
    """Python interpreter and conda dependencies of an environment."""

    def __init__(self, **kwargs: Any) -> None:
        self.interpreter_path = "python"
        self.user_managed_dependencies = False
        self._conda_dependencies_file: str | None = None
        self.conda_dependencies: CondaDependencies | None = None
        self._base_conda_environment: str | None = None
        if not kwargs.get("_skip_defaults", False):
            self.conda_dependencies = CondaDependencies()
        self._initialized = True

    @property
    def conda_dependencies_file(self) -> str | None:
        """DEPRECATED. Path of a conda file to use instead of ``conda_dependencies``."""
        return self._conda_dependencies_file

    @conda_dependencies_file.setter
    def conda_dependencies_file(self, value: str | None) -> None:
        module_logger.warning("Property conda_dependencies_file is deprecated. "
                              "Use Environment.from_conda_specification")
        self._conda_dependencies_file = value if value else None


class DockerImagePlatform:
    """Operating system and CPU architecture of the image (``Linux``/``amd64``)."""

    def __init__(self) -> None:
        self.os = "Linux"
        self.architecture = "amd64"


class DockerSection(_RunConfigElement):
    """Docker settings: base image or base Dockerfile, registry and (deprecated) run options."""

    def __init__(self, **kwargs: Any) -> None:
        self._enabled = False
        self._shm_size: str | None = None
        self._shared_volumes = True
        self._arguments: list[str] = list()
        self._base_image: str | None = None
        self.base_image_registry = ContainerRegistry()
        self._base_dockerfile: str | None = None
        self._build_context: Any = None
        self.platform = DockerImagePlatform()
        # The SDK ignores assignments to ``gpu_support``; the emulator needs the user's intent to
        # decide whether replicas get GPUs, so we record it (see ``Environment._to_build_spec``).
        self._gpu_support = False
        if not kwargs.get("_skip_defaults", False):
            self._shm_size = _DEFAULT_SHM_SIZE
            self._base_image = DEFAULT_CPU_IMAGE
        self._initialized = True

    @property
    def base_image(self) -> str | None:
        """Base image; setting it clears ``base_dockerfile`` and ``build_context``."""
        return self._base_image

    @base_image.setter
    def base_image(self, value: str | None) -> None:
        if value:
            self._base_image = value
            if self._base_dockerfile:
                self._base_dockerfile = None
                module_logger.warning("Property base_dockerfile is mutually exclusive with base_image. "
                                      "Reset base_dockerfile to None")
            if self._build_context:
                self._build_context = None
                module_logger.warning("Property build_context is mutually exclusive with base_image. "
                                      "Reset build_context to None")
        else:
            self._base_image = None

    @property
    def base_dockerfile(self) -> str | None:
        """Base Dockerfile content (a path or file object is read); clears ``base_image``."""
        return self._base_dockerfile

    @base_dockerfile.setter
    def base_dockerfile(self, value: Any) -> None:
        if value:
            if hasattr(value, "read") and callable(value.read):
                self._base_dockerfile = value.read()
            elif os.path.isfile(value):
                with open(value) as dockerfile:
                    self._base_dockerfile = dockerfile.read()
            else:
                self._base_dockerfile = value
            if self._base_image:
                self._base_image = None
                module_logger.warning("Property base_image is mutually exclusive with base_dockerfile. "
                                      "Reset base_image to None")
            if self._build_context:
                self._build_context = None
                module_logger.warning("Property build_context is mutually exclusive with base_dockerfile. "
                                      "Reset build_context to None")
        else:
            self._base_dockerfile = None

    @property
    def build_context(self) -> Any:
        """Docker build context; clears ``base_image`` and ``base_dockerfile``."""
        return self._build_context

    @build_context.setter
    def build_context(self, value: Any) -> None:
        if value:
            self._build_context = value
            if self._base_dockerfile:
                self._base_dockerfile = None
                # The SDK's text says "base_image" here; kept verbatim.
                module_logger.warning("Property base_dockerfile is mutually exclusive with base_image. "
                                      "Reset base_dockerfile to None")
            if self._base_image:
                self._base_image = None
                module_logger.warning("Property base_image is mutually exclusive with build_context. "
                                      "Reset base_image to None")
        else:
            self._build_context = None

    @property
    def gpu_support(self) -> bool:
        """DEPRECATED. Always True in the SDK (GPUs are detected automatically)."""
        module_logger.warning(_GPU_SUPPORT_WARNING)
        return True

    @gpu_support.setter
    def gpu_support(self, value: bool) -> None:
        module_logger.warning(_GPU_SUPPORT_WARNING)
        self._gpu_support = bool(value)

    @property
    def enabled(self) -> bool:
        """DEPRECATED. Use ``azureml.core.runconfig.DockerConfiguration``."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        module_logger.warning("'enabled' is deprecated. Please use the azureml.core.runconfig.DockerConfiguration "
                              "object with the 'use_docker' param instead.")
        self._enabled = value

    @property
    def shared_volumes(self) -> bool:
        """DEPRECATED. Use ``azureml.core.runconfig.DockerConfiguration``."""
        return self._shared_volumes

    @shared_volumes.setter
    def shared_volumes(self, value: bool) -> None:
        module_logger.warning("'shared_volumes' is deprecated. Please use the "
                              "azureml.core.runconfig.DockerConfiguration object instead.")
        self._shared_volumes = value

    @property
    def arguments(self) -> list[str]:
        """DEPRECATED. Extra ``docker run`` arguments."""
        return self._arguments

    @arguments.setter
    def arguments(self, value: list[str]) -> None:
        module_logger.warning("'arguments' is deprecated. Please use the azureml.core.runconfig.DockerConfiguration "
                              "object instead.")
        self._arguments = value

    @property
    def shm_size(self) -> str | None:
        """DEPRECATED. Shared memory size of the container (default ``2g``)."""
        return self._shm_size

    @shm_size.setter
    def shm_size(self, value: str | None) -> None:
        module_logger.warning("'shm_size' is deprecated. Please use the azureml.core.runconfig.DockerConfiguration "
                              "object instead.")
        self._shm_size = value


class Environment(_RunConfigElement):
    """A reproducible environment: Python/conda dependencies, Docker base image and env variables."""

    def __init__(self, name: str | None, **kwargs: Any) -> None:
        skip_defaults = kwargs.get("_skip_defaults", False)
        if name is not None and not isinstance(name, str):
            raise TypeError("Environment name expected str, {} found".format(type(name)))
        self.name = name
        self.version: str | None = None
        self.python = PythonSection(_skip_defaults=skip_defaults)
        self.docker = DockerSection(_skip_defaults=skip_defaults)
        self._spark = copy.deepcopy(_DEFAULT_SPARK_SECTION)
        self._databricks = copy.deepcopy(_DEFAULT_DATABRICKS_SECTION)
        self._environment_variables: dict[str, str] = dict()
        self.inferencing_stack_version: str | None = None
        self.r: Any = None
        self.asset_id: str | None = None
        if not skip_defaults:
            self._environment_variables = {"EXAMPLE_ENV_VAR": "EXAMPLE_VALUE"}
        self._initialized = True

    @property
    def environment_variables(self) -> dict[str, str]:
        """Environment variables of the environment (DEPRECATED for runs in the SDK, still used at deploy)."""
        return self._environment_variables

    @environment_variables.setter
    def environment_variables(self, value: dict[str, str]) -> None:
        module_logger.warning("Property environment_variables is deprecated. "
                              "Use RunConfiguration.environment_variables to set runtime variables.")
        self._environment_variables = value

    def _get_base_info_dict(self) -> OrderedDict:
        return OrderedDict([("Name", self.name), ("Version", self.version)])

    def __str__(self) -> str:
        info = self._get_base_info_dict()
        return "Environment({0})".format(",\n".join("{}: {}".format(k, v) for k, v in info.items()))

    def __repr__(self) -> str:
        return json.dumps(self._serialize_to_dict(), indent=4, sort_keys=True)

    # --- workspace operations (delegated to the emulator's environment registry) -------------------

    def register(self, workspace: Any) -> "Environment":
        """Register this environment in ``workspace``; returns the registered (versioned) copy."""
        if self.version is not None:
            module_logger.warning("Environment version is set. Attempting to register desired version. "
                                  "To auto-version, reset version to None.")
        return workspace._environments.register(self)

    @staticmethod
    def get(workspace: Any, name: str, version: str | None = None, label: str | None = None) -> "Environment":
        """Return a registered environment (latest version unless ``version`` is given)."""
        if label and version:
            raise UserErrorException("Only one of version or label can be specified")
        if label:
            return workspace._environments.get(name, version, label=label)
        return workspace._environments.get(name, version)

    @staticmethod
    def label(workspace: Any, name: str, version: str, labels: list[str]) -> None:
        """Attach ``labels`` to version ``version`` of environment ``name``."""
        workspace._environments.label(name, version, labels)

    @staticmethod
    def list(workspace: Any) -> dict[str, "Environment"]:
        """Return the workspace's environments as ``{name: Environment}`` (latest version of each)."""
        environments = workspace._environments.list()
        if isinstance(environments, dict):
            return environments
        # The registry yields the latest version per name; the SDK hands them out keyed by name.
        return {env.name: env for env in environments}

    def clone(self, new_name: str) -> "Environment":
        """Return an unregistered copy named ``new_name``."""
        if not new_name:
            raise UserErrorException("Name is required to instantiate an Environment object")
        env = Environment._deserialize_from_dict(self._serialize_to_dict())
        env.name = new_name
        env.version = None
        env.asset_id = None
        return env

    # --- factories ----------------------------------------------------------------------------------

    @staticmethod
    def _from_dependencies(name: str, conda_specification: str | None = None,
                           pip_requirements: str | None = None) -> "Environment":
        if conda_specification and pip_requirements:
            # The SDK's message contains the indentation of its line continuation; kept verbatim.
            raise UserErrorException("Only one of conda_specification or pip_requirements can be specified \
            as python dependencies")
        if conda_specification:
            return Environment.from_conda_specification(name, conda_specification)
        if pip_requirements:
            return Environment.from_pip_requirements(name, pip_requirements)
        env = Environment(name)
        env.python.user_managed_dependencies = True
        return env

    @staticmethod
    def from_dockerfile(name: str, dockerfile: Any, conda_specification: str | None = None,
                        pip_requirements: str | None = None) -> "Environment":
        """Create an environment from Dockerfile content or path, with optional Python dependencies."""
        env = Environment._from_dependencies(name, conda_specification, pip_requirements)
        env.docker.base_image = None
        env.docker.build_context = None
        env.docker.base_dockerfile = dockerfile
        return env

    @staticmethod
    def from_docker_image(name: str, image: str, container_registry: ContainerRegistry | None = None,
                          conda_specification: str | None = None,
                          pip_requirements: str | None = None) -> "Environment":
        """Create an environment from a base image, with optional Python dependencies."""
        env = Environment._from_dependencies(name, conda_specification, pip_requirements)
        env.docker.base_dockerfile = None
        env.docker.build_context = None
        env.docker.base_image = image
        if container_registry:
            env.docker.base_image_registry = container_registry
        return env

    @staticmethod
    def from_conda_specification(name: str, file_path: str) -> "Environment":
        """Create an environment from a conda ``environment.yml`` file."""
        conda_dependencies = CondaDependencies(conda_dependencies_file_path=file_path)
        if not conda_dependencies._python_version:
            module_logger.warning('No Python version provided, defaulting to "{}"'.format(PYTHON_DEFAULT_VERSION))
            conda_dependencies.set_python_version(PYTHON_DEFAULT_VERSION)
        env = Environment(name=name)
        env.python.conda_dependencies = conda_dependencies
        return env

    @staticmethod
    def from_existing_conda_environment(name: str, conda_environment_name: str) -> "Environment | None":
        """Not supported by the emulator: it never inspects local conda installations."""
        raise UserErrorException(
            "Environment.from_existing_conda_environment is not supported by fake-azure. Export the environment "
            "with 'conda env export --no-builds --name {0} > {0}.yml' and use "
            "Environment.from_conda_specification('{1}', '{0}.yml') instead.".format(conda_environment_name, name))

    @staticmethod
    def from_pip_requirements(name: str, file_path: str, pip_version: str | None = None) -> "Environment":
        """Create an environment from a pip requirements file (every line becomes a pip entry)."""
        env = Environment(name=name)
        assert env.python.conda_dependencies is not None
        with open(file_path) as req_file:
            env.python.conda_dependencies.set_pip_requirements(req_file.read().splitlines())
        if pip_version:
            env.python.conda_dependencies.add_conda_package("pip={}".format(pip_version))
        else:
            env.python.conda_dependencies.add_conda_package("pip")
        return env

    # --- serialization ------------------------------------------------------------------------------

    def _serialize_to_dict(self) -> dict[str, Any]:
        """Return the SDK's (camelCase) environment definition as plain JSON-compatible data.

        Our one extension: ``docker.gpuSupport`` is present (True) when ``gpu_support`` was set truthy.
        """
        python: dict[str, Any] = {
            "userManagedDependencies": self.python.user_managed_dependencies,
            "interpreterPath": self.python.interpreter_path,
            "condaDependenciesFile": self.python.conda_dependencies_file,
            "baseCondaEnvironment": self.python._base_conda_environment,
        }
        if self.python.conda_dependencies is not None:
            python["condaDependencies"] = self.python.conda_dependencies.as_dict()
        build_context = self.docker.build_context
        if build_context is not None and hasattr(build_context, "__dict__"):
            build_context = {k: v for k, v in vars(build_context).items() if not k.startswith("_")}
        docker: dict[str, Any] = {
            "enabled": self.docker.enabled,
            "baseImage": self.docker.base_image,
            "baseDockerfile": self.docker.base_dockerfile,
            "buildContext": copy.deepcopy(build_context),
            "sharedVolumes": self.docker.shared_volumes,
            "shmSize": self.docker.shm_size,
            "arguments": list(self.docker.arguments) if self.docker.arguments is not None else None,
            "baseImageRegistry": (self.docker.base_image_registry._serialize_to_dict()
                                  if self.docker.base_image_registry is not None else None),
            "platform": ({"os": self.docker.platform.os, "architecture": self.docker.platform.architecture}
                         if self.docker.platform is not None else None),
        }
        if self.docker._gpu_support:
            docker["gpuSupport"] = True
        return {
            "name": self.name,
            "version": self.version,
            "environmentVariables": (dict(self.environment_variables)
                                     if self.environment_variables is not None else None),
            "python": python,
            "docker": docker,
            "spark": copy.deepcopy(self._spark),
            "databricks": copy.deepcopy(self._databricks),
            "r": copy.deepcopy(self.r),
            "inferencingStackVersion": self.inferencing_stack_version,
            "assetId": self.asset_id,
        }

    @staticmethod
    def _deserialize_from_dict(data: dict[str, Any]) -> "Environment":
        """Inverse of :meth:`_serialize_to_dict`; also accepts the SDK's definitions.

        Like the SDK, missing keys keep the ``_skip_defaults`` values and setters (with their
        warnings and mutual exclusion) are bypassed.
        """
        data = copy.deepcopy(data)
        env = Environment(data.get("name"), _skip_defaults=True)
        env.version = data.get("version")
        if "environmentVariables" in data:
            env._environment_variables = data["environmentVariables"]
        if "inferencingStackVersion" in data:
            env.inferencing_stack_version = data["inferencingStackVersion"]
        if "assetId" in data:
            env.asset_id = data["assetId"]
        if "r" in data:
            env.r = data["r"]
        if "spark" in data:
            env._spark = data["spark"]
        if "databricks" in data:
            env._databricks = data["databricks"]

        python = data.get("python")
        if python is not None:
            section = env.python
            if "userManagedDependencies" in python:
                section.user_managed_dependencies = bool(python["userManagedDependencies"])
            if "interpreterPath" in python:
                section.interpreter_path = python["interpreterPath"]
            if "condaDependenciesFile" in python:
                section._conda_dependencies_file = python["condaDependenciesFile"]
            if "baseCondaEnvironment" in python:
                section._base_conda_environment = python["baseCondaEnvironment"]
            if python.get("condaDependencies") is not None:
                section.conda_dependencies = CondaDependencies(_underlying_structure=python["condaDependencies"])
        elif "python" in data:
            # The [assignment] ignores here and below: a definition may hold None for a section that the
            # attributes' types (what users set) leave out; it is kept as None, as the SDK does.
            env.python = None  # type: ignore[assignment]

        docker = data.get("docker")
        if docker is not None:
            section_d = env.docker
            simple = {"enabled": "_enabled", "baseImage": "_base_image", "baseDockerfile": "_base_dockerfile",
                      "buildContext": "_build_context", "sharedVolumes": "_shared_volumes",
                      "shmSize": "_shm_size", "arguments": "_arguments"}
            for key, attribute in simple.items():
                if key in docker:
                    setattr(section_d, attribute, docker[key])
            if "baseImageRegistry" in docker:
                registry = docker["baseImageRegistry"]
                if registry is None:
                    section_d.base_image_registry = None  # type: ignore[assignment]
                else:
                    section_d.base_image_registry = ContainerRegistry._deserialize_from_dict(registry)
            if "platform" in docker:
                if docker["platform"] is None:
                    section_d.platform = None  # type: ignore[assignment]
                else:
                    section_d.platform.os = docker["platform"].get("os", section_d.platform.os)
                    section_d.platform.architecture = docker["platform"].get(
                        "architecture", section_d.platform.architecture)
            section_d._gpu_support = bool(docker.get("gpuSupport", False))
        elif "docker" in data:
            env.docker = None  # type: ignore[assignment]
        return env

    # The SDK's name for the same operation, for code written against it.
    _deserialize_and_add_to_object = _deserialize_from_dict

    # --- emulator -----------------------------------------------------------------------------------

    def _to_build_spec(self) -> dict[str, Any]:
        """Summarize what the emulator must provision to run this environment.

        ``python_version``/``pip``/``conda``/``channels`` come from the conda dependencies (the
        ``python`` package itself is reported only as ``python_version``; pip options, blank lines
        and comments are left out). ``base_image`` falls back to the SDK default image when a
        Dockerfile or build context is used instead. ``gpu`` is True when ``docker.gpu_support``
        was set or the base image is a CUDA/GPU image.
        """
        conda_dependencies = self.python.conda_dependencies if self.python is not None else None
        python_version: str | None = None
        pip: list[str] = []
        conda: list[str] = []
        channels: list[str] = []
        if conda_dependencies is not None:
            python_version = conda_dependencies.get_python_version()
            pip = [str(p).strip() for p in conda_dependencies.pip_packages
                   if str(p).strip() and not str(p).strip().startswith("#")]
            conda = [str(p) for p in conda_dependencies.conda_packages
                     if not (str(p).startswith("python") and CondaDependencies._get_package_name(str(p)) == "python")]
            channels = [str(c) for c in conda_dependencies.conda_channels]
        base_image = self.docker.base_image if self.docker is not None else None
        gpu = self._uses_gpu()
        if not base_image:
            base_image = DEFAULT_GPU_IMAGE if gpu else DEFAULT_CPU_IMAGE
        return {
            "python_version": python_version,
            "pip": pip,
            "conda": conda,
            "channels": channels,
            "base_image": base_image,
            "gpu": gpu,
            "environment_variables": dict(self.environment_variables or {}),
        }

    def _uses_gpu(self) -> bool:
        """Whether this environment runs on a GPU: ``docker.gpu_support`` was set or the base image is a
        CUDA/GPU image (the build spec's ``gpu``; deployments' image requests ask for one on it too)."""
        if self.docker is None:
            return False
        return bool(self.docker._gpu_support) or _is_gpu_image(self.docker.base_image)


def _is_gpu_image(image: str | None) -> bool:
    # Azure ML GPU base images carry "cuda" in the repository name (openmpi4.1.0-cuda11.8-...).
    if not image:
        return False
    repository = image.rsplit("/", 1)[-1].lower()
    return "cuda" in repository or "gpu" in repository
