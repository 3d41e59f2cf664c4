"""From a service's environment to the interpreter its replicas run: resolve, build or reuse."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..environments.builder import EnvironmentBuilder
from ..environments.errors import BuildFailed, SpecError
from ..environments.spec import resolve_spec
from .engine import DeployFailed


class PythonPreparer:
    """Callable the deploy engine uses: (environment image request, log) -> python path."""

    def __init__(self, cache_dir: Path, reuse_host: bool) -> None:
        self._builder = EnvironmentBuilder(cache_dir, reuse_host)

    def __call__(self, request: dict[str, Any], log: Callable[[str], None]) -> str:
        try:
            spec = resolve_spec(request.get("environment") or {})
            return self._builder.prepare(spec, log).python
        except SpecError as exc:
            raise DeployFailed(_build_error(exc.message), sub_operation="BuildEnvironment") from exc
        except BuildFailed as exc:
            raise DeployFailed(_build_error(exc.message), sub_operation="BuildEnvironment") from exc


def _build_error(message: str) -> dict[str, Any]:
    return {"code": "EnvironmentBuildFailed", "statusCode": 400,
            "message": f"Failed to build the environment for the service:\n{message}"}
