"""The control-plane token: a random secret in a 0600 file under FAKE_AZURE_HOME.

Only a user who can read that file (the owner, or root) can drive the daemon. An empty token file
(a crash between creating and writing it, a truncating editor) would lock everyone out, so it is
never taken as a token: the daemon writes a fresh one at start, and puts its own back while running."""
from __future__ import annotations

import hmac
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path


class TokenFileError(RuntimeError):
    """The token file exists but cannot be read (a directory, no permission): a clear message, never a 500."""


# What we write (secrets.token_urlsafe) is visible ASCII; anything else in the file is not a token.
_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")


def read_token(path: Path) -> str:
    """The token the file holds: "" when it is missing, blank or holds no token (undecodable bytes,
    spaces inside), so it is replaced as an emptied file is; TokenFileError when it cannot be read. The
    facade reads it with this too."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise TokenFileError(f"cannot read the control-plane token file {path}: {exc.strerror or exc}. Make it "
                             "a file you can read (mode 0600), or remove it: a new token is then written.") from exc
    token = raw.decode("ascii", errors="replace").strip()
    return token if _TOKEN.fullmatch(token) else ""


def load_or_create_token(path: Path) -> str:
    """The home's token: the file's, or a new one written when the file is missing or blank."""
    path.parent.mkdir(parents=True, exist_ok=True)
    token = read_token(path)
    if token:
        os.chmod(path, 0o600)  # tighten a token file someone loosened
        return token
    token = secrets.token_urlsafe(32)
    if not path.exists() and write_token(path, token, replace=False):
        return token
    winner = read_token(path)  # a concurrent first start wrote its own: share it
    if winner:
        return winner
    write_token(path, token)
    print(f"fake-azure: the token file {path} was empty; wrote a new token (clients read it from there)",
          file=sys.stderr, flush=True)
    return token


def write_token(path: Path, token: str, replace: bool = True) -> bool:
    """Write the token file whole (0600 from the start): a reader sees the old token or the new, never "".

    ``replace=False`` writes only where no file exists yet; returns whether the file now holds ``token``."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".token-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(token)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)  # atomic create-if-absent, already whole
        except FileExistsError:
            return False
        return True
    finally:
        Path(temporary).unlink(missing_ok=True)


def restore_token(path: Path, token: str) -> bool:
    """Put the running daemon's ``token`` back if its file was emptied, garbled or removed; True if it did.
    A file it can neither read nor replace (a directory in its place) is reported, and left."""
    try:
        if read_token(path):
            return False
        write_token(path, token)
    except (TokenFileError, OSError) as exc:
        print(f"fake-azure: the token file {path} cannot be read or rewritten ({exc}); clients cannot "
              "authenticate until it is a readable file again", file=sys.stderr, flush=True)
        return False
    print(f"fake-azure: the token file {path} was empty, garbled or missing; wrote the running daemon's token back",
          file=sys.stderr, flush=True)
    return True


def token_matches(expected: str, header_value: str | None) -> bool:
    if not expected or not header_value or not header_value.startswith("Bearer "):
        return False
    return hmac.compare_digest(expected.encode(), header_value[len("Bearer "):].strip().encode())
