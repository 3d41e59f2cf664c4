"""Paths a service payload names (asset ids, driverProgram, sourceDirectory) stay inside their folder of the
home (emulator/paths.py): a payload that would run a file from elsewhere on the host, or write the user's
files outside the home, is a 400 in Azure's envelope before anything is stored or started.

Before the check, an absolute or ``../`` driverProgram ran that file on the host as the replica's entry
script, and an absolute or ``../`` sourceDirectory laid the asset's files out wherever it pointed."""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from polling import poll

SUB = "00000000-0000-0000-0000-0000000a7a75"
RG = "rg-paths"
PATCH_HEADERS = {"Content-Type": "application/json-patch+json"}


class Api:
    """Raw control-plane calls for one fresh workspace, with one uploaded source asset."""

    def __init__(self, emulator: Any) -> None:
        self.url = emulator.url
        self.home = Path(emulator.home)
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + emulator.settings.token_path.read_text().strip()
        self.prefix = (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices"
                       f"/workspaces/ws-{uuid.uuid4().hex[:10]}")
        assert self.call("PUT", self.prefix, json={}).status_code == 201

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + path, timeout=30, **kwargs)

    def upload(self, files: dict[str, str]) -> str:
        parts = [("metadata", (None, json.dumps({"sourceDirectory": "src", "entryScript": "score.py"})))]
        parts += [("file", (relpath, content.encode())) for relpath, content in files.items()]
        response = self.call("POST", self.prefix + "/assets", files=parts)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def payload(self, name: str, asset_id: str, **request: Any) -> dict:
        return {"name": name, "computeType": "ACI", "environmentImageRequest": {
            "driverProgram": "score.py", "assets": [{"id": asset_id}], "modelIds": [], "sourceDirectory": "src",
            **request}}


@pytest.fixture
def api(azureml_emulator) -> Api:
    return Api(azureml_emulator)


@pytest.fixture
def evil(tmp_path: Path) -> Path:
    """A script outside the home that leaves a mark when it runs (as an entry script would be imported)."""
    script = tmp_path / "outside" / "evil.py"
    script.parent.mkdir()
    script.write_text(f"open({str(tmp_path / 'ran')!r}, 'w').write('pwned')\ndef init(): pass\ndef run(d): return d\n")
    return script


def _escape(api: Api, asset_id: str, target: Path) -> str:
    """A ``../`` path from the asset's source folder of the home to ``target``."""
    return os.path.relpath(target, api.home / "assets" / asset_id / "src")


@pytest.mark.parametrize("field", ["absolute driverProgram", "../ driverProgram", "absolute sourceDirectory",
                                   "../ sourceDirectory", "../ asset id", "asset id with a slash",
                                   "driverProgram with NUL", "driverProgram with a backslash"])
def test_a_path_escaping_the_home_is_refused_before_anything_is_stored(api: Api, evil: Path, tmp_path: Path,
                                                                        field: str) -> None:
    asset_id = api.upload({"score.py": "def init(): pass\ndef run(d): return d\n"})
    outside = tmp_path / "written-outside"
    request = {
        "absolute driverProgram": {"sourceDirectory": None, "driverProgram": str(evil)},
        "../ driverProgram": {"driverProgram": _escape(api, asset_id, evil)},
        "absolute sourceDirectory": {"sourceDirectory": str(outside)},
        "../ sourceDirectory": {"sourceDirectory": _escape(api, asset_id, outside)},
        "../ asset id": {"assets": [{"id": f"../{asset_id}"}]},
        "asset id with a slash": {"assets": [{"id": f"{asset_id}/src"}]},
        "driverProgram with NUL": {"driverProgram": "score.py\x00.txt"},
        "driverProgram with a backslash": {"driverProgram": "..\\..\\evil.py"},
    }[field]
    response = api.call("POST", api.prefix + "/services", json=api.payload("svc-escape", asset_id, **request))

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["statusCode"] == 400 and error["code"] and error["message"], error
    assert api.call("GET", api.prefix + "/services/svc-escape").status_code == 404
    assert api.call("GET", api.prefix + "/services").json()["value"] == []
    time.sleep(0.5)  # a deployment, had one started, would have laid the source out and imported the script
    assert not (tmp_path / "ran").exists()
    assert not outside.exists()


def test_an_update_to_an_escaping_path_is_refused_and_changes_nothing(api: Api, evil: Path) -> None:
    asset_id = api.upload({"score.py": "def init(): pass\ndef run(d): return d\n"})
    assert api.call("POST", api.prefix + "/services", json=api.payload("svc-upd", asset_id)).status_code == 202
    state = poll(lambda: api.call("GET", api.prefix + "/services/svc-upd").json()["state"] != "Transitioning", 120)
    assert state, "the deployment did not end"  # an update waits for it (409 meanwhile)
    before = api.call("GET", api.prefix + "/services/svc-upd").json()["environmentImageRequest"]
    for operation in ({"op": "replace", "path": "/environmentImageRequest/driverProgram", "value": str(evil)},
                      {"op": "replace", "path": "/environmentImageRequest",
                       "value": {**before, "sourceDirectory": "../../.."}}):
        response = api.call("PATCH", api.prefix + "/services/svc-upd", json=[operation], headers=PATCH_HEADERS)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["statusCode"] == 400
    assert api.call("GET", api.prefix + "/services/svc-upd").json()["environmentImageRequest"] == before


@pytest.mark.parametrize("driver", ["score.py", "./score.py", "lib/../score.py", "lib/main.py"])
def test_relative_paths_inside_the_source_directory_are_accepted(api: Api, driver: str) -> None:
    asset_id = api.upload({"score.py": "def init(): pass\n", "lib/main.py": "def init(): pass\n"})
    response = api.call("POST", api.prefix + "/services", json=api.payload("svc-ok", asset_id, driverProgram=driver))
    assert response.status_code == 202, response.text


def test_an_update_leaving_what_create_refuses_is_400_and_changes_nothing(api: Api) -> None:
    asset_id = api.upload({"score.py": "def init(): pass\ndef run(d): return d\n"})
    assert api.call("POST", api.prefix + "/services", json=api.payload("svc-req", asset_id)).status_code == 202
    assert poll(lambda: api.call("GET", api.prefix + "/services/svc-req").json()["state"] != "Transitioning", 120)
    before = api.call("GET", api.prefix + "/services/svc-req").json()
    for operations in ([{"op": "remove", "path": "/environmentImageRequest/driverProgram"}],
                       [{"op": "remove", "path": "/environmentImageRequest/assets"}],
                       [{"op": "replace", "path": "/numReplicas"}],
                       [{"op": "replace", "path": "/autoScaler/maxReplicas", "value": 3},
                        {"op": "replace", "path": "/autoScaler/minReplicas", "value": 4}]):
        response = api.call("PATCH", api.prefix + "/services/svc-req", json=operations, headers=PATCH_HEADERS)
        assert response.status_code == 400, (operations, response.text)
        assert response.json()["error"]["statusCode"] == 400 and response.json()["error"]["code"] == "BadRequest"
    after = api.call("GET", api.prefix + "/services/svc-req").json()
    assert {k: after[k] for k in ("environmentImageRequest", "numReplicas", "autoScaler", "updatedTime")} == \
        {k: before[k] for k in ("environmentImageRequest", "numReplicas", "autoScaler", "updatedTime")}
