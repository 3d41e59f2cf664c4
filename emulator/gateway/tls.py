"""HTTPS for a cluster's scoring front end, as the cluster's ``sslConfiguration`` asks (``enable_ssl``).

* ``status: Auto`` (``enable_ssl(leaf_domain_label=...)``): Azure issues a Microsoft certificate for
  ``<label><6 random characters>.<location>.cloudapp.azure.com``. Here the home's certificate authority
  (:mod:`emulator.tls_authority`) signs one for that name and for the loopback names the scoring URI
  uses (``127.0.0.1``, ``localhost``, ``::1``): clients that trust the home's CA (``REQUESTS_CA_BUNDLE``,
  set by activation and ``fake-azure run``) verify it.
* ``status: Enabled`` (``enable_ssl(ssl_cname=..., ssl_cert_pem_file=..., ssl_key_pem_file=...)``): the
  user's certificate and key, served as given.
* anything else: plain HTTP.

The scoring URI keeps the loopback host (a ``cloudapp.azure.com`` name resolves nowhere near this
machine); only its scheme changes (docs/parity.md).
"""
from __future__ import annotations

import hashlib
import os
import secrets
import ssl
import string
import tempfile
from pathlib import Path
from typing import Any, Mapping

LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1"]
AZURE_SUFFIX = "cloudapp.azure.com"
_RANDOM_ALPHABET = string.ascii_lowercase + string.digits


class TlsConfigurationError(ValueError):
    """The cluster's certificate or key cannot be used (not PEM, or not a pair)."""


def scoring_fqdn(leaf_domain_label: str, location: str) -> str:
    """The name Azure gives an ``Auto`` cluster's scoring endpoint: the label, six random characters, the region."""
    suffix = "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(6))
    return f"{leaf_domain_label.lower()}{suffix}.{location.lower()}.{AZURE_SUFFIX}"


def enabled(ssl_configuration: Mapping[str, Any] | None) -> bool:
    return (ssl_configuration or {}).get("status") in ("Auto", "Enabled")


def _context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # Azure's AKS front end speaks TLS 1.2 only (1.3 is documented as unsupported); clients that insist
    # on 1.3 would fail there too.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def _load_pem_pair(context: ssl.SSLContext, folder: Path, cert_pem: str, key_pem: str) -> None:
    """Load a certificate and key given as PEM text (ssl reads only files: 0600 ones, removed at once)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    paths = []
    try:
        for text in (cert_pem, key_pem):
            fd, name = tempfile.mkstemp(dir=folder, suffix=".pem")  # mode 0600
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            paths.append(name)
        context.load_cert_chain(paths[0], paths[1])
    except ssl.SSLError as exc:
        raise TlsConfigurationError("the cluster's SSL certificate and key cannot be used: "
                                    f"{exc.reason or exc}") from None
    finally:
        for name in paths:
            Path(name).unlink(missing_ok=True)


def check_user_pair(ssl_configuration: Mapping[str, Any] | None) -> None:
    """Raise :class:`TlsConfigurationError` unless an ``Enabled`` configuration's cert and key are PEM and a pair."""
    config = ssl_configuration or {}
    if config.get("status") != "Enabled":
        return
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(str(config.get("cert") or "").encode())
        key = serialization.load_pem_private_key(str(config.get("key") or "").encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise TlsConfigurationError(f"the cluster's SSL certificate and key cannot be used: {exc}") from None
    spki = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise TlsConfigurationError("the cluster's SSL certificate and key cannot be used: the key is not the "
                                    "certificate's")


def server_context(home: Path, cluster_key: str, ssl_configuration: Mapping[str, Any] | None,
                   fqdn: str | None) -> ssl.SSLContext | None:
    """The TLS context of a cluster's front end (``cluster_key`` names its files), or None for plain HTTP."""
    config = ssl_configuration or {}
    status = config.get("status")
    if status == "Enabled":
        context = _context()
        _load_pem_pair(context, home / "tls" / "pending", str(config.get("cert") or ""), str(config.get("key") or ""))
        return context
    if status == "Auto":
        from ..tls_authority import server_credentials

        label = "gateway-" + hashlib.sha256(cluster_key.encode()).hexdigest()[:16]
        credentials = server_credentials(home, LOOPBACK_NAMES + ([fqdn] if fqdn else []), label=label)
        context = _context()
        context.load_cert_chain(credentials.certificate, credentials.key)
        return context
    return None


def scoring_fqdn_after(ssl_configuration: Mapping[str, Any] | None, location: str, current: str | None) -> str | None:
    """The scoring name a cluster has once ``ssl_configuration`` applies: a new one for a new ``Auto`` label
    (kept while the label is the same), none without ``Auto``."""
    config = ssl_configuration or {}
    label = config.get("leafDomainLabel")
    if config.get("status") != "Auto" or not label:
        return None
    if current and current.split(".", 1)[0][:-6] == str(label).lower():
        return current
    return scoring_fqdn(str(label), location)
