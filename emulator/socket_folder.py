"""The temporary folder a home's process replicas put their unix sockets in when the home's own path is
too long for a socket address (107 bytes): named from the home, so the same across daemon restarts
(adopted replicas keep their sockets), and removed when the home's daemon stops with no replica left.

Only a folder that is ours is ever removed: a directory (not a link) owned by this user, mode 0700,
and empty (``rmdir`` refuses anything else), so another user's folder of that name or a live replica's
socket is never touched."""
from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

# A unix socket's path holds at most 107 bytes; the socket names in the folder take 26.
MAX_SOCKET_DIR = 80


def temp_socket_folder(home: Path) -> Path:
    """Where ``home``'s replica sockets go when ``home/sockets`` is too long (nothing is created)."""
    digest = hashlib.sha1(str(home).encode()).hexdigest()[:12]
    name = f"fake-azure-sockets-{os.getuid()}-{digest}"
    # TMPDIR may be long too (pytest's tmp_path is): then the system's own /tmp.
    root = tempfile.gettempdir()
    if len(str(Path(root) / name)) > MAX_SOCKET_DIR:
        root = "/tmp"
    return Path(root) / name


def remove_temp_socket_folder(home: Path) -> bool:
    """Remove ``home``'s temporary socket folder if it is ours and empty; whether it was removed."""
    folder = temp_socket_folder(home)
    try:
        found = os.lstat(folder)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or stat.S_IMODE(found.st_mode) != 0o700:
        return False
    try:
        folder.rmdir()
    except OSError:  # a replica still has its socket there (a daemon killed with replicas left running)
        return False
    return True
