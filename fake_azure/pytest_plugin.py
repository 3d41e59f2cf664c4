"""pytest plugin for fake-azure, registered through the ``pytest11`` entry point (active once installed).

Fixtures:
  azureml_emulator  (session)  the local cloud: one daemon in a temporary FAKE_AZURE_HOME per session
                               (per xdist worker), stopped at the end; ``.url``, ``.home``, ``.runtime``,
                               ``reset()``, ``set_progress(policy)`` (context manager), ``get_progress()``,
                               ``runtime_info()``, ``admin(method, path)``.
  aml_workspace     (function) a fresh workspace with the import hook active for the test
                               (``from azureml.core import ...`` is the emulator); everything the test
                               created in it is deleted at teardown. With ``--fake-azure-target=azure``
                               it is ``Workspace.from_config()`` of the real SDK (not for ``emulator_only`` tests).
  aml_cluster, aml_model, aml_service  factories returning SDK objects, cleaned up at teardown.
  ml_client         (function) the SDK v2 client (azure-ai-ml) for aml_workspace's workspace:
                               ``MLClient(DefaultAzureCredential(), ...)`` pointed at the emulator by
                               activation; with target azure, ``MLClient.from_config(DefaultAzureCredential())``.
  online_endpoint_factory, online_deployment_factory  SDK v2 factories through ml_client (managed or
                               Kubernetes online endpoints and deployments, waited for), deleted at teardown;
                               target azure too.
Markers: requires_docker, requires_gpu (skipped visibly when absent), azure, emulator_only.
Options: --fake-azure-runtime=process|docker|auto, --fake-azure-target=emulator|azure.

Nothing here starts a daemon or imports the emulator unless a test asks for one of these fixtures.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from ._v2_factories import OnlineDeploymentFactory, OnlineEndpointFactory

TARGETS = ("emulator", "azure")
RUNTIMES = ("process", "docker", "auto")

MARKERS = (
    "requires_docker: needs a reachable Docker engine (fake-azure skips it visibly without one; "
    "FAKE_AZURE_REQUIRE_DOCKER=1 makes that a failure)",
    "requires_gpu: needs an NVIDIA GPU (fake-azure skips it visibly without one)",
    "azure: runs against the fake-azure emulator, or against real Azure with FAKE_AZURE_TARGET=azure / "
    "--fake-azure-target=azure (aml_workspace is then Workspace.from_config()); documents that the test "
    "is meant for both targets",
    "emulator_only: stays on the emulator even with target azure (for tests of emulator-only features "
    "such as fault injection or progress policies)",
)

_probe_key = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fake-azure", "fake-azure (Azure ML SDK v1 emulator)")
    group.addoption("--fake-azure-runtime", choices=RUNTIMES, default=None,
                    help="replica runtime of the session's local cloud (default: FAKE_AZURE_RUNTIME or process)")
    group.addoption("--fake-azure-target", choices=TARGETS, default=None,
                    help="where tests that use the fixtures run (all but those marked `emulator_only`): "
                         "the emulator or real Azure (default: FAKE_AZURE_TARGET or emulator)")


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    config.stash[_probe_key] = {}


def _settings() -> Any:
    """The settings of the daemon this plugin starts (its runtime, its Docker engine); a bad value is a
    usage error."""
    from emulator.settings import DaemonSettings
    from fake_azure.settings import SettingsError

    try:
        return DaemonSettings.from_env()
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None


def _target(config: pytest.Config) -> str:
    # The command-line option wins over FAKE_AZURE_TARGET (argparse has checked its choices).
    return config.getoption("fake_azure_target", None) or _settings().target


def _runtime(config: pytest.Config) -> str:
    return config.getoption("fake_azure_runtime", None) or _settings().runtime


def pytest_report_header(config: pytest.Config) -> "str | None":
    if config.getoption("fake_azure_target", None) or config.getoption("fake_azure_runtime", None):
        return f"fake-azure: target {_target(config)} (tests marked azure), runtime {_runtime(config)}"
    return None


# --- requires_docker / requires_gpu -----------------------------------------------------------
# requires_docker: skipped (visibly, with the reason) when no Docker engine answers at DOCKER_HOST;
# FAILED instead when FAKE_AZURE_REQUIRE_DOCKER=1 (CI sets it after starting an engine).
# requires_gpu: skipped when `nvidia-smi -L` lists no GPU. Probes run at most once per session
# (per xdist worker), and only when a test carries the marker.

def _docker_unavailable_reason(cache: dict) -> "str | None":
    """None when a Docker engine answers a ping, else why not."""
    if "docker" not in cache:
        where = _settings().docker_host or "the default socket (DOCKER_HOST unset)"
        reason: str | None
        try:
            import docker  # lazily: the docker SDK is optional
        except ImportError:
            reason = "the docker Python SDK is not installed (pip install docker)"
        else:
            try:
                client = docker.from_env(timeout=10)
                try:
                    client.ping()
                finally:
                    client.close()
                reason = None
            except Exception as exc:  # any failure means "no engine"
                reason = f"no Docker engine answers at {where}: {type(exc).__name__}: {exc}"
        cache["docker"] = reason
    return cache["docker"]


def _gpu_unavailable_reason(cache: dict) -> "str | None":
    if "gpu" not in cache:
        import shutil
        import subprocess

        reason = None
        if shutil.which("nvidia-smi") is None:
            reason = "no NVIDIA GPU: nvidia-smi not found"
        else:
            try:
                out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
                if out.returncode != 0 or "GPU" not in out.stdout:
                    reason = f"no NVIDIA GPU: `nvidia-smi -L` lists none (rc={out.returncode})"
            except (OSError, subprocess.SubprocessError) as exc:
                reason = f"no NVIDIA GPU: `nvidia-smi -L` failed: {exc}"
        cache["gpu"] = reason
    return cache["gpu"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    cache = item.config.stash.setdefault(_probe_key, {})
    if item.get_closest_marker("requires_docker") is not None:
        reason = _docker_unavailable_reason(cache)
        if reason is not None:
            if _settings().require_docker:
                pytest.fail(f"FAKE_AZURE_REQUIRE_DOCKER=1 but {reason}. Start a Docker engine and export the "
                            "DOCKER_HOST it listens on (see fake-azure's docs/docker.md).", pytrace=False)
            pytest.skip(f"requires_docker: {reason}")
    if item.get_closest_marker("requires_gpu") is not None:
        reason = _gpu_unavailable_reason(cache)
        if reason is not None:
            pytest.skip(f"requires_gpu: {reason}")


# --- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def azureml_emulator(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session's local cloud (one per xdist worker), stopped at the end of the session."""
    from fake_azure import _pytest_support as support

    runtime = _runtime(request.config)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")

    def log(line: str) -> None:
        if reporter is not None:
            reporter.write_line(line)

    support.reap_stale_daemons(tmp_path_factory.getbasetemp(), log=log)
    home = tmp_path_factory.mktemp(support.HOME_PREFIX)
    patch = pytest.MonkeyPatch()
    patch.setenv("FAKE_AZURE_HOME", str(home))
    patch.setenv("FAKE_AZURE_RUNTIME", runtime)
    patch.delenv("FAKE_AZURE_TARGET", raising=False)
    patch.delenv("FAKE_AZURE_PROGRESS", raising=False)
    emulator = None
    try:
        emulator = support.start_emulator(home, runtime)
        yield emulator
    finally:
        if emulator is not None:
            support.stop_emulator(emulator)
        patch.undo()


