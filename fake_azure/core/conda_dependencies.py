"""Mirror of ``azureml.core.conda_dependencies``: an in-memory conda environment specification.

The structure held by :class:`CondaDependencies` is the parsed ``environment.yml`` mapping (``name``,
``channels``, ``dependencies`` with an optional ``{"pip": [...]}`` entry). Every public method is a
port of azureml-core 1.61, including its quirks (substring ``"pip" in item`` tests, cached python
version, option handling), because user code and the emulator's environment builder both read
the resulting package lists. The SDK keeps YAML comments via ruamel; we use PyYAML, so the
serialized text differs in comments and layout but parses to the same document.
"""
from __future__ import annotations

import copy
import json
import os
import re
from io import StringIO
from typing import Any, Iterable, Iterator, overload

import yaml

from fake_azure.exceptions import UserErrorException

DEFAULT_SDK_ORIGIN = "https://pypi.python.org/simple"
CONDA_FILE_NAME = "auto_conda_dependencies.yml"
CHANNELS = "channels"
PACKAGES = "dependencies"
PIP = "pip"
PYTHON_PREFIX = "python"
VERSION_REGEX = re.compile(r"(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$")
CNTK_DEFAULT_VERSION = "2.7"
PYTHON_DEFAULT_VERSION = "3.10.18"
LINUX_PLATFORM = "linux"
WINDOWS_PLATFORM = "win32"
TENSORFLOW_DEFAULT_VERSION = "2.2.0"
PYTORCH_DEFAULT_VERSION = "1.6.0"
TORCHVISION_DEFAULT_VERSION = "0.7.0"
HOROVOD_DEFAULT_VERSION = "0.19.5"
DEFAULT_CHAINER_VERSION = "7.7.0"
CUPY_DEFAULT_VERSION = "cupy-cuda102"
CPU = "cpu"
GPU = "gpu"
CNTK_PACKAGE_PREFIX = "cntk"
TENSORFLOW_PACKAGE_PREFIX = "tensorflow"
PYTORCH_PACKAGE_PREFIX = "torch"
TORCHVISION_PACKAGE_PREFIX = "torchvision"
CHAINER_PACKAGE_PREFIX = "chainer"

# The azureml-core release we mirror; ``create(pin_sdk_version=True)`` pins SDK packages to it.
VERSION = "1.61.0"

# azureml-core ships ``_project/index_location.txt`` = "https://pypi.python.org/simple", which the SDK
# formats by appending "index.html". Because that differs from DEFAULT_SDK_ORIGIN, ``create()`` always
# adds the --find-links/--extra-index-url pip options; we reproduce the resulting document.
_SDK_ORIGIN_URL = "https://pypi.python.org/simple/index.html"

# azureml-core 1.61.0.post4 ships ``_project/azureml_sdk_scope.txt`` with ONE CHARACTER PER LINE
# ("a", "z", "u", ... of "azureml-core"), so the SDK's "is this an SDK package?" test only matches
# those one-letter names and never pins ``azureml-defaults``. We mirror the installed behaviour.
_SDK_SCOPE: tuple[str, ...] = tuple("azureml-core")

# Content of the SDK's ``base_project_files/conda_dependencies.yml`` (comments dropped).
_BASE_CONDA_DEPENDENCIES: dict[str, Any] = {
    "name": "project_environment",
    "dependencies": ["python=3.8.13", {"pip": ["azureml-defaults"]}],
    "channels": ["anaconda", "conda-forge"],
}


class _LoadedList(list):
    """A list that came from a parsed YAML document.

    The SDK removes items from ruamel ``CommentedSeq`` lists (everything it loads) with a
    pop-while-iterating loop, but from plain lists (everything it creates) with ``list.remove``.
    The two differ when an item occurs twice, so we remember which kind a list is.
    """


def _mark_loaded(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _mark_loaded(value) for key, value in node.items()}
    if isinstance(node, list):
        return _LoadedList(_mark_loaded(item) for item in node)
    return node


