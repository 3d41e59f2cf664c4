"""Where a service's files live in the home: its folder (replica app roots, logs) and its replicas'
unix sockets (a private folder, or a private temporary one when the home's path is too long)."""
from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import threading
from pathlib import Path

from ..socket_folder import MAX_SOCKET_DIR, temp_socket_folder


def private_temp_folder(home: Path) -> Path:
    """A socket folder under the temporary directory, the same for a home across daemon restarts (so
    adopted replicas' sockets stay where they were), unless someone else made it: then a fresh one."""
    folder = temp_socket_folder(home)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        found = os.lstat(folder)
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or stat.S_IMODE(found.st_mode) != 0o700:
            return Path(tempfile.mkdtemp(prefix="fake-azure-sockets-", dir=folder.parent))
    return folder


class ServiceFolders:
    def __init__(self, home: Path) -> None:
        self.home = home
        self._sockets: Path | None = None  # made on first use
        self._lock = threading.Lock()

    def service_dir(self, ws_id: str, name: str) -> Path:
        key = hashlib.sha1(f"{ws_id}/{name}".encode()).hexdigest()[:12]
        return self.home / "services" / f"{name}-{key}"

    def app_root(self, ws_id: str, name: str, replica_id: str) -> Path:
        return self.service_dir(ws_id, name) / "replicas" / replica_id

    def log_path(self, ws_id: str, name: str, replica_id: str) -> Path:
        return self.service_dir(ws_id, name) / f"{replica_id}.log"

    @property
    def assets(self) -> Path:
        return self.home / "assets"

    def socket_path(self, ws_id: str, name: str, replica_id: str) -> Path:
        """A replica's unix socket: in a folder of the home only we may enter (or, where the home's
        path is too long for a socket address, in a private temporary folder)."""
        with self._lock:
            if self._sockets is None:
                folder = self.home / "sockets"
                if len(str(folder)) > MAX_SOCKET_DIR:
                    folder = private_temp_folder(self.home)
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                folder.chmod(0o700)
                self._sockets = folder
        key = self.service_dir(ws_id, name).name.rsplit("-", 1)[1]
        return self._sockets / f"{key}-{replica_id}.sock"
