"""Build (once) and cache a venv per :class:`BuildSpec` digest.

Layout under ``cache_dir``::

    <digest>/            the venv; usable only once <digest>/.complete exists
    <digest>.log         the last build's full log (pip output included)
    <digest>.lock        flock'd while building, so concurrent deployments build a digest once

The venv is built in place (not in a temporary directory renamed afterwards): pip writes absolute
shebangs into console scripts such as ``bin/azmlinfsrv``, which a rename would break. The
``.complete`` marker, written last under the lock, is what makes a venv visible; a directory
without it is the remains of an interrupted build and is removed before rebuilding.

pip runs with the daemon's environment (``PIP_*`` variables kept) and reads the same pip
configuration files, so indexes, find-links, certificates and constraints are the host's; no index
option is ever passed.
"""
from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from emulator.environments.errors import BuildFailed, SpecError
from emulator.environments.interpreters import find_interpreter
from emulator.environments.satisfies import interpreter_satisfies
from emulator.environments.spec import BuildSpec

COMPLETE_MARKER = ".complete"
_SUMMARY_MAX_LINES = 20
# Variables that would make pip or the new interpreter look at another environment.
_SCRUBBED_ENV = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "__PYVENV_LAUNCHER__",
                 "CONDA_PREFIX", "CONDA_DEFAULT_ENV")

LogFn = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class PreparedEnvironment:
    """An interpreter ready to run replicas of a spec.

    ``reused`` is True when nothing was built (the host interpreter, or a cached venv);
    ``venv`` is None and ``log_path`` is None when the host interpreter is used.
    """

    python: str
    digest: str
    reused: bool
    log_path: Path | None
    venv: Path | None = None

    @property
    def bin_dir(self) -> Path:
        """Directory of the interpreter's scripts (``azmlinfsrv`` lives there)."""
        return Path(self.python).parent


class EnvironmentBuilder:
    """Prepare interpreters for build specs: the host's own (if allowed and sufficient) or a cached venv."""

    def __init__(self, cache_dir: Path, reuse_host: bool, host_python: str = sys.executable, *,
                 timeout_s: float = 1800.0) -> None:
        self.cache_dir = Path(cache_dir)
        self.reuse_host = reuse_host
        self.host_python = host_python
        self.timeout_s = timeout_s
        self._host_satisfied: set[str] = set()

    # --- paths ---------------------------------------------------------------------------------------

    def venv_dir(self, digest: str) -> Path:
        return self.cache_dir / digest

    def log_path(self, digest: str) -> Path:
        return self.cache_dir / f"{digest}.log"

    def is_built(self, digest: str) -> bool:
        return (self.venv_dir(digest) / COMPLETE_MARKER).exists()

    # --- preparing -----------------------------------------------------------------------------------

    def prepare(self, spec: BuildSpec, log: LogFn | None = None) -> PreparedEnvironment:
        """Return an interpreter for ``spec``, building its venv if needed.

        Raises :class:`SpecError` when no interpreter of ``spec.python`` exists and
        :class:`BuildFailed` (pip's error lines, ``log_path`` with the full log) when pip fails.
        """
        emit = log or (lambda line: None)
        digest = spec.digest
        for warning in spec.warnings:  # a cached or reused interpreter is a substitute all the same
            emit(f"WARNING: {warning}")
        if self.reuse_host and self._host_satisfies(spec):
            emit(f"Environment {digest}: using the daemon's interpreter {self.host_python} "
                 f"(it already satisfies the environment)")
            return PreparedEnvironment(self.host_python, digest, True, None, None)
        if self.is_built(digest):
            return self._cached(digest, emit)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cache_dir / f"{digest}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if self.is_built(digest):  # another deployment built it while we waited
                    return self._cached(digest, emit)
                return self._build(spec, emit)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _host_satisfies(self, spec: BuildSpec) -> bool:
        # Asking the interpreter costs a subprocess; a yes is remembered (packages are rarely
        # uninstalled under a running daemon), a no is asked again (one may have been installed).
        if spec.digest in self._host_satisfied:
            return True
        if interpreter_satisfies(self.host_python, spec):
            self._host_satisfied.add(spec.digest)
            return True
        return False

    def _cached(self, digest: str, emit: LogFn) -> PreparedEnvironment:
        venv = self.venv_dir(digest)
        emit(f"Environment {digest}: using the cached environment {venv}")
        return PreparedEnvironment(str(venv / "bin" / "python"), digest, True, self.log_path(digest), venv)

    def _build(self, spec: BuildSpec, emit: LogFn) -> PreparedEnvironment:
        digest = spec.digest
        venv = self.venv_dir(digest)
        log_path = self.log_path(digest)
        base_python = find_interpreter(spec.python, self.host_python)
        if base_python is None:
            raise SpecError(f"python={spec.python}: no Python {spec.python} interpreter on this machine "
                            f"(looked for python{spec.python} on PATH and in ~/.pyenv/versions)")
        if venv.exists():
            shutil.rmtree(venv)  # an interrupted build
        env = scrubbed_environ()
        started = time.monotonic()
        with open(log_path, "w", encoding="utf-8") as log_file:
            def out(line: str) -> None:
                log_file.write(line + "\n")
                log_file.flush()
                emit(line)

            out(f"Building environment {digest}: Python {spec.python} ({base_python})")
            out("Requirements: " + " ".join(spec.requirements))
            for note in spec.notes:
                out(f"Note: {note}")
            if spec.binary_only:
                out("Note: conda installs only built packages: " + ", ".join(spec.binary_only)
                    + " (from the conda file) are installed from wheels only, never built from source")
            steps = [
                [base_python, "-m", "venv", str(venv)],
                [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                 "--no-input", "--progress-bar", "off", *spec.pip_options, *spec.requirements],
            ]
            for command in steps:
                out("$ " + " ".join(command))
                returncode, lines = self._run(command, env, out)
                if returncode != 0:
                    out(f"Build failed (exit status {returncode}) after {time.monotonic() - started:.1f}s")
                    shutil.rmtree(venv, ignore_errors=True)
                    raise BuildFailed(build_failure_summary(spec, lines, returncode), log_path)
            (venv / COMPLETE_MARKER).write_text(f"{digest}\n", encoding="utf-8")
            out(f"Environment {digest} built in {time.monotonic() - started:.1f}s")
        return PreparedEnvironment(str(venv / "bin" / "python"), digest, False, log_path, venv)

    def _run(self, command: list[str], env: dict[str, str], out: LogFn) -> tuple[int, list[str]]:
        return run_logged(command, env, out, cwd=self.cache_dir, timeout_s=self.timeout_s)


