"""The per-home certificate authority: one self-signed CA under ``FAKE_AZURE_HOME/tls``, and the server
certificates it signs for the daemon's HTTPS listeners.

Nothing is installed system-wide. Clients trust the CA through ``REQUESTS_CA_BUNDLE``, pointed at
:func:`trust_bundle` (certifi's public roots plus this CA, so a process that also talks to real Azure
still verifies it). The CA key never leaves the home (0600 files in a 0700 folder).

A certificate's hosts, expiry and CA are noted beside it (``<label>.json``), so a start whose
certificates are current reads that note and never imports ``cryptography`` (emulator/tls_issuer.py)."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

RENEW_BEFORE_S = 30 * 24 * 3600  # a certificate this close to its expiry is made again


@dataclass(frozen=True)
class ServerCredentials:
    certificate: Path  # the leaf, then the CA (a full chain)
    key: Path


def tls_dir(home: Path) -> Path:
    return home / "tls"


def ca_certificate_path(home: Path) -> Path:
    return tls_dir(home) / "ca.pem"


def trust_bundle_path(home: Path) -> Path:
    return tls_dir(home) / "trust-bundle.pem"


def _ca_digest(folder: Path) -> str:
    try:
        return hashlib.sha256((folder / "ca.pem").read_bytes()).hexdigest()
    except OSError:
        return ""


def _noted_current(folder: Path, hosts: list[str], label: str) -> bool:
    try:
        note = json.loads((folder / f"{label}.json").read_text())
    except (OSError, ValueError):
        return False
    files = (folder / f"{label}.pem", folder / f"{label}-key.pem", folder / "ca-key.pem", folder / "trust-bundle.pem")
    return (isinstance(note, dict) and note.get("hosts") == hosts and all(f.exists() for f in files)
            and isinstance(note.get("notAfter"), (int, float)) and note["notAfter"] > time.time() + RENEW_BEFORE_S
            and note.get("ca") == _ca_digest(folder) != "")


def _locked_folder(home: Path):
    folder = tls_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder, open(folder / ".lock", "w")


def server_credentials(home: Path, hosts: list[str], label: str = "server") -> ServerCredentials:
    """A certificate for ``hosts`` (names, ``*.`` wildcards or IP addresses) signed by the home's CA, made
    on first use and again when the host list changes or it nears expiry; the CA is made if missing."""
    folder = tls_dir(home)
    credentials = ServerCredentials(folder / f"{label}.pem", folder / f"{label}-key.pem")
    if _noted_current(folder, hosts, label):
        return credentials
    from . import tls_issuer

    folder, lock = _locked_folder(home)
    with lock:  # two daemons starting for one home write one CA
        fcntl.flock(lock, fcntl.LOCK_EX)
        not_after = tls_issuer.server_certificate(folder, hosts, label)
        note = {"hosts": hosts, "notAfter": not_after, "ca": _ca_digest(folder)}
        temporary = folder / f".{label}.json.tmp"
        temporary.write_text(json.dumps(note))
        os.replace(temporary, folder / f"{label}.json")
    return credentials


def trust_bundle(home: Path) -> Path:
    """The home's trust bundle (certifi's roots plus the CA), the CA made first if the home has none yet."""
    folder = tls_dir(home)
    if (folder / "ca.pem").exists() and (folder / "ca-key.pem").exists() and trust_bundle_path(home).exists():
        return trust_bundle_path(home)
    from . import tls_issuer

    folder, lock = _locked_folder(home)
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        tls_issuer.write_trust_bundle(folder)
    return trust_bundle_path(home)
