"""The launcher's port check (why a local service's replica did not start) probes as the replica's own
bind does, with SO_REUSEADDR: a port left in TIME_WAIT by a closed connection is free to bind, so it must
not read as taken (the deployment would report "port in use" for the wrong reason)."""
from __future__ import annotations

import socket

from emulator.deploy.launcher import _port_taken


def _port_in_time_wait() -> int:
    """A loopback port whose listener (bound as a replica's is, with SO_REUSEADDR) is gone and whose
    server side closed first (TIME_WAIT)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the active closer keeps the port in TIME_WAIT
    client.close()
    listener.close()
    return port


def test_a_port_in_time_wait_is_not_taken() -> None:
    port = _port_in_time_wait()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain:  # the check holds: a plain bind fails
        try:
            plain.bind(("127.0.0.1", port))
            in_time_wait = False
        except OSError:
            in_time_wait = True
    assert in_time_wait, "the port did not stay in TIME_WAIT: the check proves nothing"
    assert not _port_taken(port)


def test_a_listening_port_is_taken_and_no_port_never_is() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        assert _port_taken(listener.getsockname()[1])
    assert not _port_taken(0)