def scrubbed_environ() -> dict[str, str]:
    """Our environment without what would make pip or a new interpreter look at another environment."""
    return {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}


def run_logged(command: list[str], env: dict[str, str], out: LogFn, cwd: Path | None,
               timeout_s: float) -> tuple[int, list[str]]:
    """Run ``command``, each output line to ``out``; killed after ``timeout_s``. (exit status, lines)."""
    lines: list[str] = []
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, cwd=str(cwd) if cwd else None,
                                   text=True, errors="replace", bufsize=1)
    except OSError as exc:
        out(f"cannot run {command[0]}: {exc}")
        return 127, [f"ERROR: cannot run {command[0]}: {exc}"]
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(timeout_s, kill)
    timer.daemon = True
    timer.start()
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            out(line)
        returncode = process.wait()
    finally:
        timer.cancel()
    if timed_out.is_set():
        message = f"ERROR: the build took longer than {timeout_s:.0f}s and was stopped"
        out(message)
        lines.append(message)
    return returncode, lines


def build_failure_summary(spec: BuildSpec, lines: Iterable[str], returncode: int) -> str:
    """pip's error lines, then what was substituted (it may be why: a Python or package not asked for)."""
    summary = summarise_pip_error(lines, returncode)
    if spec.binary_only:
        summary += ("\nNote: conda file entries (" + ", ".join(spec.binary_only) + ") are installed from "
                    "wheels only, as conda installs only built packages")
    return "\n".join([summary, *(f"WARNING: {warning}" for warning in spec.warnings)])


def summarise_pip_error(lines: Iterable[str], returncode: int = 1) -> str:
    """pip's essential error lines (``ERROR: ...`` and the ``×``/``╰─>`` headline of build errors)."""
    lines = list(lines)
    picked: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("ERROR:", "error:", "×", "╰─>")) or stripped.startswith("Error:"):
            if stripped not in picked:
                picked.append(stripped)
    if not picked:
        picked = [line.strip() for line in lines if line.strip()][-10:]
    if not picked:
        picked = [f"the build exited with status {returncode} and no output"]
    if len(picked) > _SUMMARY_MAX_LINES:
        picked = picked[:_SUMMARY_MAX_LINES] + ["(more in the full log)"]
    return "\n".join(picked)
