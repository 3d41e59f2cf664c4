"""Where the Docker engine runs, and how this machine reaches the replicas it publishes.

* A local engine (unix socket, named pipe, or tcp to a loopback address) publishes replicas on
  127.0.0.1, and they are reached there.
* A ``tcp://`` engine on another host publishes them on that host's address as resolved here
  (``FAKE_AZURE_DOCKER_PUBLISH_ADDRESS`` overrides it, e.g. ``0.0.0.0`` where the engine sits behind
  NAT), and they are reached at that address.
* An ``ssh://`` engine publishes them on its own loopback; each replica is reached through one
  ``ssh -N -L`` local forward, made with the same user, host, port and ssh configuration as the
  docker SDK's ssh transport uses for the engine itself (as the docker CLI does).

Replicas answer without authentication (the gateway checks keys), so nothing is published beyond
the engine host's loopback unless the engine is remote and reached over tcp.
"""
from __future__ import annotations

import ipaddress
import socket
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import IO, Callable

from .base import ReplicaStartFailed, RuntimeUnavailable

LOOPBACK = "127.0.0.1"
_LOCAL_SCHEMES = ("unix", "npipe", "fd")
_TCP_SCHEMES = ("tcp", "http", "https")
TUNNEL_OPEN_TIMEOUT_S = 30.0

Resolver = Callable[[str], str]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class SshTunnel:
    """``ssh -N -L 127.0.0.1:<local>:127.0.0.1:<remote>`` to the engine host, for one replica."""

    def __init__(self, destination: list[str], remote_port: int, local_port: int = 0) -> None:
        self.destination = destination
        self.remote_port = remote_port
        self.local_port = local_port
        self.process: subprocess.Popen[bytes] | None = None
        # ssh reports every refused channel (each probe before the server listens): a pipe nobody
        # drains would fill and stall the tunnel, so its messages go to a file read on failure.
        self._messages: IO[bytes] | None = None

    def open(self, timeout: float = TUNNEL_OPEN_TIMEOUT_S) -> int:
        """Start the forward; the local port once it accepts connections."""
        fixed = bool(self.local_port)
        for _ in range(1 if fixed else 3):  # a random port may be taken between choosing and binding
            port = self.local_port or _free_local_port()
            # ControlPath=none: a multiplexed client hands the forward to the master and exits, and
            # the tunnel must be a process of its own that lives and dies with the replica.
            argv = ["ssh", "-N", "-o", "ControlPath=none", "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes",
                    "-o", "ServerAliveInterval=15", "-L", f"{LOOPBACK}:{port}:{LOOPBACK}:{self.remote_port}",
                    *self.destination]
            self._close_messages()
            self._messages = tempfile.TemporaryFile()
            try:
                self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                stderr=self._messages)
            except OSError as exc:
                raise RuntimeUnavailable(f"cannot start ssh for a tunnel to the Docker host: {exc}") from exc
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as attempt:
                    attempt.settimeout(0.5)
                    if attempt.connect_ex((LOOPBACK, port)) == 0:
                        self.local_port = port
                        return port
                time.sleep(0.05)
            error = self._stop_and_read_error()
            if "forward" not in error.lower() or fixed:
                raise ReplicaStartFailed(f"the ssh tunnel to the replica (remote port {self.remote_port}) did not "
                                         f"open: {error or 'timed out'}")
        raise ReplicaStartFailed(f"the ssh tunnel to the replica found no free local port: {error}")

    def _stop_and_read_error(self) -> str:
        assert self.process is not None
        self._end_process()
        assert self._messages is not None
        self._messages.seek(0)
        return self._messages.read().decode(errors="replace").strip()[-800:]

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def close(self) -> None:
        self._end_process()
        self._close_messages()

    def _end_process(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _close_messages(self) -> None:
        if self._messages is not None:
            self._messages.close()
            self._messages = None


@dataclass
class Reached:
    """A replica as this machine reaches it: an address, and the tunnel behind it if any."""

    host: str
    port: int
    tunnel: SshTunnel | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EngineHost:
    """The engine's location (``kind`` local, tcp or ssh) and where it publishes replicas."""

    kind: str = "local"
    host: str = LOOPBACK
    port: int | None = None
    user: str | None = None
    publish_address: str = LOOPBACK
    connect_address: str = LOOPBACK

    @classmethod
    def from_docker_host(cls, docker_host: str | None, publish_address: str | None = None,
                         resolve: Resolver = socket.gethostbyname) -> "EngineHost":
        """Read ``DOCKER_HOST`` (None or empty: the local default socket)."""
        if not docker_host or "://" not in docker_host:
            return cls._local(publish_address)
        parsed = urllib.parse.urlsplit(docker_host)
        scheme = parsed.scheme.lower()
        if scheme in _LOCAL_SCHEMES:
            return cls._local(publish_address)
        if scheme not in _TCP_SCHEMES + ("ssh",) or not parsed.hostname:
            raise RuntimeUnavailable(f"DOCKER_HOST={docker_host!r}: expected unix://, tcp://HOST:PORT or "
                                     f"ssh://[USER@]HOST[:PORT]")
        if scheme == "ssh":
            # The engine binds on its own loopback; replicas are reached through tunnels.
            return cls("ssh", parsed.hostname, parsed.port, parsed.username, LOOPBACK, LOOPBACK)
        if _is_loopback(parsed.hostname):
            return cls._local(publish_address)
        try:
            address = resolve(parsed.hostname)
        except OSError as exc:
            raise RuntimeUnavailable(f"DOCKER_HOST={docker_host!r}: cannot resolve {parsed.hostname}: {exc}") from exc
        publish = publish_address or address
        return cls("tcp", parsed.hostname, parsed.port, None, publish, _connectable(publish, address))

    @classmethod
    def _local(cls, publish_address: str | None) -> "EngineHost":
        publish = publish_address or LOOPBACK
        return cls("local", LOOPBACK, None, None, publish, _connectable(publish, LOOPBACK))

    @property
    def tunnelled(self) -> bool:
        return self.kind == "ssh"

    def ssh_destination(self) -> list[str]:
        """ssh's arguments for the engine host, as the docker SDK's ssh transport passes them."""
        args = ["-l", self.user] if self.user else []
        if self.port:
            args += ["-p", str(self.port)]
        return [*args, "--", self.host]

    def reach(self, published_port: int, local_port: int = 0) -> Reached:
        """Where this machine connects to a replica published on ``published_port`` of the engine host."""
        if not self.tunnelled:
            return Reached(self.connect_address, published_port)
        tunnel = SshTunnel(self.ssh_destination(), published_port, local_port)
        return Reached(LOOPBACK, tunnel.open(), tunnel)

    def describe(self) -> str:
        if self.kind == "local":
            return f"a local engine; replicas published on {self.publish_address}"
        if self.kind == "ssh":
            who = f"{self.user}@" if self.user else ""
            return f"an engine on {who}{self.host} over ssh; replicas reached through ssh tunnels"
        return (f"an engine on {self.host}; replicas published on {self.publish_address}, "
                f"reached at {self.connect_address}")


def _connectable(publish: str, fallback: str) -> str:
    """The address to connect to for ports bound on ``publish`` (a wildcard bind: ``fallback``)."""
    return fallback if publish in ("0.0.0.0", "::", "") else publish