def _test_target(request: pytest.FixtureRequest) -> str:
    # The target switch moves every test that uses the fixtures, as a user who sets it expects;
    # tests that need emulator-only features (faults, progress policies) opt out with emulator_only.
    if request.node.get_closest_marker("emulator_only") is not None:
        return "emulator"
    return _target(request.config)


@pytest.fixture
def _fake_azure_workspace(request: pytest.FixtureRequest) -> Iterator[Any]:
    """(workspace, resources) of the test; see aml_workspace."""
    from fake_azure import _pytest_support as support

    target = _test_target(request)
    patch = pytest.MonkeyPatch()
    activated = False
    resources = None
    everything = target == "emulator"
    try:
        if target == "azure":
            patch.setenv("FAKE_AZURE_TARGET", "azure")
            workspace = support.real_workspace(Path.cwd())
            resources = support.WorkspaceResources(workspace, "azureml.core")
            resources.before = resources.snapshot()
        else:
            emulator = request.getfixturevalue("azureml_emulator")
            patch.setenv("FAKE_AZURE_TARGET", "emulator")
            import fake_azure

            fake_azure.activate()
            activated = True
            workspace = emulator.workspace()
            resources = support.WorkspaceResources(workspace, "fake_azure.core")
        yield resources
    finally:
        errors: list[str] = []
        try:
            if resources is not None:
                if everything:
                    # The test's own workspace on the emulator: deleting it stops its services'
                    # replicas and removes its models and clusters in one call.
                    try:
                        resources.workspace.delete()
                    except Exception as exc:  # any failure is reported below
                        errors.append(f"deleting workspace {resources.workspace.name}: {exc}")
                else:
                    errors = resources.cleanup(everything=False)
        finally:
            if activated:
                import fake_azure

                fake_azure.deactivate()
            patch.undo()
        if errors and resources is not None:  # errors come only from cleaning resources up
            pytest.fail("fake-azure: clean-up of workspace {} failed:\n  {}".format(
                resources.workspace.name, "\n  ".join(errors)), pytrace=False)


@pytest.fixture
def aml_workspace(_fake_azure_workspace: Any) -> Any:
    """A fresh workspace (unique name) with ``azureml.core`` resolving to the emulator for the test.

    With ``--fake-azure-target=azure`` (or FAKE_AZURE_TARGET=azure), tests marked ``azure`` get the real
    SDK's ``Workspace.from_config()`` instead (non-interactive credentials only). Either way, what the
    test created in the workspace (services, clusters, models) is deleted at teardown, also on failure.
    """
    return _fake_azure_workspace.workspace


