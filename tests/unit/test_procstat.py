"""emulator/procstat.py: the one reader of /proc/<pid>/stat, whatever the command name holds."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.procstat import all_pids, read_stat

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="no /proc")


def test_a_command_name_with_spaces_and_parentheses_is_read_past(tmp_path: Path) -> None:
    tricky = tmp_path / "x) (y z"
    tricky.symlink_to(sys.executable)  # the command name (comm) is the file's name: "x) (y z"
    child = subprocess.Popen([str(tricky), "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        stat = read_stat(child.pid)
        assert stat is not None and stat.running
        assert stat.ppid == os.getpid() and stat.pgid == os.getpgid(child.pid)
        assert stat.start_time.isdigit() and read_stat(child.pid).start_time == stat.start_time
        assert child.pid in set(all_pids())
    finally:
        child.communicate(b"")
    assert read_stat(child.pid) is None  # reaped: gone


def test_a_zombie_is_not_running() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped yet
        stat = read_stat(child.pid)
        assert stat is not None and stat.state == "Z" and not stat.running
    finally:
        child.wait()
