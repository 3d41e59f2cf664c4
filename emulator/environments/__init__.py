"""Environments: resolve an Azure ML environment to a build spec and prepare a cached venv for it.

Public API::

    resolve_spec(build_spec_dict, host_python_version=None, *, python_policy="nearest") -> BuildSpec
    EnvironmentBuilder(cache_dir, reuse_host, host_python=sys.executable).prepare(spec, log) -> PreparedEnvironment
    interpreter_satisfies(python_exe, spec) -> bool
    EnvironmentBuildError > SpecError, BuildFailed(summary, log_path)
"""
from emulator.environments.builder import EnvironmentBuilder, PreparedEnvironment, summarise_pip_error
from emulator.environments.errors import BuildFailed, EnvironmentBuildError, SpecError
from emulator.environments.interpreters import available_versions, find_interpreter
from emulator.environments.satisfies import interpreter_satisfies, unsatisfied_requirements
from emulator.environments.spec import BuildSpec, resolve_spec

__all__ = [
    "BuildFailed", "BuildSpec", "EnvironmentBuildError", "EnvironmentBuilder", "PreparedEnvironment",
    "SpecError", "available_versions", "find_interpreter", "interpreter_satisfies", "resolve_spec",
    "summarise_pip_error", "unsatisfied_requirements",
]
