"""Where replicas' unix sockets go when the home's path is too long for a socket address."""
from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

from emulator.deploy.folders import private_temp_folder


def test_the_fallback_folder_is_private_stable_and_never_someone_elses(tmp_path: Path) -> None:
    home = tmp_path / ("h" * 120) / uuid.uuid4().hex
    first = private_temp_folder(home)
    try:
        assert first == private_temp_folder(home)  # the same across daemon restarts
        found = os.lstat(first)
        assert stat.S_ISDIR(found.st_mode) and stat.S_IMODE(found.st_mode) == 0o700 and found.st_uid == os.getuid()
        assert len(str(first / ("k" * 12 + "-" + "r" * 8 + ".sock"))) < 108
        os.chmod(first, 0o777)  # as if another user had made it first: not ours to use
        other = private_temp_folder(home)
        try:
            assert other != first and stat.S_IMODE(os.lstat(other).st_mode) == 0o700
        finally:
            other.rmdir()
    finally:
        first.rmdir()


def test_a_long_temporary_directory_does_not_make_socket_paths_too_long(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    long_tmp = tmp_path / ("t" * 90)
    long_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(long_tmp))
    folder = private_temp_folder(tmp_path / ("h" * 120) / uuid.uuid4().hex)
    try:
        assert len(str(folder / ("k" * 12 + "-" + "r" * 8 + ".sock"))) < 108
    finally:
        folder.rmdir()
