"""The model registry end to end: facade Model -> daemon -> SQLite + blob store, and back."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fake_azure.core import Model
from fake_azure.core._model_files import MultipartUpload
from fake_azure.exceptions import ModelNotFoundException, UserErrorException, WebserviceException


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Model.register only accepts paths under the current directory (SDK 1.61)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _folder_model(root: Path) -> dict[str, bytes]:
    files = {"model/saved_model.pb": b"graph" * 1000, "model/variables/variables.index": b"idx",
             "model/variables/variables.data-00000-of-00001": os.urandom(70_000), "model/assets/vocab.txt": b"a\nb\n"}
    for rel, data in files.items():
        _write(root / rel, data)
    return files


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_register_twice_allocates_versions_1_and_2(ws, workdir, capsys):
    _write(workdir / "model.pkl", b"one")
    first = Model.register(ws, "model.pkl", "sk-model", tags={"area": "diabetes"}, description="v1")
    _write(workdir / "model.pkl", b"two")
    second = Model.register(ws, "model.pkl", "sk-model")

    assert (first.version, first.id) == (1, "sk-model:1")
    assert (second.version, second.id) == (2, "sk-model:2")
    assert first.tags == {"area": "diabetes"} and first.description == "v1"
    assert second.tags == {} and second.properties == {}
    assert capsys.readouterr().out == "Registering model sk-model\nRegistering model sk-model\n"
    assert Model(ws, "sk-model").version == 2  # no version: the latest
    assert Model(ws, "sk-model", version=1).id == "sk-model:1"
    assert repr(first) == ("Model(workspace={!r}, name=sk-model, id=sk-model:1, version=1, tags={{'area': "
                           "'diabetes'}}, properties={{}})".format(ws))


def test_register_sends_tag_values_as_strings_and_keeps_framework(ws, workdir):
    _write(workdir / "m.onnx", b"onnx")
    model = Model.register(ws, "m.onnx", "onnx-model", tags={"epochs": 5, "gpu": True},
                           model_framework=Model.Framework.ONNX, model_framework_version="1.14")
    assert model.tags == {"epochs": "5", "gpu": "True"}
    assert (model.model_framework, model.model_framework_version) == ("Onnx", "1.14")
    assert model.created_time is not None and model.created_time.tzinfo is not None
    assert model.url.startswith("aml://asset/") and model.unpack is False


def test_folder_model_downloads_with_its_layout(ws, workdir, tmp_path_factory):
    files = _folder_model(workdir)
    model = Model.register(ws, "model", "tf-model")
    target = tmp_path_factory.mktemp("download")

    path = model.download(str(target))

    assert path == str(target / "model")
    assert _tree(target) == files


def test_child_paths_register_only_those_files(ws, workdir, tmp_path_factory):
    files = _folder_model(workdir)
    model = Model.register(ws, "model", "partial", child_paths=["saved_model.pb", "variables"])
    target = tmp_path_factory.mktemp("download")
    model.download(str(target))
    assert _tree(target) == {k: v for k, v in files.items() if not k.startswith("model/assets/")}


def test_single_file_round_trip_is_byte_equal(ws, workdir, tmp_path_factory):
    data = os.urandom(3 * 1024 * 1024 + 17)  # more than one transfer chunk
    _write(workdir / "weights.bin", data)
    model = Model.register(ws, "weights.bin", "weights")
    target = tmp_path_factory.mktemp("download")

    path = model.download(str(target))

    assert path == str(target / "weights.bin")
    assert Path(path).read_bytes() == data


def test_download_refuses_to_overwrite_unless_exist_ok(ws, workdir, tmp_path_factory):
    _write(workdir / "m.pkl", b"content")
    model = Model.register(ws, "m.pkl", "overwrite")
    target = tmp_path_factory.mktemp("download")
    _write(target / "m.pkl", b"old")

    with pytest.raises(WebserviceException) as caught:
        model.download(str(target))
    assert caught.value.message == "File already exists. To overwrite, set exist_ok to True. {}".format(
        target / "m.pkl")
    assert (target / "m.pkl").read_bytes() == b"old"

    model.download(str(target), exist_ok=True)
    assert (target / "m.pkl").read_bytes() == b"content"


def test_list_and_its_filters(ws, workdir):
    _write(workdir / "m.pkl", b"x")
    a1 = Model.register(ws, "m.pkl", "alpha", tags={"stage": "dev", "team": "ml"}, properties={"acc": "0.9"})
    a2 = Model.register(ws, "m.pkl", "alpha", tags={"stage": "prod"}, model_framework=Model.Framework.PYTORCH)
    b1 = Model.register(ws, "m.pkl", "beta", tags={"stage": "prod"}, model_framework=Model.Framework.PYTORCH)

    def ids(models):
        return sorted(m.id for m in models)

    assert ids(Model.list(ws)) == ["alpha:1", "alpha:2", "beta:1"]
    assert [m.id for m in Model.list(ws)][0] == b1.id  # newest first
    assert ids(Model.list(ws, name="alpha")) == ["alpha:1", "alpha:2"]
    assert ids(Model.list(ws, latest=True)) == ["alpha:2", "beta:1"]
    assert ids(Model.list(ws, tags=["team"])) == [a1.id]
    assert ids(Model.list(ws, tags=[["stage", "prod"]])) == ["alpha:2", "beta:1"]
    assert ids(Model.list(ws, tags=[["stage", "prod"], "team"])) == []
    assert ids(Model.list(ws, properties=[["acc", "0.9"]])) == [a1.id]
    assert ids(Model.list(ws, model_framework="PyTorch")) == ["alpha:2", "beta:1"]
    assert ids(Model.list(ws, model_framework="Custom")) == [a1.id]
    assert Model.list(ws, run_id="no-such-run") == []
    assert all(isinstance(m, Model) for m in Model.list(ws))
    assert set(ws.models) == {"alpha", "beta"}
    # The constructor with filters returns the newest match.
    assert Model(ws, "alpha", tags=[["stage", "dev"]]).id == a1.id
    assert Model(ws, "alpha", model_framework="PyTorch").id == a2.id


def test_list_filter_with_an_empty_term(ws, workdir):
    # tags=["team", ""] reaches the daemon as "team,": the empty term filters nothing.
    _write(workdir / "m.pkl", b"x")
    tagged = Model.register(ws, "m.pkl", "gamma", tags={"team": "ml"}, properties={"acc": "0.9"})
    Model.register(ws, "m.pkl", "delta")
    assert [m.id for m in Model.list(ws, tags=["team", ""])] == [tagged.id]
    assert [m.id for m in Model.list(ws, properties=["acc", ""])] == [tagged.id]

def test_list_validates_its_arguments_client_side(ws):
    with pytest.raises(UserErrorException) as caught:
        Model.list(ws, page_count=5)
    assert caught.value.message == "Expected page_count value is between 20 and 255. Provided: 5"
    with pytest.raises(UserErrorException) as caught:
        Model.list(ws, tags={"a": "b"})
    assert caught.value.message == ('Expected tags must be list type. Ex. ["key", ["key2", "key2 value"]]: '
                                    "provided <class 'dict'>")


def test_not_found_messages(ws, workdir):
    _write(workdir / "m.pkl", b"x")
    Model.register(ws, "m.pkl", "present")
    cases = [
        (dict(name="absent"), "ModelNotFound: Model with name absent not found in provided workspace"),
        (dict(name="present", version=7), "ModelNotFound: Model with id present:7 not found in provided workspace"),
        (dict(id="present:9"), "ModelNotFound: Model with id present:9 not found in provided workspace"),
        (dict(name="present", tags=["missing"], run_id="r1"),
         "ModelNotFound: Model with name present, tags ['missing'], run_id r1 not found in provided workspace"),
    ]
    for kwargs, message in cases:
        with pytest.raises(WebserviceException) as caught:
            Model(ws, **kwargs)
        assert caught.value.message == message
    with pytest.raises(WebserviceException) as caught:
        Model(ws)
    assert caught.value.message == "Error, one of id or name must be provided."


def test_update_tags_and_properties_persist(ws, workdir, capsys):
    _write(workdir / "m.pkl", b"x")
    model = Model.register(ws, "m.pkl", "mutable", tags={"a": "1"}, properties={"p": "1"})
    capsys.readouterr()

    model.update(tags={"b": "2"}, description="new description")
    model.add_tags({"b": "3", "c": "4"})
    model.remove_tags(["c", "zz"])
    model.add_properties({"q": "2"})

    assert capsys.readouterr().out == (
        "Replacing tag b -> 2 with b -> 3\nModel tag add operation complete.\n"
        "Tag with key zz not found.\nModel tag remove operation complete.\n"
        "Model properties add operation complete.\n")
    fetched = Model(ws, id="mutable:1")
    assert fetched.tags == {"b": "3"} == model.tags
    assert fetched.properties == {"p": "1", "q": "2"} == model.properties
    assert fetched.description == "new description"

    with pytest.raises(WebserviceException) as caught:
        model.add_properties({"p": "changed"})
    assert caught.value.message == ("Error, properties are immutable, the following keys cannot be added/modified: "
                                    "p")


def test_server_enforces_immutable_properties_and_the_name_rule(ws):
    path = ws._arm_path + "/models"
    upload = MultipartUpload({"name": "server-side"}, [])
    with pytest.raises(WebserviceException) as caught:  # no files at all
        ws._client.json("POST", path, "model", data=upload, headers={"Content-Type": upload.content_type})
    assert "at least one file" in caught.value.message

    body = _raw_register(ws, {"name": "_bad name"}, {"m.pkl": b"x"}, ok=(400,))
    assert body["error"]["code"] == "ModelValidation"
    assert body["error"]["message"].startswith("Error, provided model name is invalid.")

    _raw_register(ws, {"name": "server-side", "properties": {"p": "1"}}, {"m.pkl": b"x"})
    with pytest.raises(WebserviceException) as caught:
        ws._client.json("PATCH", path + "/server-side:1", "model",
                        json=[{"op": "add", "path": "/properties", "value": {"p": "2"}}])
    assert caught.value.message == ("Error, properties are immutable, the following keys cannot be "
                                    "added/modified: p")


@pytest.mark.parametrize("relpath", ["../evil.pkl", "/etc/evil.pkl", "a/../../evil.pkl", "a//b", "C:/evil"])
def test_path_traversal_in_uploads_is_rejected(ws, relpath):
    body = _raw_register(ws, {"name": "traversal"}, {relpath: b"x"}, ok=(400,))
    assert body["error"]["code"] == "InvalidModelFilePath"
    assert Model.list(ws, name="traversal") == []


def test_unicode_and_odd_file_names_survive(ws, workdir, tmp_path_factory):
    files = {'model/ü ber "quoted".txt': b"1", "model/100%/x;y=z.bin": b"2"}
    for rel, data in files.items():
        _write(workdir / rel, data)
    model = Model.register(ws, "model", "odd-names")
    target = tmp_path_factory.mktemp("download")
    model.download(str(target))
    assert _tree(target) == files


def test_delete(ws, workdir):
    _write(workdir / "m.pkl", b"x")
    Model.register(ws, "m.pkl", "doomed")
    second = Model.register(ws, "m.pkl", "doomed")

    second.delete()

    assert [m.id for m in Model.list(ws, name="doomed")] == ["doomed:1"]
    with pytest.raises(WebserviceException) as caught:
        Model(ws, id="doomed:2")
    assert caught.value.message == "ModelNotFound: Model with id doomed:2 not found in provided workspace"
    with pytest.raises(WebserviceException) as caught:
        second.delete()
    assert caught.value.message == "ModelNotFound: Model with id doomed:2 not found in provided workspace"
    assert caught.value.status_code is None  # ModelsClient never sets one


def test_empty_folder_fails_like_the_sdk(ws, workdir, capsys):
    (workdir / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        Model.register(ws, "empty", "empty-model")
    assert capsys.readouterr().out == ""


def test_a_second_process_sees_the_same_models(ws, workdir):
    _write(workdir / "m.pkl", b"shared")
    Model.register(ws, "m.pkl", "shared", tags={"k": "v"})
    Model.register(ws, "m.pkl", "shared")
    snippet = (
        "import json, sys\n"
        "from fake_azure.core import Model, Workspace\n"
        "ws = Workspace(*sys.argv[1:4])\n"
        "print(json.dumps([[m.id, m.tags] for m in Model.list(ws, name='shared')]))\n"
    )
    result = subprocess.run([sys.executable, "-c", snippet, ws.subscription_id, ws.resource_group, ws.name],
                            capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout.strip().splitlines()[-1])) == [["shared:1", {"k": "v"}],
                                                                          ["shared:2", {}]]


def test_concurrent_registrations_get_versions_1_to_8(ws, workdir):
    for i in range(8):
        _write(workdir / f"m{i}.bin", f"model {i}".encode() * 1000)
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def register(i: int) -> None:
        try:
            start.wait()
            results.append(Model.register(ws, f"m{i}.bin", "concurrent").version)
        except BaseException as exc:  # reported below, with the versions
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sorted(results) == list(range(1, 9))
    assert sorted(m.version for m in Model.list(ws, name="concurrent")) == list(range(1, 9))


def test_identical_bytes_are_stored_once(ws, workdir, settings):
    data = os.urandom(50_000)
    digest = hashlib.sha256(data).hexdigest()
    _write(workdir / "a.bin", data)
    _write(workdir / "b.bin", data)
    before = _blob_files(settings.blob_dir)

    first = Model.register(ws, "a.bin", "dedup-a")
    second = Model.register(ws, "b.bin", "dedup-b")

    added = _blob_files(settings.blob_dir) - before
    assert added == {digest}
    manifests = [ws._client.json("GET", ws._arm_path + f"/models/{m.id}/files", "model")["value"]
                 for m in (first, second)]
    assert manifests == [[{"path": "a.bin", "sha256": digest, "size": len(data)}],
                         [{"path": "b.bin", "sha256": digest, "size": len(data)}]]


def test_get_latest_by_name_route(ws, workdir):
    _write(workdir / "m.pkl", b"x")
    Model.register(ws, "m.pkl", "routed")
    Model.register(ws, "m.pkl", "routed")
    assert ws._client.json("GET", ws._arm_path + "/models/routed/latest", "model")["id"] == "routed:2"
    with pytest.raises(WebserviceException) as caught:
        ws._client.json("GET", ws._arm_path + "/models/nothing/latest", "model")
    assert caught.value.message == "ModelNotFound: Model with name nothing not found in provided workspace"


def test_get_model_path_downloads_into_the_cache(ws, workdir, monkeypatch, tmp_path_factory):
    import fake_azure.core.model as model_module

    cache = tmp_path_factory.mktemp("app") / "azureml-models"
    monkeypatch.setattr(model_module, "MODELS_DIR", str(cache))
    _folder_model(workdir)
    Model.register(ws, "model", "cached")
    Model.register(ws, "model", "cached")

    latest = Model.get_model_path("cached", _workspace=ws)
    assert latest == str(cache / "cached" / "2" / "model")
    assert (Path(latest) / "saved_model.pb").read_bytes() == b"graph" * 1000
    assert Model.get_model_path("cached") == latest  # now local: the cache's latest version
    assert Model.get_model_path("cached", version=1, _workspace=ws) == str(cache / "cached" / "1" / "model")

    with pytest.raises(ModelNotFoundException) as caught:
        Model.get_model_path("unknown-model", _workspace=ws)
    assert caught.value.message == "Model/Version unknown-model/None not found in workspace. {}".format(
        ["cached/1", "cached/2"])


def test_serialize_deserialize_round_trip(ws, workdir):
    _write(workdir / "m.pkl", b"x")
    model = Model.register(ws, "m.pkl", "serial", tags={"a": "b"}, properties={"p": "q"}, description="d")
    payload = model.serialize()
    assert json.loads(json.dumps(payload)) == payload
    copy = Model.deserialize(ws, payload)
    assert (copy.id, copy.version, copy.tags, copy.properties, copy.description, copy.created_time) == (
        model.id, model.version, model.tags, model.properties, model.description, model.created_time)
    assert payload["runDetails"] == "None"


def test_activated_azureml_import_is_the_facade(activated, ws, workdir):
    from azureml.core import Model as ActivatedModel
    from azureml.core.model import InferenceConfig
    from azureml.core.model import Model as ModuleModel

    assert ActivatedModel is Model is ModuleModel
    assert InferenceConfig.__module__.startswith("fake_azure.")


def _raw_register(ws, metadata: dict, files: dict[str, bytes], ok=(200,)) -> dict:
    """Register through the REST API directly, with relative paths the facade would never send."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        local = []
        for i, (relpath, data) in enumerate(files.items()):
            path = os.path.join(folder, str(i))
            Path(path).write_bytes(data)
            local.append((path, relpath))
        upload = MultipartUpload(metadata, local)
        response = ws._client.request("POST", ws._arm_path + "/models", "model", ok=ok, data=upload,
                                      headers={"Content-Type": upload.content_type})
    return response.json()


def _blob_files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


def test_a_symlink_escaping_the_working_directory_is_refused(ws, tmp_path, monkeypatch):
    from fake_azure.core.model import Model

    secret = tmp_path / "outside" / "id_rsa"
    secret.parent.mkdir()
    secret.write_text("not for upload")
    project = tmp_path / "project"
    (project / "model").mkdir(parents=True)
    (project / "model" / "weights.bin").write_bytes(b"w")
    (project / "model" / "key").symlink_to(secret)
    (project / "model" / "inside").symlink_to(project / "model" / "weights.bin")
    monkeypatch.chdir(project)
    with pytest.raises(PermissionError, match="Unauthorized access: Path outside current working directory"):
        Model.register(ws, model_path="model", model_name="leaky")
    (project / "model" / "key").unlink()
    model = Model.register(ws, model_path="model", model_name="leaky")  # a link inside the tree is fine
    assert model.version == 1