def _factories(resources: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from fake_azure import _pytest_support as support

    made: list[Path] = []

    def tmp_dir() -> Path:
        if not made:
            made.append(tmp_path_factory.mktemp("fake-azure-files"))
        return made[0]

    return support.Factories(resources, tmp_dir)


@pytest.fixture
def _fake_azure_factories(_fake_azure_workspace: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _factories(_fake_azure_workspace, tmp_path_factory)


@pytest.fixture
def aml_cluster(_fake_azure_factories: Any) -> Callable[..., Any]:
    """``aml_cluster(name=None, vm_size="Standard_D3_v2", agent_count=None, cluster_purpose=None, wait=True)``:
    an AKS cluster in ``aml_workspace``, provisioned (waited for), deleted at teardown."""
    return _fake_azure_factories.cluster


@pytest.fixture
def aml_model(_fake_azure_factories: Any) -> Callable[..., Any]:
    """``aml_model(path=None, name=None, **register_kwargs)``: a registered Model, deleted at teardown."""
    return _fake_azure_factories.model


@pytest.fixture
def aml_service(_fake_azure_factories: Any) -> Callable[..., Any]:
    """``aml_service(entry_script, *, name=None, models=None, source_directory=None, conda_file=None,
    environment=None, inference_config=None, deployment_config=None, compute=None, enable_gpu=None,
    wait=True)``: deploys and (by default) waits until Healthy; deleted (blocking) at teardown.

    Defaults: a placeholder model, an environment for this interpreter's Python with azureml-defaults,
    one replica (0.1 CPU, 0.5 GB) without autoscaling, on a CPU AKS cluster made for the test."""
    return _fake_azure_factories.service


@pytest.fixture
def ml_client(_fake_azure_workspace: Any) -> Any:
    """An ``azure.ai.ml.MLClient`` for the test's workspace (the one ``aml_workspace`` gives), made as user
    code makes it, with ``DefaultAzureCredential()``: on the emulator, activation points it at the local
    cloud (the workspace and everything in it, v2 assets included, is deleted at teardown); with
    ``--fake-azure-target=azure``, ``MLClient.from_config()`` against real Azure."""
    try:
        from azure.ai.ml import MLClient
        from azure.identity import DefaultAzureCredential
    except ImportError:
        pytest.skip("ml_client needs azure-ai-ml: pip install 'fake-azure[v2]'")
    workspace = _fake_azure_workspace.workspace
    if _fake_azure_workspace.sdk == "azureml.core":  # real Azure
        return MLClient.from_config(DefaultAzureCredential())
    return MLClient(DefaultAzureCredential(), workspace.subscription_id, workspace.resource_group, workspace.name)


def _fail_on_cleanup_errors(errors: list[str]) -> None:
    if errors:
        pytest.fail("fake-azure: clean-up failed:\n  " + "\n  ".join(errors), pytrace=False)



@pytest.fixture
def online_endpoint_factory(ml_client: Any) -> Iterator[OnlineEndpointFactory]:
    """``online_endpoint_factory(name=None, *, auth_mode="key", compute=None, **endpoint_settings)``: a managed
    online endpoint (a Kubernetes one on the attached compute ``compute``) made through ``ml_client`` (a fresh name
    by default); each one is deleted at teardown (also when the test failed), with the real client, so this works
    with target azure as well."""
    factory = OnlineEndpointFactory(ml_client)
    yield factory
    _fail_on_cleanup_errors(factory.cleanup())


@pytest.fixture
def online_deployment_factory(ml_client: Any, online_endpoint_factory: OnlineEndpointFactory,
                              tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnlineDeploymentFactory]:
    """``online_deployment_factory(endpoint, scoring_script="score.py", *, name=None, code=None, model=None,
    environment=None, conda_file=None, instance_type=None, instance_count=1, traffic=None,
    **deployment_settings)``: a managed online deployment (``instance_type`` Standard_DS3_v2 by default), or a
    Kubernetes one under a Kubernetes endpoint (its compute's default instance type unless named), waited for until
    Succeeded; ``traffic=100`` routes all of the endpoint's traffic to it. Deleted at teardown, its traffic set to 0
    first.

    Defaults: only the scoring script uploaded (``code=`` names a folder, the script then relative to it), a
    placeholder model folder (``model=`` takes a path, a ``Model`` or an ``azureml:`` reference), an environment
    from a conda file for this interpreter's Python with the scoring server on the Azure ML Ubuntu image."""
    # online_endpoint_factory is requested only so that pytest tears the deployments down before the endpoints.
    def tmp_dir() -> Path:
        return tmp_path_factory.mktemp("fake-azure-v2")

    factory = OnlineDeploymentFactory(ml_client, tmp_dir)
    yield factory
    _fail_on_cleanup_errors(factory.cleanup())
