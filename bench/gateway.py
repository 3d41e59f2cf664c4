"""Gateway benchmark (loopback only, bounded).

1. Overhead: p50/p99 of 2000 keep-alive POSTs straight to a minimal waitress replica vs the same through the
   gateway (key auth on). Target: the gateway adds at most 0.5 ms at p50.
2. Balancing: a replica that sleeps 20 ms per request (max_concurrent_per_replica=1), 12 concurrent clients,
   through the gateway with 3 replicas vs 1. Target: throughput ratio >= 2.7x.
Stand-in replicas run in child processes (as real replicas do), the gateway and the clients in this one.
Run: .venv/bin/python bench/gateway.py   (BENCH_ROUNDS, BENCH_SLOW_REQUESTS to resize)."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _stats import percentile  # bench/, this script's directory

from emulator.gateway import AuthPolicy, Gateway, ReplicaEndpoint, ServiceRoute
from emulator.gateway.server import BackgroundServer

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2000"))
WARMUP = 200
SLOW_REQUESTS = int(os.environ.get("BENCH_SLOW_REQUESTS", "180"))
CONCURRENCY = 12
SLOW_S = 0.020
TARGET_OVERHEAD_MS = 0.5
TARGET_RATIO = 2.7
KEY = "bench-primary-key"
PAYLOAD = b'{"data": [[1.0, 2.0, 3.0, 4.0]]}'


def fixed_json_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    body = b'{"result": [0.1, 0.2, 0.7]}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def slow_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    time.sleep(SLOW_S)  # the replica's "model"
    return fixed_json_app(environ, start_response)


UPSTREAM_APPS = {"fast": fixed_json_app, "slow": slow_app}


def serve_upstream(kind: str) -> None:
    """Child-process mode: serve one stand-in replica, print its port, exit when stdin closes."""
    server = BackgroundServer(UPSTREAM_APPS[kind], threads=4)
    print(server.port, flush=True)
    sys.stdin.read()
    server.stop()


class ChildUpstream:
    """A stand-in replica in its own process, as real replicas are (no GIL shared with the gateway)."""

    def __init__(self, kind: str) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--upstream", kind],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip():
            self.stop()
            raise SystemExit(f"upstream child ({kind}) did not start")
        self.port = int(line)

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def latencies(port: int, path: str, headers: dict[str, str], rounds: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out: list[float] = []
    try:
        for i in range(WARMUP + rounds):
            start = time.perf_counter()
            conn.request("POST", path, body=PAYLOAD, headers=headers)
            resp = conn.getresponse()
            resp.read()
            elapsed = time.perf_counter() - start
            if resp.status != 200:
                raise SystemExit(f"unexpected status {resp.status} from {path}")
            if i >= WARMUP:
                out.append(elapsed * 1000.0)
    finally:
        conn.close()
    return out


def throughput(gw: Gateway, name: str, total: int) -> float:
    counter = iter(range(total))
    lock = threading.Lock()
    failures: list[int] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=60)
        try:
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                conn.request("POST", f"/api/v1/service/{name}/score", body=PAYLOAD,
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    failures.append(resp.status)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} failed requests in the throughput run: {sorted(set(failures))}")
    return total / elapsed


def main() -> int:
    servers: list[ChildUpstream] = []
    gw = Gateway()
    try:
        gw.start()
        fast = ChildUpstream("fast")
        servers.append(fast)
        gw.upsert_service(ServiceRoute("bench", AuthPolicy("key", (KEY, "secondary"))))
        gw.set_replicas("bench", [ReplicaEndpoint("r0", "127.0.0.1", fast.port)])
        headers = {"Content-Type": "application/json"}
        direct = latencies(fast.port, "/score", headers, ROUNDS)
        via = latencies(gw.port, "/api/v1/service/bench/score", {**headers, "Authorization": f"Bearer {KEY}"}, ROUNDS)
        d50, g50 = percentile(direct, 0.5), percentile(via, 0.5)
        print(f"overhead ({ROUNDS} keep-alive requests each):")
        print(f"  direct   p50 {d50:.3f} ms  p99 {percentile(direct, 0.99):.3f} ms")
        print(f"  gateway  p50 {g50:.3f} ms  p99 {percentile(via, 0.99):.3f} ms")
        overhead = g50 - d50
        print(f"  added p50 {overhead:.3f} ms (target <= {TARGET_OVERHEAD_MS} ms): "
              f"{'OK' if overhead <= TARGET_OVERHEAD_MS else 'MISSED'}")

        slow = [ChildUpstream("slow") for _ in range(3)]
        servers.extend(slow)
        for name, count in (("one", 1), ("three", 3)):
            gw.upsert_service(ServiceRoute(name, AuthPolicy("none"), max_queue_wait_ms=30_000))
            gw.set_replicas(name, [ReplicaEndpoint(f"{name}-{i}", "127.0.0.1", s.port)
                                   for i, s in enumerate(slow[:count])])
        rps_one = throughput(gw, "one", SLOW_REQUESTS)
        rps_three = throughput(gw, "three", SLOW_REQUESTS)
        ratio = rps_three / rps_one
        print(f"balancing ({SLOW_REQUESTS} requests, {CONCURRENCY} clients, replica sleeps {SLOW_S * 1000:.0f} ms):")
        print(f"  1 replica  {rps_one:.1f} req/s")
        print(f"  3 replicas {rps_three:.1f} req/s")
        print(f"  ratio {ratio:.2f}x (target >= {TARGET_RATIO}x): {'OK' if ratio >= TARGET_RATIO else 'MISSED'}")
        three = gw.stats("three")
        print(f"  stats three: served={three.served} failed={three.failed_by_status} queue_waits={three.queue_waits}")
        result = {"direct_p50_ms": d50, "gateway_p50_ms": g50, "added_p50_ms": overhead,
                  "rps_one": rps_one, "rps_three": rps_three, "ratio": ratio}
        print(json.dumps(result))
        return 0 if overhead <= TARGET_OVERHEAD_MS and ratio >= TARGET_RATIO else 1
    finally:
        gw.stop()
        for server in servers:
            server.stop()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--upstream":
        serve_upstream(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
