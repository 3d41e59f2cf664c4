"""A cluster's front end over HTTPS: the home's CA (status Auto) or the user's own certificate (Enabled)."""
from __future__ import annotations

import datetime
import json
import socket
import ssl
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator.gateway import AuthPolicy, Gateway, ReplicaEndpoint, ServiceRoute
from emulator.gateway.server import BackgroundServer
from emulator.gateway.tls import TlsConfigurationError, check_user_pair, scoring_fqdn, server_context
from emulator.tls_authority import trust_bundle


def _replica() -> BackgroundServer:
    def app(environ, start_response):
        body = json.dumps({"scored": True}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    return BackgroundServer(app, host="127.0.0.1", port=0, threads=2)


def _serve(tls: ssl.SSLContext | None) -> tuple[Gateway, BackgroundServer]:
    replica = _replica()
    gateway = Gateway(tls=tls)
    gateway.upsert_service(ServiceRoute(name="svc", auth=AuthPolicy("none")))
    gateway.set_replicas("svc", [ReplicaEndpoint("r1", "127.0.0.1", replica.port)])
    gateway.start()
    return gateway, replica


def _self_signed(name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())


def test_an_auto_cluster_serves_https_that_verifies_against_the_homes_bundle(tmp_path: Path) -> None:
    fqdn = scoring_fqdn("contoso", "eastus")
    ssl_settings = {"status": "Auto", "leafDomainLabel": "contoso"}
    gateway, replica = _serve(server_context(tmp_path, "ws/aks", ssl_settings, fqdn))
    try:
        uri = gateway.scoring_uri("svc")
        assert uri.startswith("https://127.0.0.1:")
        bundle = trust_bundle(tmp_path)
        response = requests.post(uri, json={"data": [1]}, verify=str(bundle), timeout=10)
        assert response.status_code == 200 and response.json() == {"scored": True}
        with pytest.raises(requests.exceptions.SSLError):  # certifi alone does not know the home's CA
            requests.post(uri, json={}, timeout=10)
        # The certificate also names the Azure-form host, for a client that maps it to loopback itself.
        context = ssl.create_default_context(cafile=str(bundle))
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=fqdn) as tls:
                assert tls.version() == "TLSv1.2"  # what Azure's AKS front end speaks
    finally:
        gateway.stop()
        replica.stop()


def test_the_azure_form_name_has_six_random_characters_after_the_label() -> None:
    name = scoring_fqdn("Contoso", "WestUS2")
    label, region, suffix = name.split(".", 2)
    assert label.startswith("contoso") and len(label) == len("contoso") + 6
    assert region == "westus2" and suffix == "cloudapp.azure.com"
    assert scoring_fqdn("contoso", "westus2") != name


def test_a_users_certificate_is_served_as_given(tmp_path: Path) -> None:
    cert, key = _self_signed("www.contoso.com")
    config = {"status": "Enabled", "cname": "www.contoso.com", "cert": cert, "key": key}
    check_user_pair(config)
    gateway, replica = _serve(server_context(tmp_path, "ws/aks", config, None))
    try:
        (tmp_path / "user-ca.pem").write_text(cert)
        context = ssl.create_default_context(cafile=str(tmp_path / "user-ca.pem"))
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="www.contoso.com") as tls:
                assert tls.getpeercert()["subject"] == ((("commonName", "www.contoso.com"),),)
        assert not list((tmp_path / "tls" / "pending").iterdir())  # the PEM copies ssl needed are gone
    finally:
        gateway.stop()
        replica.stop()


def test_a_certificate_that_does_not_match_its_key_is_refused(tmp_path: Path) -> None:
    cert, _ = _self_signed("www.contoso.com")
    _, other_key = _self_signed("www.contoso.com")
    with pytest.raises(TlsConfigurationError, match="cannot be used"):
        check_user_pair({"status": "Enabled", "cname": "www.contoso.com", "cert": cert, "key": other_key})
    with pytest.raises(TlsConfigurationError):
        check_user_pair({"status": "Enabled", "cname": "x", "cert": "not a certificate", "key": "no"})


def test_a_handshake_that_never_comes_holds_no_other_client(tmp_path: Path) -> None:
    gateway, replica = _serve(server_context(tmp_path, "ws/aks", {"status": "Auto", "leafDomainLabel": "x"}, None))
    try:
        silent = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)  # connects, never says hello
        try:
            response = requests.get(gateway.scoring_uri("svc"), verify=str(trust_bundle(tmp_path)), timeout=10)
            assert response.status_code == 200
        finally:
            silent.close()
    finally:
        gateway.stop()
        replica.stop()
