"""A slowloris client for the servers' header deadline and connection-limit tests."""
from __future__ import annotations

import socket


class SlowClient:
    """A connection that has sent a request line and part of a header, and sends a byte when asked."""

    def __init__(self, port: int, request_line: bytes = b"GET / HTTP/1.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(request_line + b"\r\nHost: x\r\nX-Slow: ")
        self.sock.settimeout(0.0)

    @classmethod
    def silent(cls, port: int) -> SlowClient:
        """A connection that has sent nothing yet (its ``sock`` sends the request line when the test says)."""
        client = cls.__new__(cls)
        client.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        client.sock.settimeout(0.0)
        return client

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
