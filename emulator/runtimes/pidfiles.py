"""Pid files for what a replica leaves running outside the daemon (process groups, ssh tunnels).

``<dir>/<replica id>.pid`` holds ``"<pid> <start time>"``. Replicas and tunnels outlive a daemon
killed with SIGKILL; the next daemon of the same home finds them here, and the recorded start time
(from /proc) makes sure a reused pid is never taken for one of them. A replica found that way can
also be taken over (``find``, ``ForeignProcess``) instead of being stopped.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

from ..procstat import read_stat


def process_start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc), "" where /proc is not available."""
    stat = read_stat(pid)
    return stat.start_time if stat is not None else ""


def _runs(pid: int, started: str) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (not a zombie)."""
    stat = read_stat(pid)
    return stat is not None and stat.start_time == started and stat.running


class ForeignProcess:
    """A process this daemon did not start (a killed daemon's replica, taken over), watched by pid and start
    time: the part of ``subprocess.Popen`` a runtime uses. Its parent (init) reaps it, so its exit status is
    unknown: once it has ended, ``returncode`` is 1."""

    UNKNOWN_EXIT = 1

    def __init__(self, pid: int, started: str) -> None:
        self.pid = pid
        self._started = started
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not _runs(self.pid, self._started):
            self.returncode = self.UNKNOWN_EXIT
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import subprocess

        deadline = None if timeout is None else time.monotonic() + timeout
        while (returncode := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
            time.sleep(0.01)
        return returncode


class PidFiles:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def record(self, replica_id: str, pid: int) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"{replica_id}.pid").write_text(f"{pid} {process_start_time(pid)}\n")

    def forget(self, replica_id: str) -> None:
        if self.directory is not None:
            (self.directory / f"{replica_id}.pid").unlink(missing_ok=True)

    def find(self, replica_id: str) -> ForeignProcess | None:
        """The recorded process of ``replica_id`` if that very process (same pid and start time) still runs."""
        if self.directory is None:
            return None
        try:
            pid_text, _, started = (self.directory / f"{replica_id}.pid").read_text().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        return ForeignProcess(pid, started) if started and _runs(pid, started) else None

    def orphans(self, keep_replica_ids: set[str]) -> Iterator[tuple[str, int]]:
        """(replica id, pid) of each recorded process still running that no kept replica owns.

        Every file not kept is removed once read, whether its process still runs or not."""
        if self.directory is None or not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.pid")):
            if path.stem in keep_replica_ids:
                continue
            try:
                pid_text, _, started = path.read_text().strip().partition(" ")
                pid = int(pid_text)
            except (OSError, ValueError):
                path.unlink(missing_ok=True)
                continue
            path.unlink(missing_ok=True)
            if started and process_start_time(pid) == started:
                yield path.stem, pid
