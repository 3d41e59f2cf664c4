"""Pointing the unchanged SDK v2 client (``azure-ai-ml``) at the local cloud, for :func:`fake_azure.activate`.

Applied when the activated process first imports ``azure.ai.ml`` or ``azure.identity`` (or at once, when
``azure.ai.ml`` was imported before activation): activation itself never needs the daemon, and a program
that only uses v1 starts none it did not ask for. No code change and nothing system-wide: only this process's
environment (inherited by what it starts) and one name-resolution hook.

- ``ARM_CLOUD_METADATA_URL`` and ``AZUREML_CURRENT_CLOUD``: the daemon's cloud-metadata document (served on the
  control plane's plain-HTTP loopback port: the client fetches it several times per MLClient, each on a new
  connection, and over TLS each fetch loaded the whole CA bundle) and the cloud's name in it; the client takes
  its ARM base URL (the HTTPS listener) and storage suffix from it (``AZUREML_DEV_URL_MFE`` is removed).
- ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``: ``DefaultAzureCredential()`` takes its managed-identity branch
  against the daemon; the credential variables that come before it (service principal, workload
  identity, other managed-identity flavours) are removed for as long as the activation lasts.
- ``REQUESTS_CA_BUNDLE``: the roots the process trusted before plus the home's certificate authority.
- ``{account}.blob.core.localhost`` resolves to the daemon's address inside this process (a
  ``socket.getaddrinfo`` wrapper that answers for that one suffix only and passes everything else on):
  glibc does not resolve ``*.localhost`` names, and no hosts-file line is needed.
"""
from __future__ import annotations

import os
import socket
import threading
from typing import Any, Callable

from .settings import Settings

BLOB_HOST_SUFFIX = ".blob.core.localhost"  # emulator/arm/storage.py serves it
METADATA_QUERY = "metadata/endpoints?api-version=2019-05-01"
CLOUD_NAME = "FakeAzureLocal"  # emulator/arm/discovery_api.py's
# Variables that would make DefaultAzureCredential (or azure-ai-ml's cloud choice) skip the local cloud.
SHADOWING = ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH",
             "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_FEDERATED_TOKEN_FILE",
             "AZURE_AUTHORITY_HOST", "AZURE_TOKEN_CREDENTIALS", "MSI_ENDPOINT", "MSI_SECRET",
             "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "AZUREML_DEV_URL_MFE")


def client_environment(info: dict[str, Any], settings: Settings, token: str,
                       current_bundle: str | None = None) -> dict[str, str]:
    """The variables that point azure-ai-ml and azure-identity at the daemon ``info`` announces.

    ``REQUESTS_CA_BUNDLE``: activation's bundle (fake_azure/trust.py: the roots the process trusted before,
    ``current_bundle``, plus the home's CA), so the process keeps verifying other hosts as it did."""
    from pathlib import Path

    from .trust import bundle_for

    # The strict choice travels in the ARM root the metadata names (its /strict/ prefix).
    metadata_root = info["url"].rstrip("/") + ("/strict/" if settings.strict_workspaces else "/")
    home_tls = (settings.home / "tls").resolve()
    already_ours = bool(current_bundle and Path(current_bundle).resolve().parent == home_tls)
    return {"ARM_CLOUD_METADATA_URL": metadata_root + METADATA_QUERY, "AZUREML_CURRENT_CLOUD": CLOUD_NAME,
            "IDENTITY_ENDPOINT": info["armUrl"] + "msi/token",
            "IDENTITY_HEADER": token,
            "REQUESTS_CA_BUNDLE": current_bundle if already_ours else str(bundle_for(settings.home, current_bundle))}


class _Resolver:
    """The getaddrinfo wrapper: ``*.blob.core.localhost`` -> ``address``, every other name unchanged."""

    def __init__(self) -> None:
        self.address = "127.0.0.1"
        self.original: Callable[..., Any] | None = None

    def __call__(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        assert self.original is not None
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.lower().rstrip(".").endswith(BLOB_HOST_SUFFIX):
            return self.original(self.address, *args, **kwargs)
        return self.original(host, *args, **kwargs)


class V2Cloud:
    """What activate() changed for the v2 client, so that deactivate() can put it back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._saved_env: dict[str, str | None] | None = None
        self._resolver = _Resolver()

    @property
    def active(self) -> bool:
        return self._saved_env is not None

    def apply(self, settings: Settings) -> None:
        """Point the v2 client at this home's daemon, started if autostart allows; refused (DaemonError) when
        there is none, rather than letting the client reach real Azure."""
        from emulator import daemon
        from emulator.auth import read_token

        info = daemon.ensure_running(settings)[0] if settings.autostart else daemon.serving_info(settings)
        if not info or "armUrl" not in info:
            raise daemon.DaemonError(
                f"no fake-azure daemon serves {settings.home} and FAKE_AZURE_AUTOSTART is off: the SDK v2 client "
                "would reach real Azure. Start one with `fake-azure up`, or set FAKE_AZURE_TARGET=azure.")
        values = client_environment(info, settings, read_token(settings.token_path),
                                    os.environ.get("REQUESTS_CA_BUNDLE"))
        with self._lock:
            if self._saved_env is None:
                self._saved_env = {name: os.environ.get(name) for name in (*values, *SHADOWING)}
            for name in SHADOWING:
                os.environ.pop(name, None)
            os.environ.update(values)
            self._resolver.address = settings.host if settings.host not in ("localhost", "") else "127.0.0.1"
            if self._resolver.original is None:
                self._resolver.original = socket.getaddrinfo
                socket.getaddrinfo = self._resolver

    def undo(self) -> None:
        with self._lock:
            if self._resolver.original is not None and socket.getaddrinfo is self._resolver:
                socket.getaddrinfo = self._resolver.original
                self._resolver.original = None
            if self._saved_env is None:
                return
            for name, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            self._saved_env = None
