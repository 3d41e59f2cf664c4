"""Slow-header clients (slowloris) against the control plane and the gateway.

Opens SLOW_CLIENTS (150) connections to each server that send a request line and then one header byte
a second, never finishing the headers, and times, while they trickle: the control plane's health
route, an authenticated control-plane call, and a scoring call through the gateway (fresh connection
each, 60 s timeout). Then it counts how many of the slow connections each server has closed after
HOLD_S seconds (the header deadline is 10 s). Results: bench/results/slow_clients.json.

Before the fix the control plane (waitress, connection_limit 100) stopped accepting: the health call
timed out. Target: every call answers within a few seconds, and every slow connection is closed once
the header deadline has passed."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SLOW_CLIENTS = int(os.environ.get("BENCH_SLOW_CLIENTS", "150"))
HOLD_S = float(os.environ.get("BENCH_SLOW_HOLD_S", "14"))
CALL_TIMEOUT_S = 60.0


class Trickler:
    """``count`` connections to ``port`` that each send one more header byte every second."""

    def __init__(self, port: int, count: int) -> None:
        self.socks: list[socket.socket] = []
        for _ in range(count):
            sock = socket.socket()
            sock.settimeout(5)
            try:
                sock.connect(("127.0.0.1", port))
                sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            except OSError:
                pass  # not accepted (a full backlog): it counts as closed below
            sock.setblocking(False)
            self.socks.append(sock)
        self.closed: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            for index, sock in enumerate(self.socks):
                if index in self.closed:
                    continue
                try:
                    if sock.recv(65536, socket.MSG_PEEK) == b"":
                        self.closed.add(index)  # the server closed it (any answer counts as closed too)
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    self.closed.add(index)
                    continue
                try:
                    sock.send(b"a")
                except OSError:
                    self.closed.add(index)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.socks:
            sock.close()


def timed_call(port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> dict:
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CALL_TIMEOUT_S)
    try:
        connection.request(method, path, body=body, headers=headers)
        status = connection.getresponse().status
    except OSError as exc:
        status = f"{type(exc).__name__}"
    finally:
        connection.close()
    return {"status": status, "seconds": round(time.perf_counter() - began, 3)}


def attack(port: int, calls: dict[str, tuple]) -> dict:
    trickler = Trickler(port, SLOW_CLIENTS)
    time.sleep(2.0)  # every slow connection is open and has trickled
    result = {name: timed_call(port, *args) for name, args in calls.items()}
    time.sleep(max(0.0, HOLD_S - 2.0))
    result["slow_connections_closed_after_s"] = HOLD_S
    result["slow_connections_closed"] = len(trickler.closed)
    trickler.stop()
    return result


def control_plane() -> dict:
    home = tempfile.mkdtemp(prefix="fa-bench-slow-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
    env.update(FAKE_AZURE_HOME=home, PYTHONPATH=os.environ.get("PYTHONPATH") or str(REPO))
    cli = [sys.executable, "-m", "emulator"]
    subprocess.run([*cli, "up"], env=env, check=True, capture_output=True)
    try:
        info = json.loads(Path(home, "daemon.json").read_text())
        port = int(info["url"].rsplit(":", 1)[1])
        token = Path(home, "token").read_text().strip()
        arm = "/subscriptions/sub-bench/resourceGroups/rg-bench/providers/Microsoft.MachineLearningServices"
        return attack(port, {
            "health": ("GET", "/_emulator/health", {}),
            "authenticated": ("GET", f"{arm}/workspaces/ws-bench/models", {"Authorization": f"Bearer {token}"}),
        })
    finally:
        subprocess.run([*cli, "down"], env=env, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def gateway() -> dict:
    from waitress import create_server

    from emulator.gateway import AuthPolicy, Gateway, ReplicaEndpoint, ServiceRoute

    def replica(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]

    upstream = create_server(replica, host="127.0.0.1", port=0, threads=4, asyncore_use_poll=True)
    threading.Thread(target=upstream.run, daemon=True).start()
    gw = Gateway()
    gw.start()
    try:
        gw.upsert_service(ServiceRoute("svc", AuthPolicy("none")))
        gw.set_replicas("svc", [ReplicaEndpoint("r0", "127.0.0.1", int(upstream.effective_port))])
        return attack(gw.port, {"score": ("POST", "/api/v1/service/svc/score", {"Content-Type": "application/json"},
                                          b'{"data": [1]}')})
    finally:
        gw.stop()
        upstream.close()


def main() -> int:
    results = {"slow_clients": SLOW_CLIENTS, "control_plane": control_plane(), "gateway": gateway()}
    print(json.dumps(results, indent=2))
    out = REPO / "bench" / "results" / "slow_clients.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
