"""The one reader of the environment: every FAKE_AZURE_* knob, parsed and checked in one place."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

TARGETS = ("emulator", "azure")
RUNTIMES = ("process", "docker", "auto")
GPU_POLICIES = ("cpu-fallback", "require")
PYTHON_POLICIES = ("nearest", "exact")
DOCKER_PIP_STRATEGIES = ("auto", "online", "wheelhouse")


class SettingsError(ValueError):
    """A FAKE_AZURE_* variable holds a value we cannot use."""


def _flag(name: str, value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def _choice(name: str, value: str | None, allowed: tuple[str, ...], default: str) -> str:
    chosen = (value or default).strip().lower()
    if chosen not in allowed:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return chosen


def _non_negative(name: str, value: float) -> float:
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {value!r}")
    return value


# ASCII digits only: str.isdigit() and int() also take '²', '٨' or fullwidth digits.
_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _whole_number(text: str) -> int | None:
    """``text`` (surrounding spaces allowed) as a non-negative int, or None unless it is ASCII digits."""
    text = text.strip()
    return int(text) if _WHOLE.fullmatch(text) else None


def _number(name: str, raw: str) -> float:
    """A finite decimal number in ASCII (``0.5``, ``15``, ``1e-3``), or a SettingsError naming ``name``."""
    if not _DECIMAL.fullmatch(raw.strip()):
        raise SettingsError(f"{name} must be a number, got {raw!r}")
    return float(raw)


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def _size(name: str, value: str | None, default: int) -> int:
    """A size in bytes, with Docker's optional unit suffix (``10m``, ``512k``, ``1g``)."""
    if value is None or value.strip() == "":
        return default
    raw = value.strip().lower()
    number, unit = (raw[:-1], raw[-1]) if raw[-1] in "bkmg" else (raw, "")
    count = _whole_number(number)
    if count is None or count < 1 or number != number.strip():
        raise SettingsError(f"{name} must be a positive size in bytes, optionally with k, m or g, got {value!r}")
    return count * _SIZE_UNITS[unit]


