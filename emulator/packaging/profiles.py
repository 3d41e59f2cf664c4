"""``Model.profile``: run the model on one replica and measure it, where Azure estimates.

The replica runs on the daemon's runtime with the requested CPU and memory as its limits (applied by the
docker runtime; the process runtime runs it unconstrained, docs/parity.md). Each input row is sent as a
scoring request, one after the other, while a sampler reads the replica's CPU time and memory (every
process of a process replica, through psutil; the engine's statistics for a container). The result has
the SDK's ``ModelProfile`` keys: the requested resources, the maxima measured, latency percentiles, the
measured rate, and ``recommendedCpu``/``recommendedMemoryInGB``: the maxima with 20 % headroom, rounded up
to 0.1 (at least 0.1). The operation ``profile.create`` ends when the run does.
"""
from __future__ import annotations

import dataclasses
import http.client
import math
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from scoring.probe import ProbeResult, wait_ready

from .. import error_catalog
from ..blobs import BlobStore
from ..errors import NotFound
from ..operations import Operations, OperationStatus, Outcome
from ..paths import resolve_inside
from ..runtimes.base import ReplicaRuntime, ReplicaSpec
from ..store import Store
from .inputs import lay_out_request

KIND = "profile.create"
# The SDK's largest test instance (MAX_PROFILE_CPU / MAX_PROFILE_MEMORY): what Azure profiles on by default.
DEFAULT_CPU = 3.5
DEFAULT_MEMORY_GB = 15.0
READY_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 60.0
SAMPLE_INTERVAL_S = 0.05
HEADROOM = 1.2
_SAFE = re.compile(r"[^a-zA-Z0-9-]+")


def finish(conn: Any, op: Any) -> None:
    """The operation's finisher: the profile's result is the operation's, nothing else to update."""


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return round(ordered[index], 3)


def _recommended(measured: float) -> float:
    return max(0.1, math.ceil(round(measured * HEADROOM * 10, 6)) / 10)


def _machine_cpus(runtime: Any) -> float:
    """The cores of the machine that runs the replica (the Docker engine's, for the docker runtime)."""
    client = getattr(runtime, "client", None)
    if client is not None:
        try:
            return float(client.info().get("NCPU") or 1)
        except Exception:  # the engine's info is only a cap: without it, start() reports the engine's error
            return float("inf")
    return float(os.cpu_count() or 1)