def _to_plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _to_plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_to_plain(item) for item in node]
    return node


def _dump_yaml(document: Any, stream: Any) -> None:
    yaml.safe_dump(_to_plain(document), stream, default_flow_style=False, sort_keys=False)


class CondaDependencies:
    """Manages application dependencies (conda + pip) of an Azure ML environment.

    With no arguments it holds the SDK's base specification: ``python=3.8.13``, pip
    ``azureml-defaults`` and channels ``anaconda``/``conda-forge``.
    """

    DEFAULT_NUMBER_OF_CONDA_PACKAGES = 0
    DEFAULT_NUMBER_OF_PIP_PACKAGES = 0
    _VALID_YML_KEYS = ["name", "channels", "dependencies", "prefix", "variables"]

    @staticmethod
    def _validate_yaml(yaml_object: Any) -> None:
        if not isinstance(yaml_object, dict):
            raise UserErrorException("Environment error: not a valid YAML structure")
        for key in yaml_object.keys():
            if str(key) not in CondaDependencies._VALID_YML_KEYS:
                msg = "Environment error: unknown {} key in environment specification".format(str(key))
                raise UserErrorException(msg)

    def __init__(self, conda_dependencies_file_path: str | None = None, _underlying_structure: Any = None) -> None:
        if conda_dependencies_file_path is not None:
            conda_dependencies_file_path = os.path.normpath(conda_dependencies_file_path)
            with open(conda_dependencies_file_path, "r") as input_file:
                self._conda_dependencies = _mark_loaded(yaml.safe_load(input_file))
        elif _underlying_structure is not None:
            # Shared, not copied: the SDK edits the caller's structure in place too.
            self._conda_dependencies = _underlying_structure
        else:
            self._conda_dependencies = _mark_loaded(copy.deepcopy(_BASE_CONDA_DEPENDENCIES))

        CondaDependencies._validate_yaml(self._conda_dependencies)
        self._python_version = self.get_python_version()

    @staticmethod
    def create(
        pip_indexurl: str | None = None,
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str = PYTHON_DEFAULT_VERSION,
        pin_sdk_version: bool = True,
    ) -> "CondaDependencies":
        """Create a specification; without ``pip_packages`` it holds ``azureml-defaults`` only."""
        cd = CondaDependencies()
        sdk_origin_url = CondaDependencies.sdk_origin_url().rstrip("/")

        if pip_indexurl or sdk_origin_url != DEFAULT_SDK_ORIGIN:
            cd.set_pip_option("--find-links {}".format(pip_indexurl if pip_indexurl else sdk_origin_url))
            cd.set_pip_option("--extra-index-url {}".format(DEFAULT_SDK_ORIGIN))

        cd.set_python_version(python_version)

        if pip_packages is None:
            pip_packages = ["azureml-defaults"]
        else:
            for package in cd.pip_packages:
                cd.remove_pip_package(package)

        scope = CondaDependencies._sdk_scope()
        for package in pip_packages:
            if pin_sdk_version and cd._get_package_name(package) in scope:
                cd.add_pip_package("{}~={}".format(cd._get_package_name_with_extras(package), VERSION))
            else:
                cd.add_pip_package(package)

        if conda_packages:
            for conda_package in conda_packages:
                cd.remove_conda_package(conda_package)
            for conda_package in conda_packages:
                cd.add_conda_package(conda_package)

        return cd

    @staticmethod
    def merge_requirements(requirements: list[str]) -> list[str]:
        """Merge requirements of the same package into one specifier list."""
        packages: dict[str, list[str]] = {}
        for req in requirements:
            package = CondaDependencies._get_package_name(req)
            if packages.get(package, None):
                packages[package].append(req[len(package):].strip())
            else:
                packages[package] = [req[len(package):].strip()]
        return ["{}{}".format(pack, ",".join([x for x in req if x])) for pack, req in packages.items()]

    @staticmethod
    def _sdk_scope() -> list[str]:
        return list(_SDK_SCOPE)

    @staticmethod
    def sdk_origin_url() -> str:
        """Return the SDK origin index URL."""
        return _SDK_ORIGIN_URL

    def _merge_dependencies(self, conda_dependencies: "CondaDependencies | None") -> None:
        if not conda_dependencies:
            return
        for channel in conda_dependencies.conda_channels:
            self.add_channel(channel)
        for package in conda_dependencies.conda_packages:
            self.add_conda_package(package)
        for package in conda_dependencies.pip_packages:
            self.add_pip_package(package)

    def set_pip_index_url(self, index_url: str) -> None:
        """Set the pip index URL (stored as a pip option, like the SDK)."""
        self.set_pip_option(index_url)

    @property
    def conda_channels(self) -> Iterator[Any]:
        """Iterate over a copy of the conda channels."""
        channels: list[Any] = []
        if CHANNELS in self._conda_dependencies:
            channels.extend(self._conda_dependencies[CHANNELS])
        return iter(channels)

    @property
    def conda_packages(self) -> Iterator[Any]:
        """Iterate over a copy of the conda packages (the pip entry excluded)."""
        conda_dependencies: list[Any] = []
        if PACKAGES in self._conda_dependencies:
            for ditem in self._conda_dependencies[PACKAGES]:
                # ``PIP in ditem`` is a substring test for strings: "pip", "pipx" are still conda packages.
                if PIP not in ditem and not isinstance(ditem, dict):
                    conda_dependencies.append(ditem)
                if PIP in ditem and isinstance(ditem, str):
                    conda_dependencies.append(ditem)
        return iter(conda_dependencies)

    def _is_option(self, item: str, startswith: str = "-") -> bool:
        return item.startswith("-")

    def _filter_options(self, items: Iterable[str], startswith: str = "-", keep: bool = True) -> list[str]:
        if keep:
            return [x for x in items if self._is_option(x, startswith)]
        return [x for x in items if not self._is_option(x, startswith)]

    @property
    def pip_packages(self) -> Iterator[str]:
        """Iterate over a copy of the pip packages (options such as ``--find-links`` excluded)."""
        pip_dependencies: list[str] = []
        if PACKAGES in self._conda_dependencies:
            for ditem in self._conda_dependencies[PACKAGES]:
                if PIP in ditem and isinstance(ditem, dict):
                    pip_dependencies = self._filter_options(ditem[PIP], keep=False)
        return iter(pip_dependencies)

    @property
    def pip_options(self) -> Iterator[str]:
        """Iterate over a copy of the pip options."""
        pip_options: list[str] = []
        if PACKAGES in self._conda_dependencies:
            for ditem in self._conda_dependencies[PACKAGES]:
                if PIP in ditem and isinstance(ditem, dict):
                    pip_options = self._filter_options(ditem[PIP])
        return iter(pip_options)

    def get_default_number_of_packages(self) -> tuple[int, int]:
        """Return the number of conda and pip packages in the base specification."""
        if self.DEFAULT_NUMBER_OF_CONDA_PACKAGES == 0 and self.DEFAULT_NUMBER_OF_PIP_PACKAGES == 0:
            conda_packages = 0
            pip_packages = 0
            for ditem in _BASE_CONDA_DEPENDENCIES[PACKAGES]:
                if PIP not in ditem and not isinstance(ditem, dict):
                    conda_packages += 1
                else:
                    pip_packages = len(self._filter_options(ditem[PIP], keep=False))
            self.DEFAULT_NUMBER_OF_CONDA_PACKAGES = conda_packages
            self.DEFAULT_NUMBER_OF_PIP_PACKAGES = pip_packages
        return self.DEFAULT_NUMBER_OF_CONDA_PACKAGES, self.DEFAULT_NUMBER_OF_PIP_PACKAGES

    def get_python_version(self) -> str | None:
        """Return the version of the ``python`` conda package, or None."""
        if PACKAGES in self._conda_dependencies:
            for ditem in self._conda_dependencies[PACKAGES]:
                # The name must be exactly "python" (not "python-dateutil").
                if isinstance(ditem, str) and ditem.startswith(PYTHON_PREFIX) and \
                        CondaDependencies._get_package_name(ditem) == PYTHON_PREFIX:
                    return self._get_version(ditem)
        return None

    def set_python_version(self, version: str) -> None:
        """Set (or add) the ``python=<version>`` conda dependency."""
        if PACKAGES in self._conda_dependencies:
            has_python, index = self._has_python_package()
            if has_python:
                # Compared with the version cached at load time, exactly as the SDK does.
                if self._python_version != version:
                    self._conda_dependencies[PACKAGES][index] = PYTHON_PREFIX + "=" + version
            else:
                self._conda_dependencies[PACKAGES].append(PYTHON_PREFIX + "=" + version)
        else:
            self._conda_dependencies[PACKAGES] = [PYTHON_PREFIX + "=" + version]
        self._python_version = version
        return None

    def add_channel(self, channel: str) -> None:
        """Add a conda channel (once)."""
        if CHANNELS in self._conda_dependencies:
            if channel not in self._conda_dependencies[CHANNELS]:
                self._conda_dependencies[CHANNELS].append(channel)
        else:
            self._conda_dependencies[CHANNELS] = [channel]

    def remove_channel(self, channel: str) -> None:
        """Remove a conda channel."""
        if CHANNELS in self._conda_dependencies and channel in self._conda_dependencies[CHANNELS]:
            self._remove_from_list(self._conda_dependencies[CHANNELS], channel)

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda package; ``python...`` entries set the python version instead."""
        if PACKAGES in self._conda_dependencies:
            if conda_package not in self._conda_dependencies[PACKAGES]:
                if conda_package.startswith(PYTHON_PREFIX) and \
                        CondaDependencies._get_package_name(conda_package) == PYTHON_PREFIX:
                    # A bare "python" has no version: None is passed on, as the SDK does.
                    self.set_python_version(self._get_version(conda_package))  # type: ignore[arg-type]
                else:
                    self._conda_dependencies[PACKAGES].append(conda_package)
        else:
            self._conda_dependencies[PACKAGES] = [conda_package]

    def remove_conda_package(self, conda_package: str) -> None:
        """Remove a conda package (python itself cannot be removed)."""
        if PACKAGES in self._conda_dependencies and conda_package in self._conda_dependencies[PACKAGES]:
            if conda_package.startswith(PYTHON_PREFIX) and \
                    CondaDependencies._get_package_name(conda_package) == PYTHON_PREFIX:
                raise UserErrorException("python must not be removed from conda dependencies")
            self._remove_from_list(self._conda_dependencies[PACKAGES], conda_package)

    def add_pip_package(self, pip_package: str) -> None:
        """Add a pip package, replacing any earlier reference to the same package."""
        if self._is_option(pip_package):
            raise UserErrorException("Invalid package name {}".format(pip_package))

        self.remove_pip_package(pip_package)

        if not self._has_pip_package():
            pip_obj = {PIP: [pip_package]}
            if PACKAGES in self._conda_dependencies:
                self._conda_dependencies[PACKAGES].append(pip_obj)
            else:
                self._conda_dependencies[PACKAGES] = [pip_obj]
        elif pip_package not in self.pip_packages:
            for pitem in self._conda_dependencies[PACKAGES]:
                if PIP in pitem and isinstance(pitem, dict):
                    pitem[PIP].append(pip_package)

    def set_pip_option(self, pip_option: str) -> None:
        """Add a pip option, replacing an existing option with the same flag."""
        if not self._is_option(pip_option):
            raise UserErrorException("Invalid pip option {}".format(pip_option))

        if not self._has_pip_package():
            pip_obj = {PIP: [pip_option]}
            if PACKAGES in self._conda_dependencies:
                self._conda_dependencies[PACKAGES].append(pip_obj)
            else:
                self._conda_dependencies[PACKAGES] = [pip_obj]
        else:
            options = [x.split()[0] for x in self.pip_options]
            option_to_add = pip_option.split()[0]
            for pitem in self._conda_dependencies[PACKAGES]:
                if PIP in pitem and isinstance(pitem, dict):
                    if option_to_add not in options:
                        pitem[PIP].append(pip_option)
                    else:
                        for i in range(len(pitem[PIP])):
                            if pitem[PIP][i].split()[0] == option_to_add:
                                pitem[PIP][i] = pip_option

    def remove_pip_option(self, pip_option: str) -> None:
        """Remove a pip option (matched by its flag)."""
        if not self._is_option(pip_option):
            raise UserErrorException("Invalid pip option {}".format(pip_option))

        if self._has_pip_package():
            options = [x.split()[0] for x in self.pip_options]
            option_to_remove = pip_option.split()[0]
            if option_to_remove in options:
                for pitem in self._conda_dependencies[PACKAGES]:
                    if PIP in pitem and isinstance(pitem, dict):
                        to_remove = None
                        for i in range(len(pitem[PIP])):
                            if pitem[PIP][i].split()[0] == option_to_remove:
                                to_remove = pitem[PIP][i]
                        if to_remove:
                            self._remove_from_list(pitem[PIP], to_remove)

    @staticmethod
    def _get_package_name(value: str) -> str:
        # Wheel file names (possibly URLs) follow PEP 427: the name is before the first "-".
        if value.endswith(".whl"):
            return re.split("-", re.split("/", value)[-1])[0]
        return re.split(r"[\[=|<|>|~|!]", value)[0]

    @staticmethod
    def _get_package_name_with_extras(value: str) -> str:
        return re.split("[=|<|>|~|!]", value)[0]

    def remove_pip_package(self, pip_package: str) -> None:
        """Remove a pip package, whatever version/extras it was added with."""
        if self._is_option(pip_package):
            raise UserErrorException("Invalid package name {}".format(pip_package))

        packages = [CondaDependencies._get_package_name(x) for x in self.pip_packages]
        package_to_remove = CondaDependencies._get_package_name(pip_package)
        if pip_package in self.pip_packages or package_to_remove in packages:
            for pitem in self._conda_dependencies[PACKAGES]:
                if PIP in pitem and isinstance(pitem, dict):
                    to_remove = None
                    for i in range(len(pitem[PIP])):
                        if CondaDependencies._get_package_name(pitem[PIP][i]) == package_to_remove:
                            to_remove = pitem[PIP][i]
                    if to_remove:
                        self._remove_from_list(pitem[PIP], to_remove)

    def set_pip_requirements(self, pip_requirements: list[str]) -> None:
        """Overwrite the whole pip section (packages and options)."""
        if not self._has_pip_package():
            pip_obj = {PIP: pip_requirements}
            if PACKAGES in self._conda_dependencies:
                self._conda_dependencies[PACKAGES].append(pip_obj)
            else:
                self._conda_dependencies[PACKAGES] = [pip_obj]
        else:
            for pitem in self._conda_dependencies[PACKAGES]:
                if isinstance(pitem, dict) and PIP in pitem:
                    pitem[PIP] = pip_requirements

    def add_cntk_package(self, core_type: str = CPU) -> None:
        """Add the CNTK pip package for ``core_type`` ('cpu' or 'gpu')."""
        self._validate_core_type(core_type)
        self._remove_pip_package_with_prefix(CNTK_PACKAGE_PREFIX)
        self.add_pip_package(self._get_cntk_package(core_type))

    def add_tensorflow_pip_package(self, core_type: str = CPU, version: str | None = None) -> None:
        """Add the TensorFlow pip package for ``core_type`` ('cpu' or 'gpu')."""
        self._validate_core_type(core_type)
        self._remove_pip_package_with_prefix(TENSORFLOW_PACKAGE_PREFIX)
        self.add_pip_package(self._get_tensorflow_pip_package(core_type, version))

    def add_tensorflow_conda_package(self, core_type: str = CPU, version: str | None = None) -> None:
        """Add the TensorFlow conda package for ``core_type`` ('cpu' or 'gpu')."""
        self._validate_core_type(core_type)
        self._remove_conda_package_with_prefix(TENSORFLOW_PACKAGE_PREFIX)
        self.add_conda_package(self._get_tensorflow_conda_package(core_type, version))

    def save_to_file(self, base_directory: str, conda_file_path: str | None = None) -> str:
        """DEPRECATED, use :meth:`save`. Save under ``base_directory``; returns the relative path."""
        if not conda_file_path:
            # The SDK prefers a legacy "aml_config" folder when one exists.
            config_dir = "aml_config" if os.path.exists(
                os.path.join(os.path.abspath(os.path.normpath(base_directory)), "aml_config")) else ".azureml"
            conda_file_path = "{}/{}".format(config_dir, CONDA_FILE_NAME)
        normalized_conda_path = _normalize_windows_paths(conda_file_path)
        full_path = os.path.join(os.path.abspath(base_directory), normalized_conda_path)
        self._validate()
        with open(full_path, "w") as outfile:
            _dump_yaml(self._conda_dependencies, outfile)
        return normalized_conda_path

    def save(self, path: str | None = None) -> str:
        """Save the specification to the file ``path``; returns the normalized path."""
        # As in the SDK, a path left None is not refused politely: os.path.isdir(None) raises TypeError.
        if os.path.isdir(path):  # type: ignore[arg-type]
            raise UserErrorException("Cannot save a conda environment specification file to a directory. "
                                     "Please specify a fully qualified path along with the "
                                     "file name to save the file.")
        assert path is not None  # isdir raised above otherwise

        parent_dir = os.path.dirname(path)
        if parent_dir == "" or os.path.exists(parent_dir) and os.path.isdir(parent_dir):
            normalized_conda_path = _normalize_windows_paths(path)
        else:
            raise UserErrorException("Cannot save the conda environment specification file to an invalid path.")

        self._validate()
        with open(normalized_conda_path, "w") as outfile:
            _dump_yaml(self._conda_dependencies, outfile)
        return normalized_conda_path

    def serialize_to_string(self) -> str:
        """Return the specification as YAML text."""
        with StringIO() as output:
            _dump_yaml(self._conda_dependencies, output)
            return output.getvalue()

    def as_dict(self) -> Any:
        """Return the specification as plain JSON-compatible data."""
        return json.loads(json.dumps(self._conda_dependencies))

    def _remove_from_list(self, element_list: list, element: Any) -> None:
        if isinstance(element_list, _LoadedList):
            # Port of the SDK's CommentedSeq branch, including popping while iterating.
            count = 0
            for litem in element_list:
                if litem == element:
                    element_list.pop(count)
                count = count + 1
        else:
            element_list.remove(element)

    def _validate_core_type(self, core_type: str) -> None:
        if core_type != CPU and core_type != GPU:
            raise UserErrorException("Invalid core type {0}. Only accept 'cpu' or 'gpu'".format(core_type))

    def _has_pip_package(self) -> bool:
        if PACKAGES in self._conda_dependencies:
            for ditem in self._conda_dependencies[PACKAGES]:
                if PIP in ditem and isinstance(ditem, dict):
                    return True
        return False

    def _has_python_package(self) -> tuple[bool, int]:
        count = 0
        if PACKAGES in self._conda_dependencies:
            for ditem in self._conda_dependencies[PACKAGES]:
                if isinstance(ditem, str) and ditem.startswith(PYTHON_PREFIX) and \
                        CondaDependencies._get_package_name(ditem) == PYTHON_PREFIX:
                    return True, count
                count = count + 1
        return False, -1

    def _validate(self) -> None:
        has_python, _ = self._has_python_package()
        if not has_python:
            raise UserErrorException("Python package is missing.")

    def _get_version_major_minor(self, version: str) -> str:
        match = VERSION_REGEX.match(version)
        if not match:
            raise UserErrorException("invalid version number '{0}'".format(version))
        return match.group(1) + "." + match.group(2)

    def _get_version(self, version: str) -> str | None:
        matched_group = VERSION_REGEX.search(version)
        if matched_group:
            return matched_group.group()
        return None

    def _remove_pip_package_with_prefix(self, prefix: str) -> None:
        for item in self._get_pip_package_with_prefix(prefix):
            self.remove_pip_package(item)

    def _get_pip_package_with_prefix(self, prefix: str) -> list[str]:
        items: list[str] = []
        if PACKAGES in self._conda_dependencies:
            for ditem in self._conda_dependencies[PACKAGES]:
                if PIP in ditem and isinstance(ditem, dict):
                    for pitem in ditem[PIP]:
                        if isinstance(pitem, str) and pitem.startswith(prefix):
                            items.append(pitem)
        return items

    def _get_conda_package_with_prefix(self, prefix: str) -> list[str]:
        items: list[str] = []
        if PACKAGES in self._conda_dependencies:
            for ditem in self._conda_dependencies[PACKAGES]:
                if isinstance(ditem, str) and ditem.startswith(prefix):
                    items.append(ditem)
        return items

    def _remove_conda_package_with_prefix(self, prefix: str) -> None:
        for item in self._get_conda_package_with_prefix(prefix):
            self.remove_conda_package(item)

    def _get_cntk_package(self, core_type: str) -> str:
        suffix = "==" + CNTK_DEFAULT_VERSION
        if core_type.lower() == GPU:
            return CNTK_PACKAGE_PREFIX + "-gpu" + suffix
        return CNTK_PACKAGE_PREFIX + suffix

    def _get_tensorflow_pip_package(self, core_type: str, version: str | None = None) -> str:
        suffix = "==" + (version if version else TENSORFLOW_DEFAULT_VERSION)
        if core_type.lower() == GPU:
            return TENSORFLOW_PACKAGE_PREFIX + "-gpu" + suffix
        return TENSORFLOW_PACKAGE_PREFIX + suffix

    def _get_tensorflow_conda_package(self, core_type: str, version: str | None = None) -> str:
        suffix = "=" + (version if version else TENSORFLOW_DEFAULT_VERSION)
        if core_type.lower() == GPU:
            return TENSORFLOW_PACKAGE_PREFIX + "-gpu" + suffix
        return TENSORFLOW_PACKAGE_PREFIX + suffix

    def _pin_sdk_packages(self, version: str | None = None) -> None:
        if version is None:
            version = VERSION
        scope = CondaDependencies._sdk_scope()
        if PACKAGES in self._conda_dependencies:
            for ditem in self._conda_dependencies[PACKAGES]:
                if isinstance(ditem, dict) and PIP in ditem and isinstance(ditem[PIP], list):
                    old_pip_packages = ditem[PIP]
                    ditem[PIP] = []
                    for package in old_pip_packages:
                        if isinstance(package, str) and CondaDependencies._get_package_name(package) in scope:
                            name_with_extras = CondaDependencies._get_package_name_with_extras(package)
                            ditem[PIP].append("{}~={}".format(name_with_extras, version))
                        else:
                            ditem[PIP].append(package)


@overload
def _normalize_windows_paths(path: str) -> str: ...
@overload
def _normalize_windows_paths(path: None) -> None: ...
def _normalize_windows_paths(path: str | None) -> str | None:
    if not path:
        return path
    if os.name == "nt":
        return path.replace("\\", "/")
    return path

