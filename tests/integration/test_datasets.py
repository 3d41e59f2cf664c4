"""Datastores and datasets end to end (facade -> daemon -> SQLite + the content-addressed blob store), with
the calls Microsoft's deployment notebooks make: the default datastore's ``upload_files``, tabular and file
datasets over ``(datastore, 'path')``, registered datasets, and datasets and a resource configuration
attached to ``Model.register`` and read back as the SDK exposes them."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import requests

from fake_azure.core import Dataset, Datastore, Model
from fake_azure.core.resource_configuration import ResourceConfiguration
from fake_azure.data import FileDataset, TabularDataset
from fake_azure.data.azure_storage_datastore import AzureBlobDatastore
from fake_azure.data.datapath import DataPath
from fake_azure.data.dataset_error_handling import DatasetValidationError
from fake_azure.data.dataset_type_definitions import PromoteHeadersBehavior
from fake_azure.exceptions import UserErrorException

FEATURES = b"age,sex,bmi\n0.038,0.05,0.061\n-0.001,-0.044,-0.051\n"
LABELS = b"label\n151.0\n75.0\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "features.csv").write_bytes(FEATURES)
    (tmp_path / "labels.csv").write_bytes(LABELS)
    (tmp_path / "sklearn_regression_model.pkl").write_bytes(b"not really a pickle")
    return tmp_path


def _blob_files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


def test_the_default_datastore_is_workspaceblobstore(ws):
    default = ws.get_default_datastore()

    assert isinstance(default, AzureBlobDatastore)
    assert (default.name, default.datastore_type) == ("workspaceblobstore", "AzureBlob")
    assert default.container_name == "azureml-blobstore-" + ws._workspace_id
    assert Datastore.get_default(ws).name == Datastore(ws).name == "workspaceblobstore"
    assert Datastore.get(ws, "workspaceblobstore").account_name == default.account_name
    assert Datastore(ws, "workspaceblobstore").container_name == default.container_name
    assert list(ws.datastores) == ["workspaceblobstore"]
    assert json.loads(repr(default))["container_name"] == default.container_name


def test_an_unknown_datastore_is_a_user_error(ws):
    with pytest.raises(UserErrorException, match="'workspaceblobstore'"):
        Datastore.get(ws, "my_store")


def test_upload_files_as_the_notebook_then_download(ws, workdir, capsys, tmp_path_factory):
    datastore = ws.get_default_datastore()
    reference = datastore.upload_files(files=["./features.csv", "./labels.csv"], target_path="sklearn_regression/",
                                       overwrite=True)

    assert reference.datastore is datastore and reference.path_on_datastore == "sklearn_regression/"
    out = capsys.readouterr().out
    assert out.startswith("Uploading an estimated of 2 files\n") and out.endswith("Uploaded 2 files\n")
    target = tmp_path_factory.mktemp("download")
    assert datastore.download(str(target), prefix="sklearn_regression", show_progress=False) == 2
    assert (target / "sklearn_regression" / "features.csv").read_bytes() == FEATURES
    assert (target / "sklearn_regression" / "labels.csv").read_bytes() == LABELS


def test_upload_keeps_existing_blobs_unless_overwrite(ws, workdir, capsys, tmp_path_factory):
    datastore = ws.get_default_datastore()
    datastore.upload_files(["./features.csv"], target_path="data", show_progress=False)
    (workdir / "features.csv").write_bytes(b"changed\n")

    datastore.upload_files(["./features.csv"], target_path="data")
    assert "Target already exists. Skipping upload for data/features.csv" in capsys.readouterr().out
    target = tmp_path_factory.mktemp("kept")
    datastore.download(str(target), show_progress=False)
    assert (target / "data" / "features.csv").read_bytes() == FEATURES

    datastore.upload_files(["./features.csv"], target_path="data", overwrite=True, show_progress=False)
    datastore.download(str(target), overwrite=True, show_progress=False)
    assert (target / "data" / "features.csv").read_bytes() == b"changed\n"


def test_upload_a_folder_keeps_its_layout(ws, workdir, tmp_path_factory):
    (workdir / "tree" / "sub").mkdir(parents=True)
    (workdir / "tree" / "a.txt").write_text("a")
    (workdir / "tree" / "sub" / "b.txt").write_text("b")
    ws.get_default_datastore().upload("tree", target_path="up", show_progress=False)

    files = Dataset.File.from_files((ws.get_default_datastore(), "up/"))
    assert sorted(files.to_path()) == ["/a.txt", "/sub/b.txt"]


def test_blobs_share_the_models_content_addressed_store(ws, workdir, settings):
    data = os.urandom(40_000)
    (workdir / "weights.bin").write_bytes(data)
    before = _blob_files(settings.blob_dir)

    Model.register(ws, "weights.bin", "shared-bytes")
    ws.get_default_datastore().upload_files(["./weights.bin"], target_path="copy", show_progress=False)

    assert _blob_files(settings.blob_dir) - before == {hashlib.sha256(data).hexdigest()}


def test_tabular_dataset_reads_delimited_files(ws, workdir):
    datastore = ws.get_default_datastore()
    datastore.upload_files(["./features.csv", "./labels.csv"], target_path="diabetes", show_progress=False)

    features = Dataset.Tabular.from_delimited_files(path=[(datastore, "diabetes/features.csv")])
    frame = features.to_pandas_dataframe()

    assert isinstance(features, TabularDataset) and features.id is None and features.name is None
    assert list(frame.columns) == ["age", "sex", "bmi"]
    assert frame["bmi"].tolist() == [0.061, -0.051]
    as_text = Dataset.Tabular.from_delimited_files(DataPath(datastore, "diabetes/*.csv"), infer_column_types=False,
                                                   header=False)
    assert as_text.to_pandas_dataframe()["Column1"].tolist() == ["age", "0.038", "-0.001", "label", "151.0", "75.0"]


def test_one_request_per_line_as_the_profiling_notebook(ws, workdir):
    requests_file = workdir / "sample_request_data.txt"
    requests_file.write_text("\n".join([json.dumps({"data": [[1, 2]]})] * 3))
    datastore = Datastore.get_default(ws)
    datastore.upload_files(["./" + requests_file.name], target_path="sample_request_data", show_progress=False)

    dataset = Dataset.Tabular.from_delimited_files([(datastore, "sample_request_data/sample_request_data.txt")],
                                                   separator="\n", infer_column_types=True,
                                                   header=PromoteHeadersBehavior.NO_HEADERS)
    registered = dataset.register(workspace=ws, name="diabetes_sample_request_data", create_new_version=True)

    assert registered.to_pandas_dataframe()["Column1"].tolist() == ['{"data": [[1, 2]]}'] * 3


def test_a_path_with_no_data_fails_validation_unless_validate_is_off(ws):
    datastore = ws.get_default_datastore()
    with pytest.raises(DatasetValidationError, match="Failed to validate the data"):
        Dataset.Tabular.from_delimited_files((datastore, "nothing/here.csv"))
    assert Dataset.Tabular.from_delimited_files((datastore, "nothing/here.csv"), validate=False,
                                                infer_column_types=False).id is None


def test_file_dataset_globs_and_download(ws, workdir, tmp_path_factory):
    datastore = ws.get_default_datastore()
    datastore.upload_files(["./features.csv", "./labels.csv", "./sklearn_regression_model.pkl"],
                           target_path="mixed/2024", show_progress=False)

    csvs = Dataset.File.from_files(path=(datastore, "mixed/*/*.csv"))
    assert isinstance(csvs, FileDataset)
    assert csvs.to_path() == ["/2024/features.csv", "/2024/labels.csv"]
    target = tmp_path_factory.mktemp("files")
    paths = csvs.download(target_path=str(target))
    assert paths == [str(target / "2024" / "features.csv"), str(target / "2024" / "labels.csv")]
    assert (target / "2024" / "labels.csv").read_bytes() == LABELS
    with pytest.raises(UserErrorException, match="already exists. Set overwrite=True"):
        csvs.download(target_path=str(target))
    assert csvs.download(target_path=str(target), overwrite=True) == paths
    single = Dataset.File.from_files((datastore, "mixed/2024/labels.csv"))
    assert single.to_path() == ["/labels.csv"]
    assert Path(single.download()[0]).read_bytes() == LABELS  # no target: a new temporary folder


def test_registered_datasets_have_names_and_versions(ws, workdir):
    datastore = ws.get_default_datastore()
    datastore.upload_files(["./features.csv", "./labels.csv"], target_path="reg", show_progress=False)
    first = Dataset.File.from_files((datastore, "reg/features.csv"))
    second = Dataset.File.from_files((datastore, "reg/labels.csv"))

    v1 = first.register(ws, "diabetes", description="features", tags={"area": "diabetes"})
    with pytest.raises(UserErrorException, match='already a dataset registered under name "diabetes"'):
        second.register(ws, "diabetes")
    v2 = second.register(ws, "diabetes", create_new_version=True)
    again = second.register(ws, "diabetes", create_new_version=True)  # same definition: no new version

    assert (v1.name, v1.version, v1.description, v1.tags) == ("diabetes", 1, "features", {"area": "diabetes"})
    assert (v2.version, again.version) == (2, 2)
    assert Dataset.get_by_name(ws, "diabetes").version == 2
    assert Dataset.get_by_name(ws, name="diabetes", version=1).to_path() == ["/features.csv"]
    assert Dataset.get_by_id(ws, v1.id).name == "diabetes"
    assert set(ws.datasets) == {"diabetes"} and ws.datasets["diabetes"].version == 2
    with pytest.raises(UserErrorException, match='Cannot find dataset registered with name "missing"'):
        Dataset.get_by_name(ws, "missing")
    with pytest.raises(UserErrorException, match='Cannot find dataset with id "0000"'):
        Dataset.get_by_id(ws, "0000")


def test_model_register_with_datasets_as_the_deploy_to_cloud_notebook(ws, workdir):
    datastore = ws.get_default_datastore()
    datastore.upload_files(files=["./features.csv", "./labels.csv"], target_path="sklearn_regression/",
                           overwrite=True, show_progress=False)
    input_dataset = Dataset.Tabular.from_delimited_files(path=[(datastore, "sklearn_regression/features.csv")])
    output_dataset = Dataset.Tabular.from_delimited_files(path=[(datastore, "sklearn_regression/labels.csv")])

    model = Model.register(workspace=ws, model_name="my-sklearn-model", model_path="./sklearn_regression_model.pkl",
                           model_framework=Model.Framework.SCIKITLEARN, model_framework_version="0.19.1",
                           sample_input_dataset=input_dataset, sample_output_dataset=output_dataset,
                           resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
                           datasets=[("training data", input_dataset)],
                           description="Ridge regression model to predict diabetes progression.",
                           tags={"area": "diabetes", "type": "regression"})

    for found in (model, Model(ws, "my-sklearn-model")):
        assert isinstance(found.resource_configuration, ResourceConfiguration)
        assert found.resource_configuration.serialize() == {"cpu": 1, "memoryInGB": 0.5, "gpu": None}
        assert isinstance(found.sample_input_dataset, TabularDataset)
        assert found.sample_input_dataset.id == input_dataset.id is not None
        assert found.sample_output_dataset.to_pandas_dataframe()["label"].tolist() == [151.0, 75.0]
        assert [d.id for d in found.datasets["training data"]] == [input_dataset.id]
    assert [m.id for m in Model.list(ws, dataset_id=input_dataset.id)] == [model.id]
    serialized = model.serialize()
    assert serialized["sampleInputDatasetId"] == input_dataset.id
    assert serialized["resourceConfiguration"] == {"cpu": 1, "memoryInGB": 0.5, "gpu": None}
    assert serialized["datasets"] == [{"name": "training data", "id": input_dataset.id}]
    # As in the SDK: deserialize() reads 'resourceRequirements', which serialize() does not write.
    assert Model.deserialize(ws, serialized).resource_configuration is None


def test_model_update_attaches_a_sample_dataset(ws, workdir):
    ws.get_default_datastore().upload_files(["./labels.csv"], target_path="u", show_progress=False)
    model = Model.register(ws, "sklearn_regression_model.pkl", "update-me")
    dataset = Dataset.Tabular.from_delimited_files((ws.get_default_datastore(), "u/labels.csv"))

    model.update(sample_input_dataset=dataset, resource_configuration=ResourceConfiguration(gpu=1))

    again = Model(ws, "update-me")
    assert again.sample_input_dataset.id == dataset.id
    assert again.resource_configuration.gpu == 1


def test_activated_imports_resolve_to_the_facade(activated, ws):
    from azureml.core import Dataset as ActiveDataset
    from azureml.core import Datastore as ActiveDatastore
    from azureml.core.resource_configuration import ResourceConfiguration as ActiveResourceConfiguration
    from azureml.data import dataset_type_definitions
    from azureml.data.datapath import DataPath as ActiveDataPath

    assert ActiveDataset is Dataset and ActiveDatastore is Datastore and ActiveDataPath is DataPath
    assert ActiveResourceConfiguration is ResourceConfiguration
    assert dataset_type_definitions.PromoteHeadersBehavior.NO_HEADERS.value == 0


# --- the daemon's door ----------------------------------------------------------------------------------

def _session(azureml_emulator) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + azureml_emulator.settings.token_path.read_text().strip()
    return session


@pytest.mark.parametrize("blob_path", ["../evil.csv", "/etc/evil.csv", "a/../../evil.csv", "a//b", "C:/evil"])
def test_a_blob_path_leaving_the_container_is_refused(azureml_emulator, ws, blob_path):
    url = azureml_emulator.url + ws._arm_path + "/datastores/workspaceblobstore/blobs"
    response = _session(azureml_emulator).post(url, files=[("metadata", (None, "{}")),
                                                           ("file", (blob_path, b"x"))], timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidBlobPath"
    assert ws.get_default_datastore()._list_blobs("") == []


def test_a_file_and_a_folder_of_the_same_name_are_refused(ws, workdir):
    datastore = ws.get_default_datastore()
    datastore.upload_files(["./labels.csv"], target_path="clash", show_progress=False)
    (workdir / "labels.csv").unlink()
    (workdir / "labels.csv").mkdir()
    (workdir / "labels.csv" / "x.csv").write_bytes(b"x")
    with pytest.raises(UserErrorException, match="clashes with an existing file"):
        datastore.upload("labels.csv", target_path="clash/labels.csv", show_progress=False)


@pytest.mark.parametrize("definition, target", [
    ({"datasetType": "Images", "paths": [{"datastoreName": "workspaceblobstore", "path": "a"}]}, "datasetType"),
    ({"datasetType": "File", "paths": []}, "paths"),
    ({"datasetType": "File", "paths": [{"datastoreName": "../x", "path": "a"}]}, "paths.0.datastoreName"),
    ({"datasetType": "Tabular", "paths": [{"datastoreName": "w", "path": "a"}], "options": {"header": 9}},
     "options.header"),
])
def test_dataset_definitions_are_checked_at_the_door(azureml_emulator, ws, definition, target):
    url = azureml_emulator.url + ws._arm_path + "/saveddatasets"
    response = _session(azureml_emulator).post(url, json=definition, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["target"] == target


def test_a_dataset_of_an_unknown_datastore_is_refused(azureml_emulator, ws):
    url = azureml_emulator.url + ws._arm_path + "/saveddatasets"
    response = _session(azureml_emulator).post(url, json={"datasetType": "File", "paths": [
        {"datastoreName": "workspaceblobstore", "path": "a"}, {"datastoreName": "elsewhere", "path": "b"}]}, timeout=30)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "DatastoreNotFound"


def test_deleting_the_workspace_forgets_its_blobs_and_datasets(azureml_emulator, ws, workdir):
    datastore = ws.get_default_datastore()
    datastore.upload_files(["./labels.csv"], target_path="gone", show_progress=False)
    Dataset.File.from_files((datastore, "gone/labels.csv")).register(ws, "gone")
    ws.delete()
    from fake_azure.core import Workspace

    again = Workspace(ws.subscription_id, ws.resource_group, ws.name)
    assert again.get_default_datastore()._list_blobs("") == [] and dict(again.datasets) == {}


def test_v1_and_v2_share_the_workspaceblobstore_container(ws, workdir, monkeypatch):
    """Azure's workspaceblobstore is one container of the workspace's storage account, whichever SDK reaches
    it: a v1 upload is a blob the v2 client's ContainerClient lists and reads, and the other way round."""
    pytest.importorskip("azure.ai.ml")
    from urllib.parse import urlsplit

    from azure.ai.ml import MLClient
    from azure.identity import DefaultAzureCredential
    from azure.storage.blob import ContainerClient

    import fake_azure

    datastore = ws.get_default_datastore()
    datastore.upload_files(["./labels.csv"], target_path="from_v1", show_progress=False)
    fake_azure.activate()
    try:
        ml_client = MLClient(DefaultAzureCredential(), ws.subscription_id, ws.resource_group, ws.name)
        store = ml_client.datastores.get_default()
        port = urlsplit(os.environ["IDENTITY_ENDPOINT"]).port  # the HTTPS listener's
        sas = ml_client.datastores._list_secrets(store.name, expirable_secret=True).sas_token
        container = ContainerClient(f"https://{store.account_name}.blob.core.localhost:{port}", store.container_name,
                                    credential=sas)
        assert (store.account_name, store.container_name) == (datastore.account_name, datastore.container_name)
        assert container.download_blob("from_v1/labels.csv").readall() == LABELS
        container.upload_blob("from_v2/features.csv", FEATURES)
    finally:
        fake_azure.deactivate()
    frame = Dataset.Tabular.from_delimited_files((datastore, "from_v2/*.csv")).to_pandas_dataframe()
    assert list(frame.columns) == ["age", "sex", "bmi"]


def test_upload_directory_makes_a_file_dataset(ws, workdir, capsys):
    (workdir / "images" / "a").mkdir(parents=True)
    (workdir / "images" / "a" / "1.png").write_bytes(b"png")
    (workdir / "images" / "notes.txt").write_text("notes")

    dataset = Dataset.File.upload_directory("images", (ws.get_default_datastore(), "uploaded/images"),
                                            pattern="*.png")

    out = capsys.readouterr().out
    assert "Filtering files with pattern matching *.png" in out and out.endswith("Creating new dataset\n")
    assert isinstance(dataset, FileDataset) and dataset.to_path() == ["/a/1.png"]
    everything = Dataset.File.upload_directory("images", DataPath(ws.get_default_datastore(), "all"),
                                               show_progress=False)
    assert sorted(everything.to_path()) == ["/a/1.png", "/notes.txt"]
    with pytest.raises(ValueError, match="The target type is not supported"):
        Dataset.File.upload_directory("images", "workspaceblobstore/x")
