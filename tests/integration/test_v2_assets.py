"""The real SDK v2 client (azure-ai-ml 1.35), unchanged, against the local cloud: activation points
``MLClient(DefaultAzureCredential(), ...)`` at the daemon's HTTPS listener, and models, environments, code and
the default datastore round-trip through its ARM routes and its storage account."""
from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from azure.ai.ml import MLClient
from azure.ai.ml.entities import Environment, Model
from azure.ai.ml.entities._assets import Code
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.storage.blob import ContainerClient

import fake_azure
from fake_azure.settings import Settings

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000a2"
RESOURCE_GROUP = "rg-v2"


@pytest.fixture
def ml_client(emulator_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MLClient]:
    """Made here rather than by the plugin's ml_client: with credential variables that activation must clear."""
    # A credential variable that would make DefaultAzureCredential try real AAD first: activation clears it.
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-1111-1111-1111-111111111111")
    monkeypatch.setenv("AZURE_TENANT_ID", "22222222-2222-2222-2222-222222222222")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-secret")
    fake_azure.activate()
    try:
        yield MLClient(DefaultAzureCredential(), SUBSCRIPTION, RESOURCE_GROUP, f"ws-{uuid.uuid4().hex[:10]}")
    finally:
        fake_azure.deactivate()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _in_blob_store(emulator_home: Path, digest: str) -> bool:
    return (Settings(home=emulator_home).blob_dir / digest[:2] / digest).exists()


def test_activation_points_the_unchanged_client_at_the_local_cloud(ml_client: MLClient,
                                                                    emulator_home: Path) -> None:
    assert urlsplit(os.environ["ARM_CLOUD_METADATA_URL"]).hostname == "127.0.0.1"
    assert "AZURE_CLIENT_SECRET" not in os.environ  # would have sent DefaultAzureCredential to real AAD
    workspace = ml_client.workspaces.get(ml_client.workspace_name)  # created on first use, as in v1
    assert workspace.name == ml_client.workspace_name
    assert workspace.location == Settings.from_env().default_location


def test_deactivate_restores_the_environment(emulator_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "kept")
    monkeypatch.delenv("ARM_CLOUD_METADATA_URL", raising=False)
    monkeypatch.setenv("AZUREML_CURRENT_CLOUD", "AzureCloud")
    fake_azure.activate()
    try:
        assert os.environ["IDENTITY_ENDPOINT"].endswith("/msi/token")
        assert os.environ["AZUREML_CURRENT_CLOUD"] == "FakeAzureLocal"  # the cloud the metadata URL serves
    finally:
        fake_azure.deactivate()
    assert os.environ["AZURE_CLIENT_SECRET"] == "kept" and os.environ["AZUREML_CURRENT_CLOUD"] == "AzureCloud"
    assert "ARM_CLOUD_METADATA_URL" not in os.environ and "IDENTITY_ENDPOINT" not in os.environ


def test_the_roots_the_process_trusted_before_are_kept(emulator_home: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator.tls_authority import ca_certificate_path, trust_bundle

    # A corporate root the user's REQUESTS_CA_BUNDLE names (another home's CA stands in for it).
    corporate = trust_bundle(tmp_path / "corporate")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(corporate))
    fake_azure.activate()
    try:
        client = MLClient(DefaultAzureCredential(), SUBSCRIPTION, RESOURCE_GROUP, f"ws-{uuid.uuid4().hex[:10]}")
        client.workspaces.get(client.workspace_name)  # the local cloud verifies
        trusted = Path(os.environ["REQUESTS_CA_BUNDLE"]).read_bytes()
        assert ca_certificate_path(tmp_path / "corporate").read_bytes().strip() in trusted
        assert ca_certificate_path(emulator_home).read_bytes().strip() in trusted
    finally:
        fake_azure.deactivate()
    assert os.environ["REQUESTS_CA_BUNDLE"] == str(corporate)


