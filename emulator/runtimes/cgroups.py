"""A cgroup v2 per process replica, where the hierarchy is writable (Kubernetes gives each container one).

Each replica gets ``<the daemon's own cgroup>/fake-azure/r-<random>``; its launcher moves itself there
before it starts anything, so every process the replica ever starts (other sessions, double forks
included) is in it, and ``cgroup.kill`` ends them all at once, even when the launcher itself was
SIGKILLed from outside. Where there is no writable cgroup v2 hierarchy (many containers, a systemd
session scope) replicas rely on the launcher's child subreaper alone; the launcher's first log line says
which. Only the core ``cgroup.kill`` and ``cgroup.events`` files are used: no controller is enabled."""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Optional

SUBTREE = "fake-azure"
KILL_WAIT_S = 5.0


def _cgroup2_mount() -> Optional[tuple[Path, str]]:
    """Where the cgroup v2 hierarchy is mounted (``/sys/fs/cgroup``, or ``.../unified`` on hybrid hosts) and
    which of its cgroups that mount shows at its top ("/" unless a container got a part of the host's)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        before, _, after = line.partition(" - ")
        if after.split(" ", 1)[0] == "cgroup2":
            fields = before.split()
            return Path(fields[4]), fields[3]
    return None


def _on_disk(mount: tuple[Path, str], path: str) -> Optional[Path]:
    """The folder of cgroup ``path`` under ``mount``; None when the mount does not show it."""
    top = mount[1].rstrip("/")
    if top and path != top and not path.startswith(top + "/"):
        return None
    return mount[0] / path[len(top):].lstrip("/")


def cgroup_path_of(pid: int | str) -> Optional[str]:
    """The cgroup v2 path of process ``pid`` ("/a/b"), None without one (or without the process)."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            return line[3:]
    return None


class ReplicaCgroups:
    """Makes, finds and kills replicas' cgroups under one ``fake-azure`` subtree (``root``); with
    ``root`` None every call does nothing and ``unavailable`` says why."""

    def __init__(self, mount: Optional[tuple[Path, str]], root: Optional[Path], unavailable: str = "") -> None:
        self.mount = mount
        self.root = root
        self.unavailable = unavailable

    @classmethod
    def discover(cls) -> "ReplicaCgroups":
        mount = _cgroup2_mount()
        own = cgroup_path_of("self")
        folder = _on_disk(mount, own) if mount is not None and own is not None else None
        if mount is None or folder is None:
            return cls(None, None, "no cgroup v2 hierarchy")
        root = folder / SUBTREE
        try:
            root.mkdir(exist_ok=True)
        except OSError as exc:
            return cls(None, None, f"cgroup v2 hierarchy not writable here ({exc.strerror or exc})")
        if not (root / "cgroup.kill").exists():
            return cls(None, None, "the kernel has no cgroup.kill (Linux 5.14 or later)")
        return cls(mount, root)

    def create(self) -> Optional[Path]:
        """A new, empty cgroup for one replica (None where cgroups are not available)."""
        if self.root is None:
            return None
        group = self.root / f"r-{uuid.uuid4().hex[:12]}"
        try:
            group.mkdir()
        except OSError:
            return None
        return group

    def of_process(self, pid: int) -> Optional[Path]:
        """The replica cgroup process ``pid`` runs in, if it is one of ours (a killed daemon's replica)."""
        if self.root is None or self.mount is None:
            return None
        path = cgroup_path_of(pid)
        group = _on_disk(self.mount, path) if path is not None else None
        return group if group is not None and group.parent == self.root else None

    def kill(self, group: Optional[Path]) -> None:
        """SIGKILL every process in ``group``, wait until none is left (bounded), and remove it."""
        if group is None:
            return
        try:
            (group / "cgroup.kill").write_text("1")
        except OSError:  # already removed
            return
        deadline = time.monotonic() + KILL_WAIT_S
        while populated(group) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.remove(group)

    @staticmethod
    def remove(group: Optional[Path]) -> None:
        if group is None:
            return
        try:
            group.rmdir()
        except OSError:  # still populated, or gone already
            pass


def populated(group: Path) -> bool:
    """Whether any process is still in ``group`` (False once it is gone)."""
    try:
        for line in (group / "cgroup.events").read_text().splitlines():
            if line.startswith("populated "):
                return line.split()[1] == "1"
    except OSError:
        return False
    return False
