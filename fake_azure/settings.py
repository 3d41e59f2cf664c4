"""The settings shared by the facade and the daemon, and the parsers every FAKE_AZURE_* knob goes through.

With :mod:`emulator.settings` (the daemon's own knobs: ``DaemonSettings``, a ``Settings`` with more
fields) this is the one reader of the environment. The facade never needs a daemon knob; the daemon
reads them when it starts."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, TypeVar

TARGETS = ("emulator", "azure")


class SettingsError(ValueError):
    """A FAKE_AZURE_* variable holds a value we cannot use."""


def flag(name: str, value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def choice(name: str, value: str | None, allowed: tuple[str, ...], default: str) -> str:
    chosen = (value or default).strip().lower()
    if chosen not in allowed:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return chosen


def non_negative(name: str, value: float) -> float:
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {value!r}")
    return value


# ASCII digits only: str.isdigit() and int() also take '²', '٨' or fullwidth digits.
_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def whole_number(text: str) -> int | None:
    """``text`` (surrounding spaces allowed) as a non-negative int, or None unless it is ASCII digits."""
    text = text.strip()
    return int(text) if _WHOLE.fullmatch(text) else None


def number(name: str, raw: str) -> float:
    """A finite decimal number in ASCII (``0.5``, ``15``, ``1e-3``), or a SettingsError naming ``name``."""
    if not _DECIMAL.fullmatch(raw.strip()):
        raise SettingsError(f"{name} must be a number, got {raw!r}")
    return float(raw)


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def size(name: str, value: str | None, default: int) -> int:
    """A size in bytes, with Docker's optional unit suffix (``10m``, ``512k``, ``1g``)."""
    if value is None or value.strip() == "":
        return default
    raw = value.strip().lower()
    number, unit = (raw[:-1], raw[-1]) if raw[-1] in "bkmg" else (raw, "")
    count = whole_number(number)
    if count is None or count < 1 or number != number.strip():
        raise SettingsError(f"{name} must be a positive size in bytes, optionally with k, m or g, got {value!r}")
    return count * _SIZE_UNITS[unit]


def count(name: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    count = whole_number(value)
    if count is None or count < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, got {value!r}")
    return count


_S = TypeVar("_S", bound="Settings")


@dataclass(frozen=True)
class Settings:
    """What the facade and the daemon both read; build it with :meth:`from_env` (or pass values in tests)."""

    home: Path = field(default_factory=lambda: Path.home() / ".fake-azure")
    target: str = "emulator"
    poll_interval: float = 0.02
    host: str = "127.0.0.1"
    autostart: bool = True
    strict_workspaces: bool = False
    default_location: str = "eastus"
    startup_timeout: float = 15.0
    # Test support (the pytest plugin): requires_docker tests fail instead of skipping without an
    # engine; the config.json that tests marked `azure` use instead of searching for one.
    require_docker: bool = False
    workspace_config: Path | None = None

    @classmethod
    def from_env(cls: type[_S], environ: Mapping[str, str] | None = None) -> _S:
        env = os.environ if environ is None else environ
        return cls(**shared_values(env), **cls.own_values(env))

    @classmethod
    def own_values(cls, env: Mapping[str, str]) -> dict[str, Any]:
        """The values of a subclass's own fields (``DaemonSettings``: the daemon's knobs)."""
        return {}

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


def shared_values(env: Mapping[str, str]) -> dict[str, Any]:
    """The shared fields of :class:`Settings`, read from ``env``."""
    home = env.get("FAKE_AZURE_HOME")
    return dict(
        home=Path(home).expanduser().resolve() if home else Path.home() / ".fake-azure",
        target=choice("FAKE_AZURE_TARGET", env.get("FAKE_AZURE_TARGET"), TARGETS, "emulator"),
        poll_interval=number("FAKE_AZURE_POLL_INTERVAL", env.get("FAKE_AZURE_POLL_INTERVAL") or "0.02"),
        host=env.get("FAKE_AZURE_BIND") or "127.0.0.1",
        autostart=flag("FAKE_AZURE_AUTOSTART", env.get("FAKE_AZURE_AUTOSTART"), True),
        strict_workspaces=flag("FAKE_AZURE_STRICT_WORKSPACES", env.get("FAKE_AZURE_STRICT_WORKSPACES"), False),
        default_location=env.get("FAKE_AZURE_LOCATION") or "eastus",
        startup_timeout=number("FAKE_AZURE_STARTUP_TIMEOUT", env.get("FAKE_AZURE_STARTUP_TIMEOUT") or "15"),
        require_docker=flag("FAKE_AZURE_REQUIRE_DOCKER", env.get("FAKE_AZURE_REQUIRE_DOCKER"), False),
        workspace_config=Path(env["FAKE_AZURE_WORKSPACE_CONFIG"]).expanduser()
        if env.get("FAKE_AZURE_WORKSPACE_CONFIG") else None,
    )
