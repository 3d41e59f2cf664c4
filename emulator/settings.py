"""The daemon's own settings: ``DaemonSettings`` is the shared :class:`~fake_azure.settings.Settings`
plus the knobs only the local cloud reads (README: the variables marked "daemon"). With
fake_azure/settings.py, the one reader of the environment; both parse through its parsers."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from fake_azure.settings import Settings, SettingsError, choice, count, flag, non_negative, number, size, whole_number

from .progress import ProgressPolicy, ProgressPolicyError

RUNTIMES = ("process", "docker", "auto")
GPU_POLICIES = ("cpu-fallback", "require")
PYTHON_POLICIES = ("nearest", "exact")
DOCKER_PIP_STRATEGIES = ("auto", "online", "wheelhouse")


@dataclass(frozen=True)
class DaemonSettings(Settings):
    """Everything the daemon runs with; build it with :meth:`from_env` or :meth:`for_daemon`."""

    runtime: str = "process"
    progress: str = "immediate"
    port: int = 0
    gpu_policy: str = "cpu-fallback"
    # An environment's Python that no interpreter here provides: the nearest available one (with a
    # warning in the build log), or fail.
    python_policy: str = "nearest"
    reuse_interpreter: bool = True
    autoscale_down_delay: float = 60.0
    # Multiplies livenessProbeRequirements.initialDelaySeconds (Azure: 310 s); 0 starts probing at once.
    probe_delay_scale: float = 0.0
    # The largest request body (a model upload) the control plane accepts, in bytes: one limit for
    # the web server and the app.
    max_body_bytes: int = 8 * 1024 ** 3
    base_image: str = "python:3.11-slim"
    env_cache: Path = field(default_factory=lambda: Path.home() / ".cache" / "fake-azure" / "envs")
    # The docker SDK's own variables (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH...), handed to it.
    docker_env: tuple[tuple[str, str], ...] = ()
    # Where a remote tcp:// engine publishes replicas (default: its address as resolved here).
    docker_publish_address: str | None = None
    # How docker image builds get packages: pip inside the build, or wheels downloaded here first.
    docker_pip: str = "auto"
    # A replica's log is capped like Docker's json-file driver: max-size per file, max-file files.
    replica_log_max_bytes: int = 10 * 1024 * 1024
    replica_log_max_files: int = 3
    # SDK v2 managed deployments: the vCPUs one subscription's deployments may hold (Azure's quota).
    v2_vcpu_quota: int = 2000

    @classmethod
    def for_daemon(cls, shared: Settings, environ: Mapping[str, str] | None = None) -> "DaemonSettings":
        """``shared`` as it is, with the daemon's knobs read from the environment (a facade starting a
        daemon checks and hands over what that daemon will run with)."""
        if isinstance(shared, DaemonSettings):
            return shared
        values = {f.name: getattr(shared, f.name) for f in fields(Settings)}
        return cls(**values, **cls.own_values(os.environ if environ is None else environ))

    @classmethod
    def own_values(cls, env: Mapping[str, str]) -> dict[str, Any]:
        raw_port = env.get("FAKE_AZURE_PORT") or "0"
        port = whole_number(raw_port)
        if port is None or not 0 <= port <= 65535:
            raise SettingsError(f"FAKE_AZURE_PORT must be a port number from 0 to 65535, got {raw_port!r}")
        raw_max_body = (env.get("FAKE_AZURE_MAX_BODY_BYTES") or str(8 * 1024 ** 3)).strip()
        max_body = whole_number(raw_max_body)
        if max_body is None or max_body < 1:
            raise SettingsError(f"FAKE_AZURE_MAX_BODY_BYTES must be a positive number of bytes, got {raw_max_body!r}")
        progress = env.get("FAKE_AZURE_PROGRESS") or "immediate"
        try:  # validated here so a typo fails at start, not in the middle of a run
            ProgressPolicy.parse(progress)
        except ProgressPolicyError as exc:
            raise SettingsError(f"FAKE_AZURE_PROGRESS: {exc}") from None
        return dict(
            runtime=choice("FAKE_AZURE_RUNTIME", env.get("FAKE_AZURE_RUNTIME"), RUNTIMES, "process"),
            progress=progress,
            port=port,
            gpu_policy=choice("FAKE_AZURE_GPU_POLICY", env.get("FAKE_AZURE_GPU_POLICY"), GPU_POLICIES, "cpu-fallback"),
            python_policy=choice("FAKE_AZURE_PYTHON_POLICY", env.get("FAKE_AZURE_PYTHON_POLICY"), PYTHON_POLICIES,
                                 "nearest"),
            autoscale_down_delay=number("FAKE_AZURE_AUTOSCALE_DOWN_DELAY",
                                        env.get("FAKE_AZURE_AUTOSCALE_DOWN_DELAY") or "60"),
            probe_delay_scale=non_negative("FAKE_AZURE_PROBE_DELAY_SCALE", number(
                "FAKE_AZURE_PROBE_DELAY_SCALE", env.get("FAKE_AZURE_PROBE_DELAY_SCALE") or "0")),
            max_body_bytes=max_body,
            # Built environments are shared by every home, like pip's cache: a fresh home (a test
            # session, a CI run) reuses what an earlier one built.
            env_cache=Path(env.get("FAKE_AZURE_ENV_CACHE") or Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                           / "fake-azure" / "envs").expanduser(),
            base_image=env.get("FAKE_AZURE_BASE_IMAGE") or "python:3.11-slim",
            reuse_interpreter=flag("FAKE_AZURE_REUSE_INTERPRETER", env.get("FAKE_AZURE_REUSE_INTERPRETER"), True),
            docker_env=tuple(sorted((k, v) for k, v in env.items() if k.startswith("DOCKER_"))),
            docker_publish_address=env.get("FAKE_AZURE_DOCKER_PUBLISH_ADDRESS") or None,
            docker_pip=choice("FAKE_AZURE_DOCKER_PIP", env.get("FAKE_AZURE_DOCKER_PIP"), DOCKER_PIP_STRATEGIES, "auto"),
            replica_log_max_bytes=size("FAKE_AZURE_REPLICA_LOG_MAX_SIZE", env.get("FAKE_AZURE_REPLICA_LOG_MAX_SIZE"),
                                       10 * 1024 * 1024),
            replica_log_max_files=count("FAKE_AZURE_REPLICA_LOG_MAX_FILES", env.get("FAKE_AZURE_REPLICA_LOG_MAX_FILES"),
                                        3),
            v2_vcpu_quota=count("FAKE_AZURE_V2_VCPU_QUOTA", env.get("FAKE_AZURE_V2_VCPU_QUOTA"), 2000),
        )

    @property
    def docker_host(self) -> str | None:
        return dict(self.docker_env).get("DOCKER_HOST") or None