def test_strict_workspaces_are_not_created_on_first_use(emulator_home: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_AZURE_STRICT_WORKSPACES", "1")
    fake_azure.activate()
    try:
        client = MLClient(DefaultAzureCredential(), SUBSCRIPTION, RESOURCE_GROUP, f"ws-{uuid.uuid4().hex[:10]}")
        with pytest.raises(ResourceNotFoundError):
            client.workspaces.get(client.workspace_name)
    finally:
        fake_azure.deactivate()


def test_model_from_a_local_folder_round_trips(ml_client: MLClient, tmp_path: Path, emulator_home: Path) -> None:
    folder = tmp_path / "model_dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(os.urandom(3000))
    (folder / "sub" / "config.json").write_text('{"layers": 3}')

    created = ml_client.models.create_or_update(Model(name="digits", version="1", path=str(folder),
                                                      description="first", tags={"stage": "dev"}))
    assert created.version == "1" and created.description == "first" and created.tags == {"stage": "dev"}
    assert "/datastores/workspaceblobstore/paths/LocalUpload/" in created.path
    # The uploaded files are in the daemon's content-addressed store, the one v1 models use.
    assert _in_blob_store(emulator_home, _sha256(folder / "weights.bin"))

    second = ml_client.models.create_or_update(Model(name="digits", path=str(folder)))  # next version
    assert second.version == "2"
    assert ml_client.models.get("digits", version="1").description == "first"
    assert ml_client.models.get("digits", label="latest").version == "2"
    assert sorted(m.version for m in ml_client.models.list(name="digits")) == ["1", "2"]
    assert [m.name for m in ml_client.models.list()] == ["digits"]

    ml_client.models.download("digits", "1", download_path=str(tmp_path / "back"))
    back = tmp_path / "back" / "digits" / "model_dir"
    assert (back / "weights.bin").read_bytes() == (folder / "weights.bin").read_bytes()
    assert (back / "sub" / "config.json").read_text() == '{"layers": 3}'


def test_lists_show_archived_versions_as_list_view_type_says(ml_client: MLClient, tmp_path: Path) -> None:
    """azure-ai-ml lists ActiveOnly unless told otherwise: an archived version leaves the default list (found by a
    probe: listViewType was ignored, and ARCHIVED_ONLY listed every version)."""
    from azure.ai.ml.constants import ListViewType

    (tmp_path / "weights.bin").write_bytes(b"w")
    name = f"lv-{uuid.uuid4().hex[:8]}"
    for _ in range(3):
        ml_client.models.create_or_update(Model(name=name, path=str(tmp_path / "weights.bin")))
    ml_client.models.archive(name, version="2")
    assert sorted(m.version for m in ml_client.models.list(name=name)) == ["1", "3"]
    assert [m.version for m in ml_client.models.list(name=name, list_view_type=ListViewType.ARCHIVED_ONLY)] == ["2"]
    assert sorted(m.version for m in ml_client.models.list(name=name, list_view_type=ListViewType.ALL)) == \
        ["1", "2", "3"]
    ml_client.models.restore(name, version="2")
    assert sorted(m.version for m in ml_client.models.list(name=name)) == ["1", "2", "3"]


def test_environment_with_an_image_and_a_conda_file(ml_client: MLClient, tmp_path: Path) -> None:
    conda = tmp_path / "env.yml"
    conda.write_text("name: scoring\ndependencies:\n  - python=3.11\n  - pip:\n    - numpy\n")
    image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest"
    ml_client.environments.create_or_update(Environment(name="scoring", version="1", image=image,
                                                        conda_file=str(conda)))
    got = ml_client.environments.get("scoring", version="1")
    assert got.image == image
    assert got.conda_file == {"name": "scoring", "dependencies": ["python=3.11", {"pip": ["numpy"]}]}
    assert ml_client.environments.get("scoring", label="latest").version == "1"
    # Versions are immutable: the same version with another image is refused, as the service does.
    with pytest.raises(ResourceExistsError) as refused:
        ml_client.environments.create_or_update(Environment(name="scoring", version="1", image="python:3.11"))
    assert refused.value.status_code == 409


def test_environment_with_a_build_context(ml_client: MLClient, tmp_path: Path, emulator_home: Path) -> None:
    from azure.ai.ml.entities import BuildContext

    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip install numpy\n")
    created = ml_client.environments.create_or_update(Environment(name="built", version="1",
                                                                  build=BuildContext(path=str(context))))
    assert urlsplit(created.build.path).hostname.endswith(".blob.core.localhost")  # the workspace's account
    assert ml_client.environments.get("built", version="1").build.path == created.build.path
    assert _in_blob_store(emulator_home, _sha256(context / "Dockerfile"))


def test_code_upload_through_a_pending_upload(ml_client: MLClient, tmp_path: Path, emulator_home: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    code = ml_client._code.create_or_update(Code(path=str(src)))  # what a deployment's code upload calls
    assert code.path.endswith("/src")
    assert ml_client._code.get(code.name, code.version).path == code.path
    assert _in_blob_store(emulator_home, _sha256(src / "score.py"))


def test_unknown_names_raise_resource_not_found(ml_client: MLClient) -> None:
    with pytest.raises(ResourceNotFoundError):
        ml_client.models.get("never-registered", version="1")
    with pytest.raises(ResourceNotFoundError):
        ml_client.environments.get("never-registered", version="1")
    with pytest.raises(ResourceNotFoundError):
        ml_client.datastores.get("nosuchstore")


def test_a_bad_body_is_an_http_response_error_in_azures_envelope(ml_client: MLClient) -> None:
    ml_client.workspaces.get(ml_client.workspace_name)
    # The client's own generated operation, with a body that names no modelUri.
    with pytest.raises(HttpResponseError) as refused:
        ml_client.models._model_versions_operation.create_or_update(
            name="broken", version="1", body={"properties": {"modelType": "custom_model"}},
            resource_group_name=RESOURCE_GROUP, workspace_name=ml_client.workspace_name)
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == "BadRequest"
    assert "modelUri" in refused.value.error.message
    with pytest.raises(ResourceNotFoundError):
        ml_client.models.get("broken", version="1")  # nothing was written


def _default_container(ml_client: MLClient, **kwargs) -> ContainerClient:
    store = ml_client.datastores.get_default()
    port = urlsplit(os.environ["IDENTITY_ENDPOINT"]).port  # the HTTPS listener's
    sas = ml_client.datastores._list_secrets(store.name, expirable_secret=True).sas_token
    return ContainerClient(f"https://{store.account_name}.blob.core.localhost:{port}", store.container_name,
                           credential=sas, **kwargs)


def test_storage_blocks_ranges_listing_and_metadata(ml_client: MLClient) -> None:
    # Small limits make azure-storage-blob stage blocks and commit a block list, and download in ranges.
    container = _default_container(ml_client, max_single_put_size=1024, max_block_size=1024,
                                   max_single_get_size=1024, max_chunk_get_size=1024)
    payload = os.urandom(5000)
    container.upload_blob("data/big.bin", payload, metadata={"origin": "test"})
    container.upload_blob("data/small.txt", b"hello")
    assert container.download_blob("data/big.bin").readall() == payload
    properties = container.get_blob_client("data/big.bin").get_blob_properties()
    assert properties.size == 5000 and properties.metadata == {"origin": "test"}
    assert [b.name for b in container.list_blobs(name_starts_with="data/")] == ["data/big.bin", "data/small.txt"]
    assert not container.get_blob_client("data/missing").exists()


def test_storage_keeps_a_blob_the_client_asked_not_to_overwrite(ml_client: MLClient) -> None:
    container = _default_container(ml_client)
    container.upload_blob("kept.txt", b"first")
    with pytest.raises(ResourceExistsError) as refused:
        container.upload_blob("kept.txt", b"second")  # overwrite=False: If-None-Match: *
    assert refused.value.error_code == "BlobAlreadyExists"
    staged = _default_container(ml_client, max_single_put_size=4, max_block_size=4)
    with pytest.raises(ResourceExistsError):
        staged.upload_blob("kept.txt", b"second, in blocks")
    container.upload_blob("kept.txt", b"third", overwrite=True)
    assert container.download_blob("kept.txt").readall() == b"third"


def test_storage_refuses_a_wrong_signature(ml_client: MLClient) -> None:
    good = _default_container(ml_client)
    forged = ContainerClient(good.url.split("?")[0].rsplit("/", 1)[0], good.container_name,
                             credential="sv=2021-08-06&sig=forged")
    with pytest.raises(HttpResponseError) as refused:
        forged.upload_blob("x.txt", b"x")
    assert refused.value.status_code == 403 and refused.value.error_code == "AuthenticationFailed"
