"""``/proc/<pid>/stat``, read in one place (the daemon's pid checks, pid files, the process runtime).

The command name (field 2) is in parentheses and may itself hold spaces and ``)``: the fields are the
ones after its *last* ``)``. (``emulator/runtimes/launcher.py`` keeps its own few lines: it runs as a
script under the replica's Python and imports nothing of ours.)"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Optional


@dataclass(frozen=True)
class ProcStat:
    state: str  # field 3: R, S, D, Z (zombie), X (dead), ...
    ppid: int  # field 4
    pgid: int  # field 5
    start_time: str  # field 22: clock ticks since boot, kept as text (pid files store it so)

    @property
    def running(self) -> bool:
        """Still running: not a zombie waiting to be reaped, not dead."""
        return self.state not in ("Z", "X")


def read_stat(pid: int | str) -> Optional[ProcStat]:
    """Process ``pid``'s stat, or None when it does not exist or /proc is not available."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            raw = stat.read()
    except OSError:
        return None
    try:
        fields = raw.rsplit(b")", 1)[1].split()
        return ProcStat(fields[0].decode(), int(fields[1]), int(fields[2]), fields[19].decode())
    except (IndexError, ValueError):
        return None


def all_pids() -> Iterator[int]:
    """Every pid /proc lists now (none where there is no /proc)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return
    for name in names:
        if name.isascii() and name.isdigit():
            yield int(name)
