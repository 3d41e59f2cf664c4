"""The import hook: while active, ``azureml.core...`` and ``azureml.exceptions`` resolve to the facade.

A meta-path finder placed first answers for those names with the facade's module objects, so
``from azureml.core import Workspace`` gives ``fake_azure.core.Workspace`` even when the real
azureml-core is installed. Deactivation restores whatever ``sys.modules`` held before."""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from contextlib import contextmanager
from typing import Callable, Iterator

from .settings import Settings
from .trust import CaBundle
from .v2_cloud import V2Cloud

# alias prefix -> facade module
ALIASES = {
    "azureml.core": "fake_azure.core",
    "azureml.exceptions": "fake_azure.exceptions",
    "azureml.data": "fake_azure.data",
}
_ROOT = "azureml"


def _target_for(fullname: str) -> str | None:
    for alias, target in ALIASES.items():
        if fullname == alias or fullname.startswith(alias + "."):
            return target + fullname[len(alias):]
    return None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str | None) -> None:
        self._target = target
        self._own_spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if self._target is None:  # the bare "azureml" namespace
            module = types.ModuleType(_ROOT)
            module.__path__ = []
            return module
        module = importlib.import_module(self._target)
        self._own_spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system stamps the alias spec on the module; the facade module keeps its own.
        if self._own_spec is not None:
            module.__spec__ = self._own_spec


# Importing one of these while active points the SDK v2 client at the local cloud (fake_azure/v2_cloud.py).
V2_TRIGGERS = ("azure.ai.ml", "azure.identity")


class _AliasFinder(importlib.abc.MetaPathFinder):
    def __init__(self, on_v2_import: "Callable[[], None]") -> None:
        self._on_v2_import = on_v2_import

    def find_spec(self, fullname, path=None, target=None):
        if fullname in V2_TRIGGERS:
            self._on_v2_import()
            return None  # the real package is imported as usual
        if fullname == _ROOT:
            return importlib.machinery.ModuleSpec(fullname, _AliasLoader(None), is_package=True)
        facade = _target_for(fullname)
        if facade is None:
            return None
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(facade), is_package=True)
        return spec


class _Activation:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finder: _AliasFinder | None = None
        self._saved: dict[str, types.ModuleType] = {}
        self._v2 = V2Cloud()
        self._ca_bundle = CaBundle()  # REQUESTS_CA_BUNDLE: https scoring URIs of SSL clusters verify
        self._settings: Settings | None = None

    def _point_v2_client(self) -> None:
        if self._settings is not None and not self._v2.active:
            self._v2.apply(self._settings)

    @property
    def active(self) -> bool:
        return self._finder is not None

    def activate(self) -> bool:
        settings = Settings.from_env()
        if settings.target == "azure":
            self.deactivate()  # an earlier activation must not keep shadowing the real SDK
            try:
                importlib.import_module("azureml.core")
            except ImportError as exc:
                from .exceptions import UserErrorException

                raise UserErrorException(
                    "FAKE_AZURE_TARGET=azure asks for real Azure, but azureml-core is not installed. "
                    "Install it with: pip install 'fake-azure[azure]'"
                ) from exc
            return False
        with self._lock:
            if self._finder is not None:
                return True
            # Real azureml modules already imported would shadow the hook: park them until deactivate().
            self._saved = {name: mod for name, mod in sys.modules.items()
                           if name == _ROOT or name.startswith(_ROOT + ".")}
            for name in self._saved:
                del sys.modules[name]
            self._finder = _AliasFinder(self._point_v2_client)
            self._settings = settings
            sys.meta_path.insert(0, self._finder)
            self._ca_bundle.apply(settings)
        if "azure.ai.ml" in sys.modules:  # imported before activation: point it at the local cloud now
            self._point_v2_client()
        return True

    def deactivate(self) -> None:
        with self._lock:
            if self._finder is None:
                return
            sys.meta_path.remove(self._finder)
            self._finder = None
            self._settings = None
            self._v2.undo()
            self._ca_bundle.undo()
            for name in [n for n in sys.modules if n == _ROOT or n.startswith(_ROOT + ".")]:
                del sys.modules[name]
            sys.modules.update(self._saved)
            self._saved = {}


_activation = _Activation()


def activate() -> bool:
    """Make ``azureml.core``/``azureml.data``/``azureml.exceptions`` imports resolve to the emulator.

    Returns True when the emulator is active, False when ``FAKE_AZURE_TARGET=azure`` keeps the real SDK."""
    return _activation.activate()


def deactivate() -> None:
    """Undo :func:`activate`; modules of the real SDK imported before activation come back."""
    _activation.deactivate()


def is_active() -> bool:
    return _activation.active


@contextmanager
def activated() -> Iterator[bool]:
    """``with fake_azure.activated(): ...`` runs a block against the emulator."""
    was_active = is_active()
    result = activate()
    try:
        yield result
    finally:
        if not was_active:
            deactivate()
