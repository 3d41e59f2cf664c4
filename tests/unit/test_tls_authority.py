"""The per-home certificate authority: one CA per home, private keys 0600, server certificates reissued only
when their names change, and a trust bundle that keeps the public roots."""
from __future__ import annotations

import stat
from pathlib import Path

import certifi
from cryptography import x509

from emulator.tls_authority import ca_certificate_path, server_credentials, trust_bundle


def _names(path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return [str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]


def test_one_ca_signs_server_certificates_reissued_only_when_names_change(tmp_path: Path) -> None:
    first = server_credentials(tmp_path, ["127.0.0.1", "*.blob.core.localhost"])
    ca = ca_certificate_path(tmp_path).read_bytes()
    again = server_credentials(tmp_path, ["127.0.0.1", "*.blob.core.localhost"])
    assert again.certificate.read_bytes() == first.certificate.read_bytes()
    assert _names(first.certificate) == ["127.0.0.1", "*.blob.core.localhost"]
    other = server_credentials(tmp_path, ["127.0.0.1", "localhost"])
    assert _names(other.certificate) == ["127.0.0.1", "localhost"]
    assert ca_certificate_path(tmp_path).read_bytes() == ca  # the same CA signed both
    leaf = x509.load_pem_x509_certificate(other.certificate.read_bytes())
    assert leaf.issuer == x509.load_pem_x509_certificate(ca).subject
    for key in (tmp_path / "tls" / "ca-key.pem", other.key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700


def test_the_trust_bundle_keeps_the_public_roots_and_adds_the_ca(tmp_path: Path) -> None:
    bundle = trust_bundle(tmp_path).read_bytes()
    assert bundle.startswith(Path(certifi.where()).read_bytes().rstrip(b"\n"))
    assert bundle.rstrip(b"\n").endswith(ca_certificate_path(tmp_path).read_bytes().rstrip(b"\n"))


def test_current_certificates_are_found_without_loading_cryptography(tmp_path: Path) -> None:
    import subprocess
    import sys

    server_credentials(tmp_path, ["127.0.0.1", "localhost"])
    trust_bundle(tmp_path)
    code = ("import sys; from pathlib import Path; from emulator.tls_authority import server_credentials, trust_bundle;"
            f"server_credentials(Path({str(tmp_path)!r}), ['127.0.0.1', 'localhost']);"
            f"trust_bundle(Path({str(tmp_path)!r}));"
            "print('cryptography' in sys.modules)")
    root = Path(__file__).resolve().parents[2]
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60)
    assert warm.stdout.strip() == "False", warm.stderr


def test_a_replaced_ca_makes_the_certificate_again(tmp_path: Path) -> None:
    first = server_credentials(tmp_path, ["127.0.0.1"])
    leaf = first.certificate.read_bytes()
    for name in ("ca.pem", "ca-key.pem"):
        (tmp_path / "tls" / name).unlink()  # a new CA: certificates the old one signed are no longer trusted
    again = server_credentials(tmp_path, ["127.0.0.1"])
    assert again.certificate.read_bytes() != leaf
    issuer = x509.load_pem_x509_certificate(again.certificate.read_bytes()).issuer
    assert issuer == x509.load_pem_x509_certificate(ca_certificate_path(tmp_path).read_bytes()).subject
