"""``REQUESTS_CA_BUNDLE`` for an activated process, so the HTTPS scoring URIs of clusters with SSL enabled
verify (the home's certificate authority signs their certificates, emulator/gateway/tls.py).

The bundle is the roots the process trusted before (a ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` it
already had, else certifi's public roots) plus the home's CA, so calls to real hosts still verify.
Nothing is installed system-wide; :meth:`CaBundle.undo` puts the variable back.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from .settings import Settings

VARIABLE = "REQUESTS_CA_BUNDLE"


def _tls_dir(home: Path) -> Path:
    return home / "tls"  # emulator.tls_authority.tls_dir: not imported on the fast path (cryptography is slow to load)


def bundle_for(home: Path, previous: str | None) -> Path:
    """The bundle file to trust: the home's own (certifi + CA), or ``previous``'s roots + the CA."""
    folder = _tls_dir(home)
    ours = folder / "trust-bundle.pem"
    if not (ours.is_file() and (folder / "ca.pem").is_file()):
        from emulator.tls_authority import trust_bundle

        trust_bundle(home)  # makes the CA too: a client may activate before any daemon started
    if not previous or Path(previous).resolve() == ours.resolve() or not Path(previous).is_file():
        return ours
    combined = folder / f"trust-bundle-{hashlib.sha256(str(Path(previous).resolve()).encode()).hexdigest()[:12]}.pem"
    data = Path(previous).read_bytes().rstrip(b"\n") + b"\n" + (folder / "ca.pem").read_bytes()
    if not combined.is_file() or combined.read_bytes() != data:
        temporary = combined.with_name(f".{combined.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, combined)
    return combined


def requests_verify() -> str:
    """What the facade's own scoring sessions (``trust_env`` off) verify against: the roots this process
    trusts plus the home's CA."""
    previous = os.environ.get(VARIABLE) or os.environ.get("CURL_CA_BUNDLE")
    return str(bundle_for(Settings.from_env().home, previous))


class CaBundle:
    """What activation changed in ``REQUESTS_CA_BUNDLE``, to be undone on deactivation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saved: tuple[str | None] | None = None

    def apply(self, settings: Settings) -> None:
        with self._lock:
            if self._saved is not None:
                return
            previous = os.environ.get(VARIABLE)
            path = bundle_for(settings.home, previous or os.environ.get("CURL_CA_BUNDLE"))
            self._saved = (previous,)
            os.environ[VARIABLE] = str(path)

    def undo(self) -> None:
        with self._lock:
            if self._saved is None:
                return
            (previous,) = self._saved
            self._saved = None
            if previous is None:
                os.environ.pop(VARIABLE, None)
            else:
                os.environ[VARIABLE] = previous
