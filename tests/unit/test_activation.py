"""The import hook: azureml.core / azureml.exceptions resolve to the facade while active, the real SDK after.

In-process tests always deactivate in a finally block; clean-interpreter cases run in a subprocess."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

import fake_azure
import fake_azure.core
import fake_azure.core.compute
import fake_azure.exceptions

REPO = Path(__file__).resolve().parents[2]
BOOTSTRAP = REPO / "fake_azure" / "_bootstrap"


@pytest.fixture
def clean_hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No activation leaks out of a test, whatever it does."""
    monkeypatch.delenv("FAKE_AZURE_TARGET", raising=False)
    assert not fake_azure.is_active()
    try:
        yield
    finally:
        fake_azure.deactivate()
        assert not fake_azure.is_active()


def _run(code: str, tmp_path: Path, env_extra: dict[str, str] | None = None,
         pythonpath: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
    env["FAKE_AZURE_HOME"] = str(tmp_path / "home")  # activation never needs the daemon
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pythonpath, str(REPO)) if p)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)


def _real_core():
    module = importlib.import_module("azureml.core")
    assert module is not fake_azure.core
    return module


# --- in-process -------------------------------------------------------------------------------------------------


def test_activate_maps_and_deactivate_restores_the_real_sdk(clean_hook) -> None:
    real_core = _real_core()
    real_workspace = real_core.Workspace
    assert fake_azure.activate() is True
    assert fake_azure.is_active()
    import azureml.core

    assert azureml.core is fake_azure.core
    assert azureml.core.Workspace is fake_azure.core.Workspace
    fake_azure.deactivate()
    assert not fake_azure.is_active()
    import azureml.core as again

    assert again is real_core
    assert again.Workspace is real_workspace
    assert again.Workspace is not fake_azure.core.Workspace
    assert sys.modules["azureml.core"] is real_core


def test_activate_and_deactivate_are_idempotent(clean_hook) -> None:
    assert fake_azure.activate() is True
    finders = [f for f in sys.meta_path if type(f).__name__ == "_AliasFinder"]
    assert fake_azure.activate() is True
    assert [f for f in sys.meta_path if type(f).__name__ == "_AliasFinder"] == finders and len(finders) == 1
    fake_azure.deactivate()
    fake_azure.deactivate()
    assert not [f for f in sys.meta_path if type(f).__name__ == "_AliasFinder"]
    assert importlib.import_module("azureml.core") is not fake_azure.core


def test_context_manager(clean_hook) -> None:
    real_core = _real_core()
    with fake_azure.activated() as active:
        assert active is True
        from azureml.core import Workspace

        assert Workspace is fake_azure.core.Workspace
    assert not fake_azure.is_active()
    assert importlib.import_module("azureml.core") is real_core


def test_context_manager_restores_on_error(clean_hook) -> None:
    real_core = _real_core()
    with pytest.raises(RuntimeError, match="inside"):
        with fake_azure.activated():
            raise RuntimeError("inside")
    assert not fake_azure.is_active()
    assert importlib.import_module("azureml.core") is real_core


def test_context_manager_inside_an_active_hook_leaves_it_active(clean_hook) -> None:
    fake_azure.activate()
    with fake_azure.activated() as active:
        assert active is True
    assert fake_azure.is_active()
    assert importlib.import_module("azureml.core") is fake_azure.core


def test_submodule_imports_resolve_to_facade_objects(clean_hook) -> None:
    with fake_azure.activated():
        import azureml.core.compute.aks as aks_module
        from azureml.core.compute import AksCompute, ComputeTarget
        from azureml.core.compute_target import ComputeTargetException
        from azureml.exceptions import UserErrorException, WebserviceException

        assert AksCompute is fake_azure.core.compute.AksCompute
        assert ComputeTarget is fake_azure.core.compute.ComputeTarget
        assert ComputeTargetException is fake_azure.exceptions.ComputeTargetException
        assert WebserviceException is fake_azure.exceptions.WebserviceException
        assert UserErrorException is fake_azure.exceptions.UserErrorException
        assert aks_module is sys.modules["fake_azure.core.compute.aks"]
        assert sys.modules["azureml.exceptions"] is fake_azure.exceptions
        assert sys.modules["azureml.core.compute"] is fake_azure.core.compute


def test_facade_modules_keep_their_own_spec(clean_hook) -> None:
    with fake_azure.activated():
        import azureml.core.compute_target as ct

        assert ct.__name__ == "fake_azure.core.compute_target"
        assert ct.__spec__.name == "fake_azure.core.compute_target"
        assert fake_azure.core.__spec__.name == "fake_azure.core"


def test_unmirrored_azureml_modules_are_not_importable_while_active(clean_hook) -> None:
    with fake_azure.activated():
        with pytest.raises(ImportError):
            importlib.import_module("azureml._base_sdk_common")
        with pytest.raises(ImportError):
            importlib.import_module("azureml.core.no_such_module")


