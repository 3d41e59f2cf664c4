"""The host's pip configuration, as a container build of an environment image can use it.

:func:`host_pip_config` reads what ``pip config list`` says (environment variables winning);
:class:`PipSettings` splits it into what a build reaches (HTTP(S) indexes, find-links URLs) and what
it cannot (``file://`` indexes, local directories) and writes the build's ``pip.conf`` with the files
it names (CA bundle, constraints) under ``/etc/fake-azure``; :func:`build_args` passes the proxy
variables. The strategies that use them are described in :mod:`emulator.runtimes.images`.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Mapping

from emulator.environments.builder import scrubbed_environ

_REMOTE = re.compile(r"^https?://", re.I)
CONF_DIR = "/etc/fake-azure"

_LIST_LINE = re.compile(r"^(?P<scope>[^.]*)\.(?P<key>[^=]+)=(?P<value>.*)$")
_KEYS = ("index-url", "extra-index-url", "find-links", "trusted-host", "cert", "constraint", "proxy",
         "no-index", "timeout", "default-timeout", "retries", "pre")


def host_pip_config(python: str = sys.executable) -> dict[str, str]:
    """The values of ``pip config list`` that matter for a build (environment variables winning)."""
    env = scrubbed_environ()
    try:
        out = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             env=env, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    files: dict[str, str] = {}
    environ: dict[str, str] = {}
    for line in out.splitlines():
        match = _LIST_LINE.match(line.strip())
        if not match:
            continue
        key = match.group("key").strip()
        value = match.group("value").strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key not in _KEYS:
            continue
        scope = match.group("scope")
        if scope == ":env:":
            environ[key] = value
        elif scope in ("global", "install") or key not in files:
            files[key] = value  # [install] beats [global]; other sections only fill gaps
    return {**files, **environ}


def _split(value: str | None) -> list[str]:
    return value.split() if value else []


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class PipSettings:
    """The host's pip configuration split into what a container build can and cannot reach."""

    def __init__(self, config: Mapping[str, str]) -> None:
        self.config = dict(config)
        self.no_index = _truthy(config.get("no-index"))
        # No index-url: pip's own default index, which the container's pip uses too when none is written.
        self.default_index = not config.get("index-url") and not self.no_index
        self.remote_indexes = [u for u in [config.get("index-url") or "", *_split(config.get("extra-index-url"))]
                               if u and _REMOTE.match(u)]
        self.remote_links = [u for u in _split(config.get("find-links")) if _REMOTE.match(u)]
        self.local_sources = [u for u in [config.get("index-url") or "", *_split(config.get("extra-index-url")),
                                          *_split(config.get("find-links"))] if u and not _REMOTE.match(u)]
        if self.no_index:
            self.remote_indexes = []

    @property
    def has_remote(self) -> bool:
        return bool(self.default_index or self.remote_indexes or self.remote_links)

    def strategy(self, requested: str) -> str:
        if requested == "auto":
            return "online" if self.has_remote else "wheelhouse"
        return requested

    def write_context(self, context: Path, strategy: str) -> None:
        """Write ``pip.conf`` and the files it points at (CA bundle, constraints) into ``context``."""
        files = context / "fake-azure"
        files.mkdir(exist_ok=True)
        lines = ["[global]", "disable-pip-version-check = true", "no-input = true", "progress-bar = off"]
        if strategy == "online":
            if self.default_index:
                if self.remote_indexes:
                    lines.append("extra-index-url = " + " ".join(self.remote_indexes))
            elif self.remote_indexes:
                lines.append(f"index-url = {self.remote_indexes[0]}")
                if self.remote_indexes[1:]:
                    lines.append("extra-index-url = " + " ".join(self.remote_indexes[1:]))
            else:
                lines.append("no-index = true")
            if self.remote_links:
                lines.append("find-links = " + " ".join(self.remote_links))
            for key in ("trusted-host", "proxy", "timeout", "default-timeout", "retries"):
                if self.config.get(key):
                    lines.append(f"{key} = {self.config[key]}")
        cert = self.config.get("cert")
        if cert and Path(cert).is_file():
            shutil.copyfile(cert, files / "pip-ca.pem")
            lines.append(f"cert = {CONF_DIR}/pip-ca.pem")
        constraints = []
        for i, path in enumerate(_split(self.config.get("constraint"))):
            if Path(path).is_file():
                shutil.copyfile(path, files / f"constraints-{i}.txt")
                constraints.append(f"{CONF_DIR}/constraints-{i}.txt")
        if constraints:
            lines.append("constraint = " + " ".join(constraints))
        (context / "pip.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_args() -> dict[str, str]:
    """Proxy variables for the build (Docker's predefined build args: not persisted in the image)."""
    args = {}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        for variant in (name, name.lower()):
            if os.environ.get(variant):
                args[variant] = os.environ[variant]
    return args
