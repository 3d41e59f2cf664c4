"""Capped replica logs: rotation like Docker's json-file driver, tails read from the end."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emulator.runtimes import logrotate
from emulator.runtimes.base import read_log
from emulator.runtimes.logrotate import LogLimits, RotatingLog, log_files, read_text, remove_log, tail_bytes


def _write(path: Path, limits: LogLimits, data: bytes, pieces: int = 1) -> None:
    log = RotatingLog(path, limits)
    step = max(1, len(data) // pieces)
    for start in range(0, len(data), step):
        log.write(data[start:start + step])
    log.close()


def test_rotation_keeps_at_most_max_files_of_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "r1.log"
    limits = LogLimits(max_bytes=100, max_files=3)
    lines = b"".join(b"line %04d\n" % i for i in range(200))  # 2000 bytes
    _write(path, limits, lines, pieces=37)
    files = log_files(path)
    assert [f.name for f in files] == ["r1.log.2", "r1.log.1", "r1.log"]
    assert all(f.stat().st_size <= 100 for f in files)
    kept = read_text(path)
    # The newest bytes survive, in order, as one stream across the files.
    assert lines.decode().endswith(kept) and len(kept) > 200
    assert read_log(path, 3) == "line 0197\nline 0198\nline 0199\n"


def test_one_file_only_drops_the_old_output(tmp_path: Path) -> None:
    path = tmp_path / "r1.log"
    _write(path, LogLimits(max_bytes=10, max_files=1), b"0123456789abcdef")
    assert log_files(path) == [path] and path.read_bytes() == b"abcdef"


def test_tail_reads_across_rotated_files_from_the_end(tmp_path: Path) -> None:
    path = tmp_path / "r1.log"
    # A line split over two files reads back whole.
    _write(path, LogLimits(max_bytes=8, max_files=5), b"aaaa\nbbbbbbbbbb\ncc\n")
    assert tail_bytes(path, 1) == b"cc\n"
    assert tail_bytes(path, 2) == b"bbbbbbbbbb\ncc\n"
    assert tail_bytes(path, 10) == b"aaaa\nbbbbbbbbbb\ncc\n"
    assert tail_bytes(path, 0) == b""


@pytest.mark.parametrize("text, lines, expected", [
    ("one\ntwo\nthree\n", 2, "two\nthree\n"),
    ("one\ntwo\nthree", 2, "two\nthree"),  # the last line lacks its newline
    ("one\ntwo\nthree", 1, "three"),
    ("one\n\n\n", 2, "\n\n"),  # empty lines count
    ("only", 5, "only"),
    ("", 3, ""),
])
def test_tail_edges(tmp_path: Path, text: str, lines: int, expected: str) -> None:
    path = tmp_path / "r.log"
    path.write_text(text)
    assert read_log(path, lines) == expected


def test_tail_reads_only_the_end_of_a_big_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.log"
    with open(path, "wb") as f:
        f.write(b"y" * 99 + b"\n")
        f.write((b"x" * 99 + b"\n") * 100_000)  # 10 MB
        f.write(b"last\n")
    read = []
    real_open = open

    class Counting:
        def __init__(self, f):
            self._f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

        def seek(self, *args):
            return self._f.seek(*args)

        def read(self, n=-1):
            data = self._f.read(n)
            read.append(len(data))
            return data

    monkeypatch.setattr(logrotate, "open", lambda p, mode="r": Counting(real_open(p, mode)), raising=False)
    assert tail_bytes(path, 3) == (b"x" * 99 + b"\n") * 2 + b"last\n"
    assert sum(read) <= 64 * 1024  # one block from the end, not 10 MB


def test_remove_log_removes_every_file(tmp_path: Path) -> None:
    path = tmp_path / "r1.log"
    _write(path, LogLimits(max_bytes=4, max_files=3), b"abcdefghijkl")
    (tmp_path / "r1.log.settling").write_text("not ours to count")
    remove_log(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r1.log.settling"]
    assert read_log(path) == "" and read_log(path, 5) == ""


def test_the_pump_copies_its_stdin_with_rotation_until_the_pipe_ends(tmp_path: Path) -> None:
    path = tmp_path / "r1.log"
    pump = subprocess.Popen([sys.executable, "-I", logrotate.__file__, str(path), "1000", "2"],
                            stdin=subprocess.PIPE)
    assert pump.stdin is not None
    pump.stdin.write(b"".join(b"%05d\n" % i for i in range(1000)))  # 6000 bytes
    pump.stdin.close()
    assert pump.wait(timeout=30) == 0
    assert [f.name for f in log_files(path)] == ["r1.log.1", "r1.log"]
    assert sum(f.stat().st_size for f in log_files(path)) <= 2000
    assert read_log(path, 1) == "00999\n"
