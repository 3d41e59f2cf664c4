"""Capped replica logs, like Docker's json-file ``max-size``/``max-file``: write with rotation, read tails
from the end.

A replica's log is ``<name>.log`` (newest) plus up to ``max_files - 1`` older ``<name>.log.1``,
``<name>.log.2``... (``.1`` the most recent of them); together they never hold much more than
``max_bytes * max_files``. Readers treat the files as one stream, oldest first.

Standard library only: the process runtime also runs this file as a script (the log pump), with the
daemon's interpreter in isolated mode, between a replica's stdout/stderr pipe and its log files.
"""
from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

_BLOCK = 64 * 1024


@dataclass(frozen=True)
class LogLimits:
    """How much output a replica's log keeps: ``max_files`` files of ``max_bytes`` each."""

    max_bytes: int = 10 * 1024 * 1024
    max_files: int = 3

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_files < 1:
            raise ValueError("log limits must be at least 1 byte and 1 file")


def log_files(path: Path) -> list[Path]:
    """``path``'s files that exist, oldest first (``path.N`` ... ``path.1``, ``path``)."""
    rotated = []
    for entry in path.parent.glob(path.name + ".*"):
        suffix = entry.name[len(path.name) + 1:]
        if suffix.isdigit():
            rotated.append((int(suffix), entry))
    files = [entry for _, entry in sorted(rotated, reverse=True)]
    return files + [path] if path.exists() else files


def remove_log(path: Path) -> None:
    """Delete ``path`` and its rotated files."""
    for entry in log_files(path):
        try:
            entry.unlink()
        except FileNotFoundError:
            pass


class RotatingLog:
    """Appends bytes to ``path``, rotating it once it would pass ``limits.max_bytes``."""

    def __init__(self, path: Path, limits: LogLimits) -> None:
        self.path = Path(path)
        self.limits = limits
        self.rotations = 0
        self._file = open(self.path, "ab")
        self._size = os.fstat(self._file.fileno()).st_size

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            room = self.limits.max_bytes - self._size
            if room <= 0:
                self.rotate()
                room = self.limits.max_bytes
            piece = view[:room]
            self._file.write(piece)
            self._size += len(piece)
            view = view[len(piece):]
        self._file.flush()

    def rotate(self) -> None:
        """Start a new current file; the oldest beyond ``max_files`` is dropped."""
        self._file.close()
        keep = self.limits.max_files - 1
        for index in range(keep, 0, -1):  # .N-1 -> .N ..., dropping what falls off the end
            older = self.path.with_name(f"{self.path.name}.{index}")
            if index == keep:
                try:
                    older.unlink()
                except FileNotFoundError:
                    pass
            if index > 1:
                newer = self.path.with_name(f"{self.path.name}.{index - 1}")
                if newer.exists():
                    os.replace(newer, older)
        try:
            if keep:
                os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
            else:
                self.path.unlink()
        except FileNotFoundError:
            pass
        self._file = open(self.path, "ab")
        self._size = 0
        self.rotations += 1

    def close(self) -> None:
        self._file.close()


def read_bytes(path: Path) -> bytes:
    """Everything ``path`` and its rotated files hold, oldest first (bounded by the log's cap)."""
    chunks = []
    for entry in log_files(path):
        try:
            chunks.append(entry.read_bytes())
        except FileNotFoundError:
            pass  # rotated away while we read
    return b"".join(chunks)


def tail_bytes(path: Path, lines: int) -> bytes:
    """The last ``lines`` lines of ``path`` and its rotated files, read backwards from the end."""
    if lines <= 0:
        return b""
    blocks: list[bytes] = []
    newlines = 0
    for entry in reversed(log_files(path)):
        try:
            f = open(entry, "rb")
        except FileNotFoundError:
            continue  # rotated away while we read
        with f:
            position = f.seek(0, os.SEEK_END)
            while position > 0:
                step = min(_BLOCK, position)
                position -= step
                f.seek(position)
                block = f.read(step)
                blocks.append(block)
                newlines += block.count(b"\n")
                if newlines > lines:  # enough: the newline before the first line we keep is in
                    return last_lines(b"".join(reversed(blocks)), lines)
    return last_lines(b"".join(reversed(blocks)), lines)


def last_lines(data: bytes, lines: int) -> bytes:
    """The last ``lines`` newline-separated lines of ``data`` (the last may lack its newline)."""
    start = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(lines):
        start = data.rfind(b"\n", 0, start)
        if start < 0:
            return data
    return data[start + 1:]


def read_text(path: Path, tail_lines: int | None = None) -> str:
    """The log as text: all of it, or its last ``tail_lines`` lines; "" while it does not exist."""
    data = read_bytes(path) if tail_lines is None else tail_bytes(path, tail_lines)
    return data.decode("utf-8", errors="replace")


def _pump(path: str, max_bytes: str, max_files: str) -> None:
    """Copy stdin to the rotating log until every writer has closed the pipe."""
    # Only the end of the pipe ends the pump (a signal meant for the replica would lose its last words).
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    log = RotatingLog(Path(path), LogLimits(int(max_bytes), int(max_files)))
    try:
        while True:
            chunk = os.read(0, _BLOCK)
            if not chunk:
                return
            log.write(chunk)
    finally:
        log.close()


if __name__ == "__main__":
    _pump(*sys.argv[1:4])
