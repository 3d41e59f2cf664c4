"""The control-plane token: a random secret in a 0600 file under FAKE_AZURE_HOME.

Only a user who can read that file (the owner, or root) can drive the daemon."""
from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path


def load_or_create_token(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)  # tighten a token file someone loosened
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def token_matches(expected: str, header_value: str | None) -> bool:
    if not header_value or not header_value.startswith("Bearer "):
        return False
    return hmac.compare_digest(expected.encode(), header_value[len("Bearer "):].strip().encode())