def _count(name: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    count = _whole_number(value)
    if count is None or count < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, got {value!r}")
    return count


@dataclass(frozen=True)
class Settings:
    """Resolved configuration; build it with :meth:`from_env` (or pass values directly in tests)."""

    home: Path = field(default_factory=lambda: Path.home() / ".fake-azure")
    target: str = "emulator"
    runtime: str = "process"
    progress: str = "immediate"
    poll_interval: float = 0.02
    host: str = "127.0.0.1"
    port: int = 0
    autostart: bool = True
    strict_workspaces: bool = False
    default_location: str = "eastus"
    startup_timeout: float = 15.0
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
    # Test support (the pytest plugin): requires_docker tests fail instead of skipping without an
    # engine; the config.json that tests marked `azure` use instead of searching for one.
    require_docker: bool = False
    workspace_config: Path | None = None
    # A replica's log is capped like Docker's json-file driver: max-size per file, max-file files.
    replica_log_max_bytes: int = 10 * 1024 * 1024
    replica_log_max_files: int = 3

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        home = env.get("FAKE_AZURE_HOME")
        raw_port = env.get("FAKE_AZURE_PORT") or "0"
        port = _whole_number(raw_port)
        if port is None or not 0 <= port <= 65535:
            raise SettingsError(f"FAKE_AZURE_PORT must be a port number from 0 to 65535, got {raw_port!r}")
        numbers: dict[str, float] = {}
        for name, default in (("FAKE_AZURE_POLL_INTERVAL", "0.02"), ("FAKE_AZURE_STARTUP_TIMEOUT", "15"),
                              ("FAKE_AZURE_AUTOSCALE_DOWN_DELAY", "60"), ("FAKE_AZURE_PROBE_DELAY_SCALE", "0")):
            numbers[name] = _number(name, env.get(name) or default)
        raw_max_body = (env.get("FAKE_AZURE_MAX_BODY_BYTES") or str(8 * 1024 ** 3)).strip()
        max_body = _whole_number(raw_max_body)
        if max_body is None or max_body < 1:
            raise SettingsError(f"FAKE_AZURE_MAX_BODY_BYTES must be a positive number of bytes, got {raw_max_body!r}")
        progress = env.get("FAKE_AZURE_PROGRESS") or "immediate"
        from emulator.progress import ProgressPolicy, ProgressPolicyError

        try:  # validated here so a typo fails at start, not in the middle of a run
            ProgressPolicy.parse(progress)
        except ProgressPolicyError as exc:
            raise SettingsError(f"FAKE_AZURE_PROGRESS: {exc}") from None
        return cls(
            home=Path(home).expanduser().resolve() if home else Path.home() / ".fake-azure",
            target=_choice("FAKE_AZURE_TARGET", env.get("FAKE_AZURE_TARGET"), TARGETS, "emulator"),
            runtime=_choice("FAKE_AZURE_RUNTIME", env.get("FAKE_AZURE_RUNTIME"), RUNTIMES, "process"),
            progress=progress,
            poll_interval=numbers["FAKE_AZURE_POLL_INTERVAL"],
            host=env.get("FAKE_AZURE_BIND") or "127.0.0.1",
            port=port,
            autostart=_flag("FAKE_AZURE_AUTOSTART", env.get("FAKE_AZURE_AUTOSTART"), True),
            strict_workspaces=_flag("FAKE_AZURE_STRICT_WORKSPACES", env.get("FAKE_AZURE_STRICT_WORKSPACES"), False),
            default_location=env.get("FAKE_AZURE_LOCATION") or "eastus",
            startup_timeout=numbers["FAKE_AZURE_STARTUP_TIMEOUT"],
            gpu_policy=_choice("FAKE_AZURE_GPU_POLICY", env.get("FAKE_AZURE_GPU_POLICY"), GPU_POLICIES,
                               "cpu-fallback"),
            python_policy=_choice("FAKE_AZURE_PYTHON_POLICY", env.get("FAKE_AZURE_PYTHON_POLICY"), PYTHON_POLICIES,
                                  "nearest"),
            autoscale_down_delay=numbers["FAKE_AZURE_AUTOSCALE_DOWN_DELAY"],
            probe_delay_scale=_non_negative("FAKE_AZURE_PROBE_DELAY_SCALE", numbers["FAKE_AZURE_PROBE_DELAY_SCALE"]),
            max_body_bytes=max_body,
            # Built environments are shared by every home, like pip's cache: a fresh home (a test
            # session, a CI run) reuses what an earlier one built.
            env_cache=Path(env.get("FAKE_AZURE_ENV_CACHE") or Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                           / "fake-azure" / "envs").expanduser(),
            base_image=env.get("FAKE_AZURE_BASE_IMAGE") or "python:3.11-slim",
            reuse_interpreter=_flag("FAKE_AZURE_REUSE_INTERPRETER", env.get("FAKE_AZURE_REUSE_INTERPRETER"), True),
            docker_env=tuple(sorted((k, v) for k, v in env.items() if k.startswith("DOCKER_"))),
            docker_publish_address=env.get("FAKE_AZURE_DOCKER_PUBLISH_ADDRESS") or None,
            require_docker=_flag("FAKE_AZURE_REQUIRE_DOCKER", env.get("FAKE_AZURE_REQUIRE_DOCKER"), False),
            workspace_config=Path(env["FAKE_AZURE_WORKSPACE_CONFIG"]).expanduser()
            if env.get("FAKE_AZURE_WORKSPACE_CONFIG") else None,
            docker_pip=_choice("FAKE_AZURE_DOCKER_PIP", env.get("FAKE_AZURE_DOCKER_PIP"), DOCKER_PIP_STRATEGIES, "auto"),
            replica_log_max_bytes=_size("FAKE_AZURE_REPLICA_LOG_MAX_SIZE", env.get("FAKE_AZURE_REPLICA_LOG_MAX_SIZE"),
                                        10 * 1024 * 1024),
            replica_log_max_files=_count("FAKE_AZURE_REPLICA_LOG_MAX_FILES", env.get("FAKE_AZURE_REPLICA_LOG_MAX_FILES"),
                                         3),
        )

    @property
    def docker_host(self) -> str | None:
        return dict(self.docker_env).get("DOCKER_HOST") or None

    # Files under home, named once here so the daemon and the facade agree.
    @property
    def db_path(self) -> Path:
        return self.home / "state.db"

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def token_path(self) -> Path:
        return self.home / "token"

    @property
    def daemon_info_path(self) -> Path:
        return self.home / "daemon.json"

    @property
    def lock_path(self) -> Path:
        return self.home / "daemon.lock"

    @property
    def log_path(self) -> Path:
        return self.home / "daemon.log"

    @property
    def model_cache_dir(self) -> Path:
        return self.home / "model-cache"

