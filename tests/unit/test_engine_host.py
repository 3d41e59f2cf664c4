"""Where a Docker engine publishes replicas and how they are reached, from DOCKER_HOST."""
from __future__ import annotations

import shutil
import socket

import pytest

from emulator.runtimes.base import RuntimeUnavailable
from emulator.runtimes.engine_host import EngineHost


def resolver(names: dict[str, str]):
    def resolve(name: str) -> str:
        try:
            return names[name]
        except KeyError:
            raise OSError(f"unknown host {name}") from None
    return resolve


@pytest.mark.parametrize("docker_host", [None, "", "unix:///var/run/docker.sock", "npipe:////./pipe/docker_engine",
                                         "tcp://127.0.0.1:2375", "tcp://localhost:2375", "tcp://[::1]:2375"])
def test_a_local_engine_publishes_and_is_reached_on_loopback(docker_host: str | None) -> None:
    engine = EngineHost.from_docker_host(docker_host, resolve=resolver({}))
    assert (engine.kind, engine.publish_address, engine.connect_address) == ("local", "127.0.0.1", "127.0.0.1")
    assert engine.reach(32768).host == "127.0.0.1" and engine.reach(32768).port == 32768


def test_a_remote_tcp_engine_publishes_on_its_resolved_address() -> None:
    engine = EngineHost.from_docker_host("tcp://gpu-box:2376", resolve=resolver({"gpu-box": "10.1.2.3"}))
    assert (engine.kind, engine.host, engine.port) == ("tcp", "gpu-box", 2376)
    assert (engine.publish_address, engine.connect_address) == ("10.1.2.3", "10.1.2.3")
    reached = engine.reach(40001)
    assert (reached.host, reached.port, reached.tunnel) == ("10.1.2.3", 40001, None)


def test_a_wildcard_publish_address_is_reached_at_the_engine_host() -> None:
    engine = EngineHost.from_docker_host("tcp://gpu-box:2376", "0.0.0.0", resolve=resolver({"gpu-box": "10.1.2.3"}))
    assert (engine.publish_address, engine.connect_address) == ("0.0.0.0", "10.1.2.3")


def test_a_specific_publish_address_is_where_replicas_are_reached() -> None:
    engine = EngineHost.from_docker_host("unix:///run/docker.sock", "127.0.0.2")
    assert (engine.publish_address, engine.connect_address) == ("127.0.0.2", "127.0.0.2")


def test_an_ssh_engine_tunnels_with_the_docker_sdks_ssh_arguments() -> None:
    engine = EngineHost.from_docker_host("ssh://ml@gpu-box:2222", "0.0.0.0")
    assert (engine.kind, engine.tunnelled, engine.publish_address) == ("ssh", True, "127.0.0.1")
    assert engine.ssh_destination() == ["-l", "ml", "-p", "2222", "--", "gpu-box"]
    assert EngineHost.from_docker_host("ssh://gpu-box").ssh_destination() == ["--", "gpu-box"]


@pytest.mark.parametrize("docker_host, words", [("ftp://gpu-box", "expected unix://"),
                                                ("tcp://nowhere:2375", "cannot resolve nowhere")])
def test_an_unusable_docker_host_is_refused_with_the_reason(docker_host: str, words: str) -> None:
    with pytest.raises(RuntimeUnavailable, match=words):
        EngineHost.from_docker_host(docker_host, resolve=resolver({}))


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the ssh client")
def test_a_tunnel_that_cannot_connect_fails_the_replica_start_with_ssh_s_reason() -> None:
    from emulator.runtimes.base import ReplicaStartFailed
    from emulator.runtimes.engine_host import SshTunnel

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens there once closed
    tunnel = SshTunnel(["-o", "ConnectTimeout=5", "-p", str(port), "--", "127.0.0.1"], remote_port=5001)
    with pytest.raises(ReplicaStartFailed, match=r"did not open: .*(refused|onnect)"):
        tunnel.open(timeout=20)
    assert not tunnel.alive()
    tunnel.close()
