"""A Docker engine reached over ssh, for tests: a private sshd on loopback in front of the local engine.

``ssh_docker_host()`` starts OpenSSH's ``sshd`` on a free 127.0.0.1 port (its own host key, one
authorised client key, ``AcceptEnv DOCKER_HOST``) and puts an ``ssh`` wrapper first on PATH that adds
the matching client configuration (key, no host-key prompt, ``SetEnv DOCKER_HOST=<local engine>``).
It yields ``ssh://<user>@127.0.0.1:<port>``: the docker SDK's ssh transport (``docker system
dial-stdio`` on the far side) and fake-azure's replica tunnels then go through a real ssh session,
as they would to a GPU host. Nothing outside the temporary folder is changed except PATH, for the
duration, and /run/sshd, which sshd needs to exist.
"""
from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

from polling import poll

SSHD = "/usr/sbin/sshd"


def ssh_unavailable_reason() -> str | None:
    missing = [tool for tool in (SSHD, "ssh", "ssh-keygen") if shutil.which(tool) is None]
    if missing:
        return f"needs OpenSSH ({', '.join(missing)} not found; apt-get install openssh-server openssh-client)"
    if not os.environ.get("DOCKER_HOST", "unix://").startswith("unix://"):
        return "needs the local engine on a unix socket (DOCKER_HOST) to put sshd in front of"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def ssh_docker_host(folder: Path) -> Iterator[str]:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True)
    (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
    port = _free_port()
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\nPidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nStrictModes no\nUsePAM no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "AcceptEnv DOCKER_HOST\nAllowTcpForwarding yes\nMaxSessions 100\nMaxStartups 100\n")
    local_engine = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    # A unix socket path has at most 107 bytes: the control socket lives in a short folder.
    control_dir = tempfile.mkdtemp(prefix="fa-ssh-", dir="/tmp")
    (folder / "ssh_config").write_text(
        f"Host *\n  IdentityFile {folder / 'client_key'}\n  IdentitiesOnly yes\n  UserKnownHostsFile /dev/null\n"
        f"  StrictHostKeyChecking no\n  LogLevel ERROR\n  SetEnv DOCKER_HOST={local_engine}\n"
        # One connection shared by every ssh call, as docs/docker.md advises for any ssh engine:
        # the docker SDK opens a new ssh connection per API connection.
        f"  ControlMaster auto\n  ControlPath {control_dir}/%C\n  ControlPersist 60\n")
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ssh"
    wrapper.write_text(f"#!/bin/sh\nexec {shutil.which('ssh')} -F {folder / 'ssh_config'} \"$@\"\n")
    wrapper.chmod(0o755)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    log = open(folder / "sshd.log", "wb")
    sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(folder / "sshd_config")], stdout=log, stderr=log)
    old_path = os.environ["PATH"]
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{old_path}"
    try:
        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0 or sshd.poll() is not None

        if not poll(listening, timeout=15) or sshd.poll() is not None:
            raise RuntimeError(f"sshd did not start: {(folder / 'sshd.log').read_text()[-2000:]}")
        yield f"ssh://{getpass.getuser()}@127.0.0.1:{port}"
    finally:
        os.environ["PATH"] = old_path
        subprocess.run(["ssh", "-F", str(folder / "ssh_config"), "-O", "exit", "-p", str(port), "127.0.0.1"],
                       capture_output=True, timeout=10)
        sshd.terminate()
        sshd.wait(timeout=10)
        log.close()
        shutil.rmtree(control_dir, ignore_errors=True)
