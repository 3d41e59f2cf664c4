"""Fuzz the control plane from its own published OpenAPI document (schemathesis, bounded): whatever a
client holding the token sends, the daemon answers no 5xx, and a 4xx changes nothing in the store.

The daemon is this module's own, in its own home: the fuzzer resets it, injects faults and changes the
progress policy, which must not reach the session's daemon. Calls under the workspace prefix are aimed at
one workspace (recreated when a case deletes it), so bodies reach the handlers instead of a 404."""
from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import schemathesis  # the test extra installs it: this check runs in every `make test`
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode

from emulator import daemon
from emulator.settings import DaemonSettings

SUB, RG, WS = "00000000-0000-0000-0000-00000000f022", "rg-fuzz", "ws-fuzz"
SCOPE = {"subscriptionId": SUB, "resourceGroupName": RG, "workspaceName": WS}
WORKSPACE_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}"
# Per operation (about 45 of them), in positive and negative modes: ~1,000 calls, well under two minutes.
MAX_EXAMPLES = 25
SETTLE_SECONDS = 10.0
WORKSPACE_TEMPLATE = ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
                      "Microsoft.MachineLearningServices/workspaces/{workspaceName}")


class ControlPlane:
    def __init__(self, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
        env.update(FAKE_AZURE_HOME=str(home), FAKE_AZURE_RUNTIME="process")
        self.settings = DaemonSettings.from_env(env)
        info, _ = daemon.ensure_running(self.settings)
        self.url = info["url"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + self.settings.token_path.read_text().strip()
        self.busy = False  # the last call was accepted: background work may still be writing
        self.db = sqlite3.connect(f"file:{self.settings.db_path}?mode=ro", uri=True, isolation_level=None,
                                  check_same_thread=False)

    def ensure_workspace(self) -> None:
        response = self.session.put(f"{self.url}{WORKSPACE_ID}", json={}, timeout=30)
        assert response.status_code in (200, 201), response.text
        self.busy = self.busy or response.status_code == 201

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of the store (the fuzzed workspaces, the admin state is the daemon's memory)."""
        tables = [r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(map(tuple, self.db.execute(f"SELECT * FROM {t}")), key=repr) for t in tables}

    def settled(self) -> dict[str, list[tuple]]:
        """The store once background work has stopped changing it: only a deployment or a service delete runs
        in the background (the engine), and only a call that was not refused can have started one."""
        last = self.snapshot()
        if not self.busy:
            return last
        self.busy = False
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.snapshot()
            running = self.db.execute("SELECT 1 FROM operations WHERE kind LIKE 'service.%' "
                                      "AND status IN ('NotStarted', 'Running')").fetchone()
            if now == last and running is None:
                return now
            last = now
        return last

    def stop(self) -> None:
        self.db.close()
        daemon.stop(self.settings)


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    plane = ControlPlane(tmp_path_factory.mktemp("fuzz-home"))
    try:
        yield plane
    finally:
        plane.stop()


def _built_document() -> dict[str, Any]:
    """The document as the app builds it (to name the operations at collection; the test fetches the served one)."""
    from types import SimpleNamespace

    from emulator import openapi
    from emulator.app import create_app

    app = create_app(SimpleNamespace(settings=DaemonSettings.from_env()))  # type: ignore[arg-type]  # routes only
    with app.app_context():
        return openapi.build(app)


# (label, mode): every operation with valid inputs, and with invalid ones where it takes any input at all.
CASES = [pytest.param(f"{method.upper()} {path}", mode,
                      id=f"{mode}-{method.upper()} {path.replace(WORKSPACE_TEMPLATE, '{ws}')}")
         for path, methods in _built_document()["paths"].items() for method, operation in methods.items()
         for mode in (("positive", "negative") if operation["parameters"] or "requestBody" in operation
                      else ("positive",))]


@pytest.fixture(scope="module")
def published(control_plane: ControlPlane) -> Any:
    document = control_plane.session.get(control_plane.url + "/_emulator/openapi.json", timeout=30).json()
    assert document == json.loads(json.dumps(_built_document()))  # served as built, from the same declarations
    schema = schemathesis.openapi.from_dict(document)
    # The token is ours (below); generated Authorization headers would only be 401s.
    schema.config.generation.update(max_examples=MAX_EXAMPLES, database="none", with_security_parameters=False)
    return schema


@pytest.mark.parametrize("label, mode", CASES)
def test_no_server_error_and_no_write_on_a_client_error(published: Any, control_plane: ControlPlane, label: str,
                                                         mode: str) -> None:
    operation = published.find_operation_by_label(label)
    assert operation is not None, label

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=GenerationMode(mode)))
    def check(case: Any) -> None:
        if "{workspaceName}/" in case.path:
            case.path_parameters.update(SCOPE)
            control_plane.ensure_workspace()
        before = control_plane.settled()
        response = case.call(base_url=control_plane.url, session=control_plane.session, timeout=30,
                             headers={"Authorization": control_plane.session.headers["Authorization"]})
        assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text)
        control_plane.busy = case.method != "GET" and not 400 <= response.status_code < 500
        if 400 <= response.status_code < 500:
            after = control_plane.snapshot()
            changed = sorted(t for t in after if after[t] != before.get(t))
            assert not changed, (f"{case.method} {case.formatted_path} answered {response.status_code} but "
                                 f"changed {changed}: {response.text}")

    check()