class UsageSampler:
    """Samples a replica's CPU (cores in use over each interval) and memory (bytes) until stopped."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self.max_cpu = 0.0
        self.max_memory = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="profile-sampler", daemon=True)

    def __enter__(self) -> "UsageSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        container = getattr(getattr(self._handle, "native", None), "container", None)
        if self._handle.pid is not None:
            self._sample_processes(self._handle.pid)
        elif container is not None:
            self._sample_container(container)

    def _sample_processes(self, pid: int) -> None:
        import psutil

        try:
            root = psutil.Process(pid)
        except psutil.Error:
            return
        cpu_seen: dict[int, float] = {}
        window_cpu, window_start = 0.0, time.monotonic()
        run_cpu, run_start = 0.0, window_start
        while True:
            stopping = self._stop.is_set()  # one more sample after the stop: a short run gets one too
            memory = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                processes = []
            for process in processes:
                try:
                    with process.oneshot():
                        times = process.cpu_times()
                        memory += process.memory_info().rss
                except psutil.Error:
                    continue
                total = times.user + times.system + times.children_user + times.children_system
                used = max(0.0, total - cpu_seen.get(process.pid, total))
                window_cpu += used
                run_cpu += used
                cpu_seen[process.pid] = total
            self.max_memory = max(self.max_memory, memory)
            now = time.monotonic()
            if now - window_start >= 0.25:  # shorter windows only show the clock tick's granularity
                self.max_cpu = max(self.max_cpu, window_cpu / (now - window_start))
                window_cpu, window_start = 0.0, now
            if stopping or not processes:
                if now > run_start:  # a run shorter than a window: its average is its maximum
                    self.max_cpu = max(self.max_cpu, run_cpu / (now - run_start))
                return
            self._stop.wait(SAMPLE_INTERVAL_S)

    def _sample_container(self, container: Any) -> None:
        try:
            for stats in container.stats(stream=True, decode=True):
                cpu, precpu = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
                used = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - \
                    (precpu.get("cpu_usage") or {}).get("total_usage", 0)
                system = cpu.get("system_cpu_usage", 0) - precpu.get("system_cpu_usage", 0)
                if used > 0 and system > 0:
                    self.max_cpu = max(self.max_cpu, used / system * (cpu.get("online_cpus") or 1))
                self.max_memory = max(self.max_memory, int((stats.get("memory_stats") or {}).get("usage") or 0))
                if self._stop.is_set():
                    return
        except Exception:  # the engine's stream ended with the container, or the engine is gone
            return


class Profiler:
    def __init__(self, home: Path, store: Store, blobs: BlobStore, operations: Operations,
                 runtime: Callable[[], ReplicaRuntime]) -> None:
        self._root = home / "profiles"
        self._store = store
        self._blobs = blobs
        self._operations = operations
        self._runtime = runtime

    def start(self, ws_id: str, payload: dict[str, Any]) -> str:
        request = dict(payload["imageRequest"])
        record = {"name": payload["name"], "description": payload.get("description"),
                  "state": OperationStatus.RUNNING.value, "inputDatasetId": payload.get("inputDatasetId"),
                  "containerResourceRequirements": {"cpu": payload.get("cpu") or DEFAULT_CPU,
                                                    "memoryInGB": payload.get("memoryInGB") or DEFAULT_MEMORY_GB},
                  "requestedQueriesPerSecond": None,
                  "createdTime": datetime.now(timezone.utc).isoformat(),
                  "modelIds": list(request.get("modelIds") or []), "environment": request.get("environment")}
        # Inputs first: a refused request (unknown model or asset) records nothing.
        staged = self._root / f".new-{uuid.uuid4().hex}"
        staged.mkdir(parents=True)
        try:
            with tempfile.TemporaryDirectory(dir=staged) as source:
                app_root = lay_out_request(self._store.read(), self._blobs, ws_id, request, staged / "app",
                                           Path(source))
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        with self._store.transaction() as conn:
            op_id = self._operations.start(conn, ws_id, KIND, payload["name"], Outcome(
                pending=True, running_status=OperationStatus.RUNNING.value, extra={"profile": record}))
        record["id"] = op_id
        folder = resolve_inside(self._root, op_id, "profile id", single=True)
        os.replace(staged, folder)
        app_root = dataclasses.replace(app_root, path=folder / "app")
        threading.Thread(target=self._run, name=f"profile-{op_id[:8]}", daemon=True,
                         args=(op_id, ws_id, request, app_root, list(payload["inputs"]), record, folder)).start()
        return op_id

    def _fail(self, op_id: str, record: dict[str, Any], error: dict[str, Any]) -> None:
        record.update(state=OperationStatus.FAILED.value, error=error)
        self._operations.resolve(op_id, Outcome(OperationStatus.FAILED, error=error, extra={"profile": record}))

    def _run(self, op_id: str, ws_id: str, request: dict[str, Any], app_root: Any, inputs: list[str],
             record: dict[str, Any], folder: Path) -> None:
        runtime = self._runtime()
        log_path = folder / "replica.log"
        handle = None
        try:
            with open(folder / "environment.log", "a") as build_log:
                def log(line: str) -> None:
                    build_log.write(line.rstrip("\n") + "\n")

                environment = runtime.prepare(request.get("environment") or {}, log)
            variables = {str(k): str(v) for k, v in
                         ((request.get("environment") or {}).get("environmentVariables") or {}).items()}
            name = "profile-" + _SAFE.sub("-", record["name"])[:40]
            resources = record["containerResourceRequirements"]
            spec = ReplicaSpec(replica_id=f"profile-{op_id[:8]}", service_name=name, app_root=app_root.path,
                               environment=environment, entry_script=app_root.entry_script, log_path=log_path,
                               env={**variables, **app_root.env(name, ws_id.rsplit("/", 1)[-1])},
                               # A limit above the machine's cores cannot be set (docker refuses it): capped.
                               cpu_limit=min(resources["cpu"], _machine_cpus(runtime)),
                               memory_limit_gb=resources["memoryInGB"])
            handle = runtime.start(spec)
            ready = wait_ready(handle.address, time.monotonic() + READY_TIMEOUT_S, lambda: runtime.is_alive(handle))
            if ready is not ProbeResult.READY:
                tail = runtime.logs(handle, tail_lines=20)
                raise RuntimeError(f"the model's replica did not become ready ({ready.value}):\n{tail}")
            with UsageSampler(handle) as usage:
                latencies, failures, wall = self._send(handle.address, inputs)
        except Exception as exc:  # the environment, the replica, or the run: the profile fails with it
            message = getattr(exc, "message", None) or str(exc)
            self._fail(op_id, record, error_catalog.profiling_failed(message).payload())
            return
        finally:
            if handle is not None:
                runtime.stop(handle, timeout=5)
        self._resolve(op_id, record, latencies, failures, wall, usage, len(inputs))

    @staticmethod
    def _send(address: Any, inputs: list[str]) -> tuple[list[float], list[str], float]:
        host, port = address
        connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT_S)
        latencies, failures = [], []
        started = time.perf_counter()
        try:
            for row in inputs:
                sent = time.perf_counter()
                try:
                    connection.request("POST", "/score", body=row.encode(),
                                       headers={"Content-Type": "application/json"})
                    response = connection.getresponse()
                    body = response.read()
                except OSError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    connection.close()
                    continue
                latencies.append((time.perf_counter() - sent) * 1000)
                if not 200 <= response.status < 300:
                    failures.append(f"HTTP {response.status}: {body[:200].decode(errors='replace')}")
        finally:
            connection.close()
        return latencies, failures, time.perf_counter() - started

    def _resolve(self, op_id: str, record: dict[str, Any], latencies: list[float], failures: list[str], wall: float,
                 usage: UsageSampler, total: int) -> None:
        success = total - len(failures)
        memory_gb = usage.max_memory / 1024 ** 3
        record.update(totalQueries=total, successQueries=success, successRate=round(100.0 * success / total, 2),
                      maxUtilizedCpu=round(usage.max_cpu, 3), maxUtilizedMemoryInGB=round(memory_gb, 4),
                      recommendedCpu=_recommended(usage.max_cpu), recommendedMemoryInGB=_recommended(memory_gb),
                      measuredQueriesPerSecond=round(total / wall, 3) if wall > 0 else None)
        if latencies:
            record.update(averageLatencyInMs=round(sum(latencies) / len(latencies), 3),
                          latencyPercentile50InMs=_percentile(latencies, 0.5),
                          latencyPercentile90InMs=_percentile(latencies, 0.9),
                          latencyPercentile95InMs=_percentile(latencies, 0.95),
                          latencyPercentile99InMs=_percentile(latencies, 0.99),
                          latencyPercentile999InMs=_percentile(latencies, 0.999))
        if success == 0:
            self._fail(op_id, record, error_catalog.profiling_failed(
                f"Every scoring request failed; the first: {failures[0]}").payload())
            return
        if failures:
            record["error"] = error_catalog.profiling_partly_failed(
                f"{len(failures)} of {total} scoring requests failed; the first: {failures[0]}").payload()
        record["state"] = OperationStatus.SUCCEEDED.value
        self._operations.resolve(op_id, Outcome(OperationStatus.SUCCEEDED, extra={"profile": record}))

    def state(self, ws_id: str, profile_id: str) -> dict[str, Any]:
        body = self._operations.poll(ws_id, profile_id)
        if body.get("name") != KIND:
            raise NotFound(f"Profile {profile_id} not found", code="ProfileNotFound")
        return body

    def find(self, conn: sqlite3.Connection, ws_id: str, name: str) -> dict[str, Any]:
        """The latest profile named ``name`` (its record, as the SDK's ``ModelProfile`` reads it)."""
        row = conn.execute("SELECT id FROM operations WHERE workspace_id = ? AND kind = ? AND target = ? "
                           "ORDER BY created_at DESC, rowid DESC LIMIT 1", (ws_id, KIND, name)).fetchone()
        if row is None:
            raise NotFound(f"Model profiling result with name {name} not found in provided workspace",
                           code="ProfileNotFound")
        body = self._operations.poll(ws_id, row["id"])
        return dict(body.get("profile") or {}, state=body.get("state"))
