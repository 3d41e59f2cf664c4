"""Restart benchmark: does the data plane blink when the control plane restarts?

One AKS service (1 replica, process runtime, its own temporary FAKE_AZURE_HOME) gets a continuous loop of
scoring POSTs (a new connection each, with the key) through two control-plane restarts:
(a) ``fake-azure down`` then ``fake-azure up``;
(b) SIGKILL of the daemon, then the next facade call (``Webservice(ws, name)``, which starts a daemon).
For each: connection refusals after ``up`` (or the facade call) returned (target: 0), the longest gap
between two answered (200) requests, the time from ``up`` returning to the first 200, the state the
facade read right after the restart, and every status seen.
Results: bench/results/restart.json. Run: .venv/bin/python bench/restart.py"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETTLE_S = 1.0  # requests before each restart, to see the loop answered
AFTER_S = float(os.environ.get("BENCH_RESTART_AFTER_S", "4"))  # requests after the first 200 following it
PAYLOAD = b'{"data": [[1.0, 2.0, 3.0]]}'
_SCRIPT = Path(sys.executable).parent / "fake-azure"
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "emulator"]

SCORE_PY = '''\
import json


def init():
    pass


def run(raw_data):
    return {"ok": len(json.loads(raw_data)["data"])}
'''

STATE_AFTER_KILL = """
import json, warnings
warnings.simplefilter("ignore")
import fake_azure
fake_azure.activate()
from azureml.core import Workspace
from azureml.core.webservice import Webservice
ws = Workspace({sub!r}, {rg!r}, {ws!r})
service = Webservice(ws, {name!r})
print(json.dumps({{"state": service.state, "uri": service.scoring_uri}}))
"""


class Loop:
    """POSTs back to back on a new connection each; every outcome recorded with its time."""

    def __init__(self, uri: str, key: str) -> None:
        parts = urlsplit(uri)
        self._host, self._port, self._path = parts.hostname, parts.port, parts.path
        self._headers = {"Content-Type": "application/json", "Authorization": "Bearer " + key}
        self.events: list[tuple[float, float, str]] = []  # (sent, answered, status or error)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _one(self) -> str:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
        try:
            conn.request("POST", self._path, body=PAYLOAD, headers=self._headers)
            response = conn.getresponse()
            response.read()
            return str(response.status)
        except ConnectionRefusedError:
            return "refused"
        except OSError as exc:
            return type(exc).__name__
        except http.client.HTTPException as exc:
            return type(exc).__name__
        finally:
            conn.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()
            outcome = self._one()
            self.events.append((sent, time.monotonic(), outcome))
            if outcome == "refused":
                self._stop.wait(0.005)  # a refused connect returns at once: do not spin

    def start(self) -> "Loop":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def wait_for_200_after(self, since: float, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for sent, answered, outcome in list(self.events):
                if sent >= since and outcome == "200":
                    return answered
            time.sleep(0.05)
        return None


def summarise(events: list[tuple[float, float, str]], restart_began: float, returned: float,
              facade_state: str | None) -> dict[str, Any]:
    window = [e for e in events if e[0] >= restart_began - SETTLE_S]
    after = [e for e in window if e[0] >= returned]
    statuses: dict[str, int] = {}
    for _, _, outcome in window:
        statuses[outcome] = statuses.get(outcome, 0) + 1
    after_statuses: dict[str, int] = {}
    for _, _, outcome in after:
        after_statuses[outcome] = after_statuses.get(outcome, 0) + 1
    answered = [e[1] for e in window if e[2] == "200"]
    gaps = [b - a for a, b in zip(answered, answered[1:])]
    first_ok = next((e[1] for e in after if e[2] == "200"), None)
    return {
        "refused_after_up_returned": sum(1 for e in after if e[2] == "refused"),
        "failed_connections_after_up_returned": sum(1 for e in after if not e[2].isdigit()),
        "refused_before_up_returned": sum(1 for e in window if e[0] < returned and e[2] == "refused"),
        "longest_gap_between_200s_s": round(max(gaps), 3) if gaps else None,
        "restart_command_s": round(returned - restart_began, 3),
        "up_returned_to_first_200_s": round(first_ok - returned, 3) if first_ok else None,
        "state_read_right_after": facade_state,
        "statuses": dict(sorted(statuses.items())),
        "statuses_after_up_returned": dict(sorted(after_statuses.items())),
        "requests": len(window),
    }


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="fake-azure-bench-restart-"))
    workdir = home / "work"
    workdir.mkdir()
    shutil.copytree(ROOT / "examples" / "seed-workflow" / "model", workdir / "model")
    shutil.copy(ROOT / "examples" / "seed-workflow" / "myenv.yml", workdir / "myenv.yml")
    (workdir / "score.py").write_text(SCORE_PY)
    for key in [k for k in os.environ if k.startswith("FAKE_AZURE_")]:
        del os.environ[key]
    os.environ["FAKE_AZURE_HOME"] = str(home / "home")
    os.environ["FAKE_AZURE_RUNTIME"] = "process"
    os.chdir(workdir)
    env = dict(os.environ)

    from emulator import daemon
    from fake_azure.core import Workspace
    from fake_azure.core.compute import AksCompute, ComputeTarget
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AksWebservice
    from fake_azure.settings import Settings

    settings = Settings.from_env()
    ids = {"sub": "00000000-0000-0000-0000-0000000000bf", "rg": "rg-bench", "ws": "ws-bench-restart",
           "name": "bench-restart"}
    results: dict[str, Any] = {}

    def cli(*args: str) -> None:
        subprocess.run([*CLI, *args], env=env, check=True, capture_output=True, timeout=120)

    def facade_state() -> str:
        done = subprocess.run([sys.executable, "-c", STATE_AFTER_KILL.format(**ids)], env=env, check=True,
                              capture_output=True, text=True, timeout=120)
        return json.loads(done.stdout.strip().splitlines()[-1])["state"]

    def measure(label: str, restart: Callable[[], tuple[float, str]]) -> None:
        loop = Loop(uri, key).start()
        try:
            if loop.wait_for_200_after(time.monotonic(), 30) is None:
                raise RuntimeError("the service does not answer before the restart")
            time.sleep(SETTLE_S)
            began = time.monotonic()
            returned, state = restart()  # when up (or the facade's daemon start) returned; the state read then
            if loop.wait_for_200_after(returned, 120) is None:
                raise RuntimeError(f"{label}: no 200 within 120 s of the restart")
            time.sleep(AFTER_S)
        finally:
            loop.stop()
        results[label] = summarise(loop.events, began, returned, state)
        print(f"{label}: {json.dumps(results[label])}", flush=True)

    try:
        cli("up")
        ws = Workspace(ids["sub"], ids["rg"], ids["ws"])
        provisioning = AksCompute.provisioning_configuration(vm_size="Standard_D3_v2")
        target = ComputeTarget.create(ws, "aks-restart", provisioning)
        target.wait_for_completion()
        model = Model.register(ws, model_path="model", model_name="bench-model")
        inference = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")
        config = AksWebservice.deploy_configuration(num_replicas=1, autoscale_enabled=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            service = Model.deploy(ws, ids["name"], [model], inference, config, target)
        service.wait_for_deployment()
        if service.state != "Healthy":
            raise RuntimeError(f"the service is {service.state}: {service.get_logs()}")
        uri, key = service.scoring_uri, service.get_keys()[0]

        def down_up() -> tuple[float, str]:
            cli("down")
            cli("up")
            return time.monotonic(), facade_state()

        def kill_then_facade() -> tuple[float, str]:
            pid = int(json.loads(settings.daemon_info_path.read_text())["pid"])
            os.kill(pid, signal.SIGKILL)
            while daemon._pid_alive(pid):
                time.sleep(0.01)
            daemon.ensure_running(settings)  # what the next facade call does first
            return time.monotonic(), facade_state()

        measure("down_up", down_up)
        measure("kill9_then_facade_call", kill_then_facade)
    finally:
        try:
            cli("down")
        finally:
            os.chdir(ROOT)
            shutil.rmtree(home, ignore_errors=True)
    results["runtime"] = "process"
    results["target"] = "refused_after_up_returned == 0 in both"
    met = all(results[k]["refused_after_up_returned"] == 0 for k in ("down_up", "kill9_then_facade_call"))
    results["met"] = met
    out = ROOT / "bench" / "results" / "restart.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {out.relative_to(ROOT)}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
