"""Where the daemon reaches a replica's scoring server: ``(host, port)`` over TCP, or the path of a
unix socket (``str``), which only processes that may enter its folder can connect to."""
from __future__ import annotations

import errno
import socket
from typing import Union

Address = Union[tuple[str, int], str]


def connect(address: Address, timeout: float | None) -> socket.socket:
    """A connected stream socket to ``address``; raises ``OSError`` (refused, missing, timed out)."""
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except FileNotFoundError as exc:  # a stopped replica's socket was removed: nothing listens there
            sock.close()
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"{exc.strerror}: {address}") from exc
        except BaseException:
            sock.close()
            raise
        return sock
    sock = socket.create_connection(address, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def host_header(address: Address) -> str:
    """The ``Host`` header for requests to ``address``."""
    return "localhost" if isinstance(address, str) else f"{address[0]}:{address[1]}"


def describe(address: Address) -> str:
    return f"unix:{address}" if isinstance(address, str) else f"{address[0]}:{address[1]}"
