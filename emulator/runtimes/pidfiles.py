"""Pid files for what a replica leaves running outside the daemon (process groups, ssh tunnels).

``<dir>/<replica id>.pid`` holds ``"<pid> <start time>"``. Replicas and tunnels outlive a daemon
killed with SIGKILL; the next daemon of the same home finds them here, and the recorded start time
(from /proc) makes sure a reused pid is never taken for one of them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator


def process_start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc), "" where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22; the command name may contain spaces


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
