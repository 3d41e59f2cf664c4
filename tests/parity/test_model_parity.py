"""The facade's Model against the real azureml-core 1.61 Model, on everything decided client-side:
argument validation, local paths, the get_model_path cache rules, signatures and constants.

Each case runs the same call on both and compares the outcome: the return value, or the exception's
class name, ``.message`` and ``str()``.
"""
from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

pytestmark = pytest.mark.parity

real_model = pytest.importorskip("azureml.core.model")
import fake_azure.core.model as fake_model  # noqa: E402 - after the importorskip

MODULES = {"real": real_model, "fake": fake_model}


def outcome(call: Callable[[], Any]) -> tuple:
    try:
        return ("returned", call())
    except Exception as exc:  # the comparison is the point
        return (type(exc).__name__, getattr(exc, "message", None), str(exc))


def both(call: Callable[[Any], Any]) -> tuple[tuple, tuple]:
    """``call(Model)`` on the real and the fake Model."""
    return outcome(lambda: call(real_model.Model)), outcome(lambda: call(fake_model.Model))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.pkl").write_bytes(b"x")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.bin").write_bytes(b"a")
    return tmp_path


@pytest.mark.parametrize("name", ["", "_leading", "-dash", "has space", "slash/name", "a" * 256, "ü-model"])
def test_invalid_model_names(workdir, name):
    real, fake = both(lambda Model: Model.register(None, "model.pkl", name))
    assert real[0] == "WebserviceException"
    assert real == fake


@pytest.mark.parametrize("name", ["a", "A.b-c_d", "9" * 255])
def test_valid_names_pass_the_rule(workdir, name):
    # Both get past the name rule and stop at the (missing) path.
    real, fake = both(lambda Model: Model.register(None, "missing.pkl", name))
    assert real == fake == ("FileNotFoundError", None, "Path does not exist")


@pytest.mark.parametrize("kwargs", [
    dict(model_path="model.pkl", model_name="m", model_framework_version="2.0"),
    dict(model_path="missing.pkl", model_name="m"),
    dict(model_path="/", model_name="m"),  # exists, outside the current directory
    dict(model_path="../", model_name="m"),
    dict(model_path="folder", model_name="m", child_paths=["a.bin", "nope.bin"]),
])
def test_register_client_side_failures(workdir, kwargs):
    real, fake = both(lambda Model: Model.register(None, **kwargs))
    assert real[0] != "returned"
    assert real == fake


def test_one_of_id_or_name(workdir):
    real, fake = both(lambda Model: Model(object()))
    assert real[1] == "Error, one of id or name must be provided."
    assert real == fake


@pytest.mark.parametrize("kwargs", [dict(page_count=5), dict(page_count=300), dict(tags={"a": "b"}),
                                    dict(tags="a")])
def test_list_argument_checks(kwargs):
    real, fake = both(lambda Model: Model.list(None, **kwargs))
    assert real[0] == "UserErrorException"
    assert real == fake


def test_download_with_both_exist_flags():
    real, fake = both(lambda Model: Model(None).download(exists_ok=True))
    assert real[1] == "Both exists_ok and exist_ok are set. Please use exist_ok only."
    assert real == fake


def test_immutable_properties_are_checked_before_any_call():
    def add(Model):
        model = Model(None)
        model.properties = {"p": "1", "q": "2"}
        model.add_properties({"q": "3", "r": "4", "p": "5"})

    real, fake = both(add)
    assert real[0] == "WebserviceException"
    assert real == fake


def test_bare_model_attributes_and_repr():
    real, fake = real_model.Model(None), fake_model.Model(None)
    assert sorted(vars(real)) == sorted(vars(fake))
    assert repr(real) == repr(fake)


def test_framework_constants():
    names = [n for n in vars(real_model.Model.Framework) if n.isupper()]
    assert names and {n: getattr(real_model.Model.Framework, n) for n in names} == {
        n: getattr(fake_model.Model.Framework, n) for n in names}
    assert real_model.Model._SUPPORTED_FRAMEWORKS_FOR_NO_CODE_DEPLOY == \
        fake_model.Model._SUPPORTED_FRAMEWORKS_FOR_NO_CODE_DEPLOY


