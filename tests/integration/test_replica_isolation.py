"""What a replica leaves on the machine: capped logs that go with the service, and no TCP port that
reaches its scoring server past the gateway's keys (issue 11, items 4 and 9)."""
from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from echo_service import BODY, ECHOED, lay_out_echo_project

from emulator.settings import DaemonSettings
from fake_azure.exceptions import WebserviceException

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]

# run() writes 50 MB to stdout, then its marker lines, in one call.
LOUD_SCORE = '''\
import json
import sys


def init():
    pass


def run(raw_data):
    block = (b"x" * 99 + b"\\n") * 10_000  # 1 MB
    for _ in range(50):
        sys.stdout.buffer.write(block)
    sys.stdout.buffer.write(b"".join(b"loud-marker-%d\\n" % i for i in range(3)))
    sys.stdout.flush()
    return {"echo": json.loads(raw_data)}
'''


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(lay_out_echo_project(tmp_path))
    return tmp_path


@pytest.fixture
def deployed(ws, workdir) -> Iterator[list[Any]]:
    """Services a test deploys; each deleted at the end whatever happened."""
    created: list[Any] = []
    yield created
    for service in reversed(created):
        try:
            service.delete()
        except WebserviceException:
            pass


def _deploy_healthy(ws, name: str) -> Any:
    from fake_azure.core.compute import AksCompute, ComputeTarget
    from fake_azure.core.model import InferenceConfig, Model
    from fake_azure.core.webservice import AksWebservice

    target = ComputeTarget.create(ws, "aks-iso", AksCompute.provisioning_configuration(vm_size="Standard_D3_v2"))
    target.wait_for_completion()
    model = Model.register(ws, model_path="model", model_name="tf-dnn-mnist")
    inference_config = InferenceConfig(runtime="python", entry_script="score.py", conda_file="myenv.yml")
    config = AksWebservice.deploy_configuration(num_replicas=1)
    service = Model.deploy(ws, name, [model], inference_config, config, target)
    service.wait_for_deployment()
    assert service.state == "Healthy", service.get_logs()
    return service


def _service_dir(home: Path, name: str) -> Path:
    (folder,) = (home / "services").glob(f"{name}-*")
    return folder


# --- item 4: replica logs -------------------------------------------------------------------------------

def test_a_loud_replica_keeps_capped_logs_read_from_the_end_and_deleted_with_it(ws, workdir, deployed,
                                                                                 emulator_home: Path) -> None:
    (workdir / "score.py").write_text(LOUD_SCORE)
    service = _deploy_healthy(ws, "loud-svc")
    deployed.append(service)
    assert service.run(BODY) == ECHOED
    folder = _service_dir(emulator_home, "loud-svc")
    limits = DaemonSettings.from_env()
    cap = limits.replica_log_max_bytes * limits.replica_log_max_files

    def on_disk() -> int:
        return sum(p.stat().st_size for p in folder.glob("*.log*"))

    # The 50 MB went through; what stays on disk is at most the cap (plus the build log).
    deadline = time.monotonic() + 30
    while "loud-marker-2" not in service.get_logs(num_lines=50) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert on_disk() <= cap + (folder / "environment.log").stat().st_size, on_disk()

    started = time.monotonic()
    tail = service.get_logs(num_lines=5)
    elapsed = time.monotonic() - started
    lines = tail.splitlines()
    assert len(lines) == 5 and "loud-marker-2" in tail, tail
    assert not any(line == "x" * 99 for line in lines[lines.index("loud-marker-2"):]), tail
    assert elapsed < 5, elapsed  # a generous functional bound; bench/ has the figure

    service.delete()
    deployed.clear()
    assert not folder.exists(), sorted(p.name for p in folder.iterdir())


# --- item 9: no TCP port past the keys ------------------------------------------------------------------

def _listening_tcp_inodes() -> set[str]:
    """Socket inodes of every TCP socket listening on this machine (IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for row in f:
                fields = row.split()
                if fields[3] == "0A":  # LISTEN
                    inodes.add(fields[9])
    return inodes


def _group_socket_inodes(pgid: int) -> set[str]:
    """Inodes of the sockets the processes of group ``pgid`` hold."""
    inodes = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:["):-1])
        except OSError:
            continue
    return inodes


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_an_aks_replica_listens_on_a_private_unix_socket_and_scores_through_the_gateway(
        ws, workdir, deployed, emulator_home: Path, azureml_emulator) -> None:
    if azureml_emulator.runtime != "process":
        pytest.skip("containers publish a loopback port (docs/parity.md); the process runtime uses sockets")
    from fake_azure.core.webservice import Webservice

    service = _deploy_healthy(ws, "private-svc")
    deployed.append(service)
    (replica,) = Webservice._get(ws, "private-svc")["fakeAzure"]["replicas"]
    assert replica["port"] is None
    socket_path = Path(replica["socket"])
    assert stat.S_ISSOCK(socket_path.stat().st_mode)
    assert stat.S_IMODE(socket_path.parent.stat().st_mode) == 0o700

    pid = int((emulator_home / "replica-pids" / f"{replica['id']}.pid").read_text().split()[0])
    held = _group_socket_inodes(os.getpgid(pid))
    assert held, "the replica's processes hold no socket at all"
    assert not held & _listening_tcp_inodes(), "a replica process listens on a TCP port"

    primary, _ = service.get_keys()
    assert service.run(BODY) == ECHOED
    import requests

    with requests.Session() as session:
        session.trust_env = False
        response = session.post(service.scoring_uri, data=BODY, timeout=30,
                                headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
        assert response.status_code == 401
        response = session.post(service.scoring_uri, data=BODY, timeout=30,
                                headers={"Content-Type": "application/json", "Authorization": f"Bearer {primary}"})
        assert response.status_code == 200 and response.json() == ECHOED
