"""The control plane's web server against a real daemon: a body past FAKE_AZURE_MAX_BODY_BYTES is refused
in Azure's envelope (the SDK's exception through the facade), and slow-header clients do not lock it."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

LIMIT = 1024 * 1024
_SCRIPT = Path(sys.executable).parent / "fake-azure"
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "emulator"]
ARM = ("/subscriptions/sub-limits/resourceGroups/rg-limits"
       "/providers/Microsoft.MachineLearningServices/workspaces/ws-limits")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A daemon of its own home, with the body limit lowered to 1 MiB."""
    home = tmp_path_factory.mktemp("limits") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
    env.update(FAKE_AZURE_HOME=str(home), FAKE_AZURE_MAX_BODY_BYTES=str(LIMIT),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    up = subprocess.run([*CLI, "up"], env=env, capture_output=True, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    try:
        yield {"home": home, "url": up.stdout.strip(), "token": (home / "token").read_text().strip()}
    finally:
        subprocess.run([*CLI, "down"], env=env, capture_output=True, timeout=60)


def test_a_body_past_the_limit_gets_the_envelope_not_plain_text(daemon):
    response = requests.post(daemon["url"] + ARM + "/models", data=b"x" * (2 * LIMIT), timeout=30,
                             headers={"Authorization": "Bearer " + daemon["token"],
                                      "Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "PayloadTooLarge"
    assert response.json()["error"]["statusCode"] == 413


def test_the_facade_raises_the_sdks_exception_past_the_limit_and_registers_below_it(
        daemon, tmp_path, monkeypatch):
    from fake_azure.core import Workspace
    from fake_azure.core.model import Model
    from fake_azure.exceptions import WebserviceException

    monkeypatch.setenv("FAKE_AZURE_HOME", str(daemon["home"]))
    monkeypatch.chdir(tmp_path)
    ws = Workspace("00000000-0000-0000-0000-000000000001", "rg-limits", "ws-limits")
    Path("small.bin").write_bytes(b"s" * (LIMIT // 2))
    with open("big.bin", "wb") as big:
        big.truncate(2 * LIMIT)  # sparse
    assert Model.register(ws, "small.bin", "small").version == 1
    with pytest.raises(WebserviceException) as raised:
        Model.register(ws, "big.bin", "big")
    # ModelsClient's wording for an unexpected status, around Azure's envelope
    assert "Received bad response from Model Management Service:\nResponse Code: 413" in raised.value.message
    assert '"code": "PayloadTooLarge"' in raised.value.message


def test_health_and_calls_answer_while_150_slow_header_clients_trickle(daemon):
    port = int(daemon["url"].rsplit(":", 1)[1])
    slow = []
    for _ in range(150):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        slow.append(sock)
    stop = threading.Event()

    def trickle() -> None:  # one header byte a second on each: never idle, never finished
        while not stop.wait(1.0):
            for sock in slow:
                try:
                    sock.send(b"a")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(1.5)
        health = requests.get(daemon["url"] + "/_emulator/health", timeout=5)
        assert health.status_code == 200
        listed = requests.get(daemon["url"] + ARM + "/models", timeout=5,
                              headers={"Authorization": "Bearer " + daemon["token"]})
        assert listed.status_code in (200, 404), listed.text
    finally:
        stop.set()
        thread.join()
        for sock in slow:
            sock.close()
