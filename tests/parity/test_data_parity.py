"""The facade's datastore, dataset and resource-configuration code against the real azureml-core 1.61, on
what is decided client-side: argument checks and their texts, where uploaded files land in the container,
data references, and ResourceConfiguration's payloads and validation.

Each case runs the same call on both and compares the outcome: the return value, or the exception's class
name, ``.message`` and ``str()``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest

pytestmark = pytest.mark.parity

real_factory = pytest.importorskip("azureml.data.dataset_factory")
import azureml.core.resource_configuration as real_rc  # noqa: E402 - after the importorskip
import azureml.data.azure_storage_datastore as real_storage  # noqa: E402 - after the importorskip

import fake_azure.core.resource_configuration as fake_rc  # noqa: E402 - after the importorskip
import fake_azure.data.azure_storage_datastore as fake_storage  # noqa: E402 - after the importorskip
import fake_azure.data.dataset_factory as fake_factory  # noqa: E402 - after the importorskip


def outcome(call: Callable[[], Any]) -> tuple:
    try:
        return ("returned", call())
    except Exception as exc:  # the comparison is the point
        return (type(exc).__name__, getattr(exc, "message", None), str(exc))


def _blob_store(module: Any) -> Any:
    return module.AzureBlobDatastore(None, "workspaceblobstore", "container", "account", account_key="k")


RESOURCE_CONFIGURATIONS = [dict(), dict(cpu=1, memory_in_gb=0.5), dict(cpu=0.1, memory_in_gb=15, gpu=2),
                           dict(cpu=-1), dict(memory_in_gb=-0.5), dict(gpu=-1.5),
                           dict(cpu=-1, memory_in_gb=-1, gpu=-2.0)]


@pytest.mark.parametrize("kwargs", RESOURCE_CONFIGURATIONS)
def test_resource_configuration_payload_and_validation(kwargs):
    def run(module: Any) -> tuple:
        config = module.ResourceConfiguration(**kwargs)
        return (config.serialize(), outcome(config._validate_configuration))

    assert run(real_rc) == run(fake_rc)


@pytest.mark.parametrize("payload", [None, {"cpu": 1, "memoryInGB": 2, "gpu": None}, {"cpu": 1, "gpu": 0}, {}])
def test_resource_configuration_deserialize(payload):
    def run(module: Any) -> tuple:
        result = outcome(lambda: module.ResourceConfiguration.deserialize(payload))
        return result if result[0] != "returned" or result[1] is None else ("returned", result[1].serialize())

    assert run(real_rc) == run(fake_rc)


@pytest.mark.parametrize("path_of", [
    lambda store: None, lambda store: [], lambda store: "local/file.csv", lambda store: ["data.csv", "b.csv"],
    lambda store: (store, 3), lambda store: (store, "a", "b"), lambda store: ("workspaceblobstore", "a.csv"),
    lambda store: 42, lambda store: [(store, "a.csv"), "b.csv"],
])
def test_invalid_dataset_paths(path_of):
    real = outcome(lambda: real_factory.TabularDatasetFactory.from_delimited_files(path_of(_blob_store(real_storage))))
    fake = outcome(lambda: fake_factory.TabularDatasetFactory.from_delimited_files(path_of(_blob_store(fake_storage))))
    assert real[0] == "UserErrorException"
    assert real == fake
    real = outcome(lambda: real_factory.FileDatasetFactory.from_files(path_of(_blob_store(real_storage))))
    fake = outcome(lambda: fake_factory.FileDatasetFactory.from_files(path_of(_blob_store(fake_storage))))
    assert real == fake


@pytest.mark.parametrize("kwargs", [dict(header="FIRST_ROW"), dict(encoding="utf-7"), dict(encoding="ebcdic")])
def test_invalid_delimited_file_options(kwargs):
    def run(factory: Any, storage: Any) -> tuple:
        return outcome(lambda: factory.TabularDatasetFactory.from_delimited_files(
            (_blob_store(storage), "a.csv"), **kwargs))

    real, fake = run(real_factory, real_storage), run(fake_factory, fake_storage)
    assert real[0] == "UserErrorException"
    assert real == fake


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for relpath in ("features.csv", "labels.csv", "data/a.csv", "data/sub/b.csv", "other/c.csv"):
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text(relpath)
    return tmp_path


@pytest.mark.parametrize("files, relative_root, target_path", [
    (["./features.csv", "./labels.csv"], None, "sklearn_regression/"),
    (["./features.csv"], ".", None),
    (["data/a.csv", "data/sub/b.csv"], None, "x"),
    (["data/a.csv", "other/c.csv"], None, "./../up"),
    (["data/sub/b.csv"], "data", "deep/er"),
    (["data/a.csv"], "other", None),
    (["data/missing.csv"], "data", None),
    (["data"], ".", None),
])
def test_where_upload_files_puts_each_file(tree, files, relative_root, target_path):
    def run(storage: Any) -> tuple:
        store = _blob_store(storage)
        root = relative_root or storage._common_path(files) if storage is fake_storage else \
            relative_root or real_storage.common_path(files)
        return outcome(lambda: store._get_upload_from_files(files, target_path or "", root, False))

    assert run(real_storage) == run(fake_storage)


@pytest.mark.parametrize("src_dir, target_path", [("data", None), ("data/", "t"), (os.path.join(".", "data"), "/abs"),
                                                  ("features.csv", None)])
def test_where_upload_puts_a_folder(tree, src_dir, target_path):
    def run(storage: Any) -> tuple:
        result = outcome(lambda: _blob_store(storage)._get_upload_from_dir(src_dir, target_path or ""))
        return (result[0], sorted(result[1])) if result[0] == "returned" else result

    assert run(real_storage) == run(fake_storage)


@pytest.mark.parametrize("base, path, name", [(None, None, None), (None, "a/b", None), ("a", "b", "ref"),
                                              ("./", "b", None), ("a", "/", "n"), ("a", None, None)])
def test_data_reference_paths(base, path, name):
    import azureml.data.data_reference as real_ref

    import fake_azure.data.data_reference as fake_ref

    def run(ref_module: Any, storage: Any) -> tuple:
        reference = ref_module.DataReference(_blob_store(storage), data_reference_name="base" if base else None,
                                             path_on_datastore=base).path(path, name)
        shown = str(reference) if reference.data_reference_name in ("base", "ref", "n", "workspaceblobstore") \
            else "<random name>"
        return (reference.path_on_datastore, reference.mode, shown)

    assert run(real_ref, real_storage) == run(fake_ref, fake_storage)


def test_blob_datastore_repr_and_dict():
    real, fake = _blob_store(real_storage), _blob_store(fake_storage)
    assert repr(real) == repr(fake)
    assert real._as_dict(hide_secret=False) == fake._as_dict(hide_secret=False)
    assert (real.credential_type, real.datastore_type) == (fake.credential_type, fake.datastore_type)


@pytest.mark.parametrize("call", [lambda store: store.upload("missing-folder", target_path="t"),
                                  lambda store: store.upload_files(["missing.csv"], target_path="t")])
def test_upload_methods_log_the_sdks_deprecation_warning(tree, call, caplog, monkeypatch):
    import azureml.data._dataset_deprecation as real_deprecation

    def run(storage: Any) -> tuple:
        caplog.clear()
        with caplog.at_level("WARNING"):
            result = outcome(lambda: call(_blob_store(storage)))
            again = outcome(lambda: call(_blob_store(storage)))  # warned once per process
        return result, again, [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]

    monkeypatch.setattr(real_deprecation, "_warned", set())
    # The SDK leaves this set when a deprecated call raises, which silences its later warnings: start clean.
    monkeypatch.setattr(real_deprecation, "_warning_silenced_for", None)
    monkeypatch.setattr(fake_storage, "_warned", set())
    real, fake = run(real_storage), run(fake_storage)
    assert real[0][0] == "UserErrorException" and len(real[2]) == 1
    assert real == fake
