"""emulator/paths.py: a request-supplied path resolves inside its folder or is refused, and the deploy
engine resolves a stored service's paths with it again (a record written before the API checked them)."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from emulator.blobs import BlobStore
from emulator.deploy.failures import DeployFailed
from emulator.deploy.folders import ServiceFolders
from emulator.deploy.launch_context import LaunchContextBuilder
from emulator.paths import UnsafePath, relative_path, resolve_inside, segment
from emulator.resources.assets import service as assets
from emulator.store import Store
from emulator.uploads import Upload


@pytest.mark.parametrize("value", ["/etc/passwd", "../x", "a/../../x", "..", ".", "", "a\x00b", "a\nb", "a\\b",
                                   "C:x", None, 5])
def test_unsafe_relative_paths_are_refused(value) -> None:
    with pytest.raises(UnsafePath) as refused:
        relative_path(value, "driverProgram", "BadArgument")
    assert refused.value.status_code == 400 and refused.value.code == "BadArgument"


@pytest.mark.parametrize("value, normalized", [("score.py", "score.py"), ("./score.py", "score.py"),
                                               ("lib/../score.py", "score.py"), ("a//b/c.py", "a/b/c.py")])
def test_relative_paths_are_normalized(value: str, normalized: str) -> None:
    assert relative_path(value, "driverProgram") == normalized


@pytest.mark.parametrize("value", ["a/b", "./a", "..", "a/"])
def test_a_segment_is_one_plain_name(value: str) -> None:
    with pytest.raises(UnsafePath):
        segment(value, "asset id")


def test_a_symlink_out_of_the_folder_is_refused_after_resolution(tmp_path: Path) -> None:
    base, outside = tmp_path / "base", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "link").symlink_to(outside)
    with pytest.raises(UnsafePath):
        resolve_inside(base, "link/evil.py", "driverProgram")
    assert resolve_inside(base, "sub/score.py", "driverProgram") == base.resolve() / "sub" / "score.py"


@pytest.fixture
def engine_parts(tmp_path: Path):
    """What _materialize_source reads (the home, the blobs) and a workspace with one uploaded asset."""
    store, blobs = Store(tmp_path / "home" / "state.db"), BlobStore(tmp_path / "home" / "blobs")
    asset = assets.create(store, blobs, "ws", [Upload("score.py", io.BytesIO(b"def init(): pass\n"))])
    # runtime, gpus and faults are not used by _materialize_source
    builder = LaunchContextBuilder(store, blobs, runtime=None, gpus=None, faults=None,  # type: ignore[arg-type]
                                   folders=ServiceFolders(tmp_path / "home"), runtime_line="")
    return builder, store, asset["id"]


@pytest.mark.parametrize("request_paths", [
    {"driverProgram": "/etc/hostname"},
    {"driverProgram": "../../../outside/evil.py"},
    {"sourceDirectory": "../../outside", "driverProgram": "score.py"},
    {"sourceDirectory": "{outside}", "driverProgram": "score.py"},
])
def test_the_engine_refuses_a_stored_escaping_path_as_a_failed_deployment(engine_parts, tmp_path: Path,
                                                                          request_paths: dict) -> None:
    engine, store, asset_id = engine_parts
    request = {"assets": [{"id": asset_id}],
               **{k: v.replace("{outside}", str(tmp_path / "outside")) for k, v in request_paths.items()}}
    with pytest.raises(DeployFailed) as failed:
        engine.materialize_source(store.read(), "ws", request)
    assert failed.value.error["statusCode"] == 400
    assert not (tmp_path / "outside").exists()


def test_the_engine_refuses_an_asset_id_naming_another_folder(engine_parts, tmp_path: Path) -> None:
    engine, store, asset_id = engine_parts
    (tmp_path / "home" / "services" / "x").mkdir(parents=True)  # exists: once skipped the asset lookup
    for asset in ("../services", f"{asset_id}/..", "0" * 32):
        with pytest.raises(DeployFailed) as failed:
            engine.materialize_source(store.read(), "ws", {"assets": [{"id": asset}],
                                                                               "driverProgram": "x"})
        assert failed.value.error["statusCode"] in (400, 404)


def test_the_engine_lays_out_a_safe_request(engine_parts, tmp_path: Path) -> None:
    engine, store, asset_id = engine_parts
    source, entry = engine.materialize_source(store.read(), "ws", {
        "assets": [{"id": asset_id}], "sourceDirectory": "src", "driverProgram": "./score.py"})
    assert entry == "score.py" and (source / entry).read_bytes() == b"def init(): pass\n"
    assert os.path.commonpath([source, (tmp_path / "home").resolve()]) == str((tmp_path / "home").resolve())
