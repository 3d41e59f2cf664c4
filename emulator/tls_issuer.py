"""The certificate work of the per-home authority (emulator/tls_authority.py), apart because importing
``cryptography`` costs ~80 ms: a daemon whose certificates are current never loads it."""
from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 825  # what Apple and browsers accept for a TLS server certificate


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)  # readers see the old file or the new, whole


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _ensure_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = folder / "ca.pem", folder / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if cert.not_valid_after_utc > _now() + datetime.timedelta(days=30):
            key = serialization.load_pem_private_key(key_path.read_bytes(), None)
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fake-azure"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"fake-azure local CA ({folder.parent.name})")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(minutes=5))
            .not_valid_after(_now() + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write_private(key_path, _key_pem(key))
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def server_certificate(folder: Path, hosts: list[str], label: str) -> float:
    """Make ``label``.pem/-key.pem for ``hosts`` unless the current ones fit (the CA first if missing), and
    the trust bundle; returns the certificate's expiry (epoch seconds). The caller holds the folder's lock."""
    ca_cert, ca_key = _ensure_ca(folder)
    cert_path, key_path = folder / f"{label}.pem", folder / f"{label}-key.pem"
    if not _current(cert_path, key_path, ca_cert, hosts):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(_now() - datetime.timedelta(minutes=5))
                .not_valid_after(min(_now() + datetime.timedelta(days=SERVER_DAYS), ca_cert.not_valid_after_utc))
                .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        _write_private(key_path, _key_pem(key))
        _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM)
                       + ca_cert.public_bytes(serialization.Encoding.PEM))
    write_trust_bundle(folder)
    return x509.load_pem_x509_certificate(cert_path.read_bytes()).not_valid_after_utc.timestamp()


def _current(cert_path: Path, key_path: Path, ca_cert: x509.Certificate, hosts: list[str]) -> bool:
    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())  # the first PEM block: the leaf
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)  # signed by this CA, not one before it with the same name
    except (ValueError, TypeError, InvalidSignature):
        return False
    return list(names) == [_san(h) for h in hosts] and cert.not_valid_after_utc > _now() + datetime.timedelta(days=30)


def write_trust_bundle(folder: Path) -> None:
    """The CA (made if missing) and ``trust-bundle.pem``: certifi's roots plus the CA."""
    import certifi

    ca_cert, _ = _ensure_ca(folder)
    ours = ca_cert.public_bytes(serialization.Encoding.PEM)
    bundle = Path(certifi.where()).read_bytes().rstrip(b"\n") + b"\n" + ours
    path = folder / "trust-bundle.pem"
    if not path.exists() or path.read_bytes() != bundle:
        temporary = path.with_name(".trust-bundle.pem.tmp")
        temporary.write_bytes(bundle)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
