"""The seams between the packages: the daemon (emulator/) imports no facade code and parses its own wire
format; the facade and its pytest support use the daemon's public helpers only."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the daemon may take from the fake_azure package: the shared settings and the release's version.
# The `fake-azure` command (emulator/cli.py) is a client of the daemon too: it uses the facade's client
# and, for `fake-azure run`, its trust bundle.
DAEMON_MAY_IMPORT = {"fake_azure": {"__version__"}, "fake_azure.settings": None}
CLI_MAY_IMPORT = {"fake_azure._client", "fake_azure.trust"}


def _imports(path: Path) -> list[tuple[str, str | None, int]]:
    """(module, name or None, line) of every import in ``path``, functions' bodies included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.module, alias.name, node.lineno) for alias in node.names]
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_the_daemon_imports_no_facade_code() -> None:
    wrong = []
    for path in _modules("emulator"):
        relative = path.relative_to(ROOT).as_posix()
        for module, name, line in _imports(path):
            if module != "fake_azure" and not module.startswith("fake_azure."):
                continue
            if module in DAEMON_MAY_IMPORT and (DAEMON_MAY_IMPORT[module] is None or name in DAEMON_MAY_IMPORT[module]):
                continue
            if relative == "emulator/cli.py" and module in CLI_MAY_IMPORT:
                continue
            wrong.append(f"{relative}:{line} {module} {name or ''}".strip())
    assert wrong == []


@pytest.mark.parametrize("package", ["fake_azure", "scoring"])
def test_other_packages_use_the_daemons_public_helpers_only(package: str) -> None:
    wrong = []
    for path in _modules(package):
        for module, name, line in _imports(path):
            if module.split(".")[0] != "emulator":
                continue
            private = [part for part in module.split(".")[1:] + [name or ""] if part.startswith("_")]
            if private:
                wrong.append(f"{path.relative_to(ROOT).as_posix()}:{line} {module} {name or ''}".strip())
    assert wrong == []


def test_the_import_scan_sees_function_level_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from emulator.daemon import _pid_alive as alive\n    import fake_azure.core\n")
    assert _imports(sample) == [("emulator.daemon", "_pid_alive", 2), ("fake_azure.core", None, 3)]


# --- the daemon reads the SDK's serialized Environment itself ------------------------------------------

def _facade_environments() -> list:
    from fake_azure.core.conda_dependencies import CondaDependencies
    from fake_azure.core.environment import Environment

    plain = Environment("plain")
    pinned = Environment("pinned")
    pinned.python.conda_dependencies = CondaDependencies.create(
        python_version="3.10.4", pip_packages=["requests==2.31.0", "  numpy>=1.26 ", "azureml-defaults"],
        conda_packages=["scikit-learn=1.3", "python-dateutil", "pip"])
    pinned.environment_variables = {"MODE": "fast", "N": "3"}
    options = Environment("options")
    deps = CondaDependencies()
    deps.add_pip_package("torch==2.2.0")
    deps.set_pip_option("--extra-index-url https://example.invalid/simple")
    deps.add_channel("conda-forge")
    deps.add_conda_package("https://example.invalid/python-3.9-0.whl")
    options.python.conda_dependencies = deps
    gpu_flag = Environment("gpu-flag")
    gpu_flag.docker.gpu_support = True
    cuda_image = Environment("cuda-image")
    cuda_image.docker.base_image = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04:latest"
    custom_image = Environment("custom-image")
    custom_image.docker.base_image = "myregistry.azurecr.io/scoring:1"
    no_conda = Environment("no-conda")
    no_conda.python.conda_dependencies = None
    user_managed = Environment("user-managed")
    user_managed.python.user_managed_dependencies = True
    return [plain, pinned, options, gpu_flag, cuda_image, custom_image, no_conda, user_managed]


def test_the_daemons_reading_of_an_environment_matches_the_facades() -> None:
    from emulator.environments import definition

    environments = _facade_environments()
    for environment in environments:
        wire = environment._serialize_to_dict()
        assert definition.is_definition(wire), environment.name
        assert definition.build_spec(wire) == environment._to_build_spec(), environment.name
    assert definition.build_spec(environments[1]._serialize_to_dict())["python_version"] == "3.10.4"


def test_a_comment_or_blank_pip_line_and_a_missing_docker_section_are_read_as_the_sdk_does() -> None:
    from emulator.environments import definition
    from fake_azure.core.environment import Environment

    wire = {"python": {"condaDependencies": {"dependencies": ["python=3.11", {"pip": ["# note", "", "flask"]},
                                                              "numpy=1.26"], "channels": ["defaults"]}},
            "environmentVariables": {"A": "1"}}
    assert definition.build_spec(wire) == Environment._deserialize_from_dict(wire)._to_build_spec()
    assert definition.build_spec({**wire, "docker": None}) == \
        Environment._deserialize_from_dict({**wire, "docker": None})._to_build_spec()


def test_a_build_summary_is_not_read_as_a_definition() -> None:
    from emulator.environments import definition

    assert not definition.is_definition({"python_version": "3.11", "pip": ["flask"]})
    assert not definition.is_definition({"python": "3.11"})


# --- api modules are routes only ------------------------------------------------------------------------

def _attributes(path: Path) -> set[str]:
    """Attribute names used in ``path`` (route decorators, ``blueprint.delete``, and ``actions.*`` left out)."""
    return {node.attr for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Attribute)
            and not (isinstance(node.value, ast.Name) and node.value.id in ("blueprint", "actions"))}


def test_the_services_routes_leave_orchestration_to_the_service_modules() -> None:
    """No transaction, operation or engine hand-off in services/api.py: resources/services/actions.py
    does each request's work (without Flask), the routes parse and answer."""
    services = ROOT / "emulator" / "resources" / "services"
    assert _attributes(services / "api.py") & {"transaction", "start", "deploy", "delete", "refresh_auth",
                                               "cancel_running", "advance_for_target"} == set()
    assert not [module for module, _, _ in _imports(services / "actions.py") if module.split(".")[0] == "flask"]
    assert {"transaction", "start", "deploy", "delete", "refresh_auth"} <= _attributes(services / "actions.py")
