"""A slowloris client for the servers' header deadline and connection-limit tests."""
from __future__ import annotations

import socket


class SlowClient:
    """A connection that has sent a request line and part of a header, and sends a byte when asked."""

    def __init__(self, port: int, request_line: bytes = b"GET / HTTP/1.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(request_line + b"\r\nHost: x\r\nX-Slow: ")
        self.sock.settimeout(0.0)

    def trickle(self) -> bool:
        """Send one more header byte; False once the server has closed the connection."""
        try:
            if self.sock.recv(1, socket.MSG_PEEK) == b"":
                return False
        except BlockingIOError:
            pass
        except OSError:
            return False
        try:
            self.sock.send(b"a")
        except OSError:
            return False
        return True

    def close(self) -> None:
        self.sock.close()
