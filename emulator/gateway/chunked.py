"""HTTP/1.1 chunked bodies, read whole: the front end reads requests with it, the proxy replies."""
from __future__ import annotations

from typing import Any


class ChunkedBodyError(ValueError):
    """The body was cut short or is not chunked encoding."""


class ChunkedBodyTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"chunked body of at least {size} bytes")
        self.size = size


def read_chunked(rfile: Any, limit: int | None = None) -> bytes:
    """The decoded body from ``rfile`` (trailers skipped); a short or malformed one raises ChunkedBodyError."""
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = rfile.readline(65537)
        if not size_line:
            raise ChunkedBodyError("chunked body cut short")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)  # ValueError: not a chunk size
        if size == 0:
            while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        total += size
        if limit is not None and total > limit:
            raise ChunkedBodyTooLarge(total)
        chunk = rfile.read(size)
        if len(chunk) != size:
            raise ChunkedBodyError("chunk cut short")
        parts.append(chunk)
        rfile.readline(3)