@pytest.mark.parametrize("member", ["__init__", "register", "list", "download", "delete", "update",
                                    "update_tags_properties", "add_tags", "remove_tags", "add_properties",
                                    "serialize", "deserialize", "get_model_path", "package", "profile"])
def test_signatures(member):
    def shape(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert shape(getattr(real_model.Model, member)) == shape(getattr(fake_model.Model, member))
    is_static = {k: isinstance(inspect.getattr_static(m.Model, member), staticmethod) for k, m in MODULES.items()}
    assert is_static["real"] == is_static["fake"]


def test_package_and_profile_are_exported_where_the_sdk_has_them():
    from azureml.core import profile as real_profile

    from fake_azure.core import profile as fake_profile

    assert hasattr(real_model, "ModelPackage") and hasattr(fake_model, "ModelPackage")
    for name in ("MIN_PROFILE_CPU", "MAX_PROFILE_CPU", "MIN_PROFILE_MEMORY", "MAX_PROFILE_MEMORY"):
        assert getattr(fake_profile, name) == getattr(real_profile, name)
    assert fake_profile.ModelProfile._details_keys_success == real_profile.ModelProfile._details_keys_success
    assert fake_profile.ModelProfile._details_keys_error == real_profile.ModelProfile._details_keys_error


# --- get_model_path outside a replica: the azureml-models cache and the cwd fallback --------------------

@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A MODELS_DIR for both modules (the SDK computes it at import time, so set the attribute)."""
    models_dir = tmp_path / "app" / "azureml-models"
    for module in MODULES.values():
        monkeypatch.setattr(module, "MODELS_DIR", str(models_dir))
    for version in ("1", "2", "10"):
        (models_dir / "tf-dnn-mnist" / version / "model").mkdir(parents=True)
    (models_dir / "two-entries" / "1").mkdir(parents=True)
    (models_dir / "two-entries" / "1" / "a.pkl").write_bytes(b"a")
    (models_dir / "two-entries" / "1" / "b.pkl").write_bytes(b"b")
    cwd = tmp_path / "cwd"
    (cwd / "localmodel.pkl").parent.mkdir()
    (cwd / "localmodel.pkl").write_bytes(b"local")
    monkeypatch.chdir(cwd)
    return models_dir


@pytest.mark.parametrize("args", [
    ("tf-dnn-mnist",),  # latest by integer order: 10, not 2
    ("tf-dnn-mnist", 1),
    ("tf-dnn-mnist", 3),  # version given, not cached: re-raised as WebserviceException
    ("tf-dnn-mnist", "2"),  # version should be an int
    ("tf-dnn-mnist", 2.0),
    ("localmodel.pkl",),  # the cwd fallback
    ("localmodel.pkl", 1),  # version given, no cache folder: cwd fallback too
    ("nowhere",),  # ModelNotFoundException
    ("nowhere", 4),
    ("two-entries",),  # exactly one entry per version folder
])
def test_get_model_path(cache, args):
    real, fake = both(lambda Model: Model.get_model_path(*args))
    assert real == fake
    if args == ("tf-dnn-mnist",):
        assert real == ("returned", str(cache / "tf-dnn-mnist" / "10" / "model"))
    if args == ("nowhere",):
        assert real[0] == "ModelNotFoundException"
    if args == ("tf-dnn-mnist", 3):
        assert real[0] == "WebserviceException"


def test_models_dir_is_fixed_at_import_from_aml_app_root(tmp_path):
    snippet = ("import azureml.core.model as real, fake_azure.core.model as fake\n"
               "print(real.MODELS_DIR); print(fake.MODELS_DIR)\n")
    results = []
    for root in (str(tmp_path / "app"), None):
        env = {k: v for k, v in os.environ.items() if k != "AML_APP_ROOT"}
        if root is not None:
            env["AML_APP_ROOT"] = root
        done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, env=env, timeout=180)
        assert done.returncode == 0, done.stderr
        real, fake = done.stdout.strip().splitlines()[-2:]
        results.append((real, fake))
    assert results == [(str(tmp_path / "app" / "azureml-models"),) * 2, ("azureml-models",) * 2]