def test_target_azure_keeps_the_real_sdk(clean_hook, monkeypatch: pytest.MonkeyPatch) -> None:
    real_core = _real_core()
    monkeypatch.setenv("FAKE_AZURE_TARGET", "azure")
    assert fake_azure.activate() is False
    assert not fake_azure.is_active()
    assert importlib.import_module("azureml.core") is real_core
    with fake_azure.activated() as active:
        assert active is False
        from azureml.core import Workspace

        assert Workspace is real_core.Workspace
        assert Workspace.__module__ == "azureml.core.workspace"


def test_bad_target_is_a_settings_error(clean_hook, monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_azure.settings import SettingsError

    monkeypatch.setenv("FAKE_AZURE_TARGET", "gcp")
    with pytest.raises(SettingsError):
        fake_azure.activate()
    assert not fake_azure.is_active()


# --- clean interpreters -----------------------------------------------------------------------------------------


def test_fresh_interpreter_activate_then_deactivate(tmp_path: Path) -> None:
    result = _run("""
        import sys, fake_azure
        assert not any(n == "azureml" or n.startswith("azureml.") for n in sys.modules)
        fake_azure.activate()
        import azureml.core
        from azureml.core.compute import AksCompute
        from azureml.core.compute_target import ComputeTargetException
        from azureml.exceptions import WebserviceException
        print(azureml.core.Workspace.__module__, AksCompute.__module__, ComputeTargetException.__module__,
              WebserviceException.__module__)
        fake_azure.deactivate()
        import azureml.core
        import fake_azure.core
        print(azureml.core.Workspace.__module__, azureml.core.Workspace is not fake_azure.core.Workspace)
        from azureml.exceptions import WebserviceException as W
        print(W.__module__)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "fake_azure.core.workspace fake_azure.core.compute.aks fake_azure.exceptions fake_azure.exceptions",
        "azureml.core.workspace True",
        "azureml.exceptions._azureml_exception",
    ]


def test_activation_after_the_real_sdk_was_imported(tmp_path: Path) -> None:
    result = _run("""
        import sys
        import azureml.core, azureml.exceptions
        from azureml.core.compute import AksCompute as RealAks
        real_core, real_exc = sys.modules["azureml.core"], sys.modules["azureml.exceptions"]
        import fake_azure
        assert fake_azure.activate()
        from azureml.core import Workspace
        from azureml.core.compute import AksCompute
        from azureml.exceptions import ComputeTargetException
        print(Workspace.__module__, AksCompute is not RealAks, ComputeTargetException.__module__)
        fake_azure.deactivate()
        import azureml.core, azureml.exceptions
        from azureml.core.compute import AksCompute as Again
        print(azureml.core is real_core, azureml.exceptions is real_exc, Again is RealAks)
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["fake_azure.core.workspace True fake_azure.exceptions", "True True True"]


def test_target_azure_in_a_fresh_interpreter(tmp_path: Path) -> None:
    result = _run("""
        import fake_azure
        print(fake_azure.activate())
        from azureml.core import Workspace
        print(Workspace.__module__)
    """, tmp_path, {"FAKE_AZURE_TARGET": "azure"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["False", "azureml.core.workspace"]


def test_bootstrap_sitecustomize_activates_every_process(tmp_path: Path) -> None:
    result = _run("""
        import fake_azure
        from azureml.core import Workspace
        print(fake_azure.is_active(), Workspace.__module__)
    """, tmp_path, pythonpath=str(BOOTSTRAP))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True fake_azure.core.workspace"]


def test_bootstrap_chains_to_an_existing_sitecustomize(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import sys\nsys.stdout.write('other sitecustomize ran\\n')\n")
    result = _run("""
        from azureml.core import Workspace
        print(Workspace.__module__)
    """, tmp_path, pythonpath=os.pathsep.join([str(BOOTSTRAP), str(other)]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["other sitecustomize ran", "fake_azure.core.workspace"]


def test_bootstrap_reports_a_failed_activation_without_breaking_python(tmp_path: Path) -> None:
    result = _run("print('still runs')", tmp_path, {"FAKE_AZURE_TARGET": "nowhere"}, pythonpath=str(BOOTSTRAP))
    assert result.returncode == 0
    assert result.stdout == "still runs\n"
    assert "fake-azure: activation failed: FAKE_AZURE_TARGET='nowhere' is not one of emulator, azure" in result.stderr


def test_target_azure_removes_an_earlier_activation(monkeypatch) -> None:
    import sys

    import fake_azure

    fake_azure.activate()
    try:
        monkeypatch.setenv("FAKE_AZURE_TARGET", "azure")
        assert fake_azure.activate() is False
        assert not fake_azure.is_active()
        import azureml.core

        assert not azureml.core.__name__.startswith("fake_azure")
        assert "fake_azure" not in sys.modules["azureml.core"].__file__
    finally:
        fake_azure.deactivate()
