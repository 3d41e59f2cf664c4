"""emulator/auth.py: a blank token file is never a token, and a new one is written whole (0600)."""
from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from emulator.auth import load_or_create_token, read_token, restore_token, token_matches


def test_an_empty_expected_token_matches_nothing() -> None:
    assert not token_matches("", "Bearer ")
    assert not token_matches("", "Bearer  ")
    assert token_matches("abc", "Bearer abc") and not token_matches("abc", "Bearer abd")


def test_a_blank_token_file_is_replaced_and_the_replacement_logged(tmp_path: Path, capsys) -> None:
    path = tmp_path / "token"
    path.write_text(" \n")
    os.chmod(path, 0o644)
    token = load_or_create_token(path)
    assert len(token) >= 32 and read_token(path) == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "was empty" in capsys.readouterr().err
    assert load_or_create_token(path) == token  # kept from then on
    assert not [p for p in tmp_path.iterdir() if p.name != "token"]  # no temporary file left behind


def test_first_starts_racing_agree_on_one_token(tmp_path: Path) -> None:
    path, tokens = tmp_path / "token", []
    threads = [threading.Thread(target=lambda: tokens.append(load_or_create_token(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(tokens)) == 1 and read_token(path) == tokens[0]


def test_restore_puts_the_running_token_back_only_into_an_emptied_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("")
    assert restore_token(path, "running-token") and read_token(path) == "running-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("someone-elses")
    assert not restore_token(path, "running-token") and read_token(path) == "someone-elses"


def test_a_garbled_token_file_reads_as_no_token_and_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "token"
    for garbled in (b"\xff\xfe\x00", b"two words", b"\x00"):
        path.write_bytes(garbled)
        assert read_token(path) == ""
    token = load_or_create_token(path)
    assert read_token(path) == token and len(token) >= 32


def test_an_unreadable_token_file_is_a_clear_error_and_restore_leaves_it(tmp_path: Path, capsys) -> None:
    import pytest

    from emulator.auth import TokenFileError

    path = tmp_path / "token"
    path.mkdir()
    with pytest.raises(TokenFileError, match="token file"):
        read_token(path)
    with pytest.raises(TokenFileError):
        load_or_create_token(path)
    assert restore_token(path, "running-token") is False and path.is_dir()
    assert "cannot be read or rewritten" in capsys.readouterr().err
