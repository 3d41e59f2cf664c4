"""What the pytest plugin (``fake_azure.pytest_plugin``) needs at run time, kept out of the plugin module.

The plugin module is imported by every pytest session of every project that has fake-azure installed
(``pytest11`` entry point), so it imports nothing heavy; this module is imported only when a fixture
or marker of ours is actually used.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
import warnings
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator

HOME_PREFIX = "fake-azure-home"
OWNER_FILE = "pytest-owner.json"
DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-00000000f00d"
DEFAULT_RESOURCE_GROUP = "rg-pytest"


# --- the session's local cloud ------------------------------------------------------------------

class AzuremlEmulator:
    """The session's local cloud: one daemon in a temporary FAKE_AZURE_HOME (per xdist worker)."""

    def __init__(self, settings: Any, info: dict[str, Any]) -> None:
        self.settings = settings
        self.info = info
        self.home: Path = settings.home
        self.url: str = info["url"]
        self.runtime: str = info["runtime"]  # what the daemon runs (daemon.json always says)
        self.pid: int = int(info["pid"])

    def __repr__(self) -> str:
        return f"AzuremlEmulator(url={self.url!r}, home={str(self.home)!r}, runtime={self.runtime!r})"

    @property
    def client(self) -> Any:
        from ._client import CloudClient

        return CloudClient.connect(self.settings)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call to the test-only admin API, e.g. ``admin("GET", "/_emulator/runtime")``."""
        if not path.startswith("/"):
            path = "/_emulator/" + path
        return self.client.admin(method, path, **kwargs)

    def reset(self) -> None:
        """Forget every workspace, model, cluster and service (replicas are stopped first)."""
        self.admin("POST", "/_emulator/reset")

    def get_progress(self) -> str:
        """The progress policy in force: ``immediate``, ``polls:N`` or ``seconds:S``."""
        return self.admin("GET", "/_emulator/progress")["policy"]

    def set_progress(self, policy: str) -> "_ProgressChange":
        """Apply a progress policy now; used as a context manager, the previous one comes back on exit.

        ``with azureml_emulator.set_progress("polls:3"): ...`` makes every operation (provisioning,
        deployment, deletion) report ``Running`` for 3 polls before it finishes: no sleeping needed.
        """
        previous = self.get_progress()
        self.admin("PUT", "/_emulator/progress", json={"policy": policy})
        return _ProgressChange(self, previous)

    def runtime_info(self) -> dict[str, Any]:
        """The replica runtime in use and the built environments services use."""
        return self.admin("GET", "/_emulator/runtime")

    def workspace(self, name: str | None = None, subscription_id: str = DEFAULT_SUBSCRIPTION,
                  resource_group: str = DEFAULT_RESOURCE_GROUP) -> Any:
        """A facade Workspace in this cloud (created on first use); a unique name by default."""
        from .core import Workspace
        from .core.workspace import _arm_path

        if name is not None:
            return Workspace(subscription_id, resource_group, name)
        # A unique name cannot exist yet: one PUT, as Workspace.create does, without its GET/list first.
        names = (subscription_id, resource_group, unique_name("ws"))
        body = {"location": self.client.settings.default_location, "sku": "basic", "tags": {}}
        details = self.client.json("PUT", _arm_path(*names), "workspace", json=body)
        return Workspace._from_details(self.client, details, names=names)


class _ProgressChange:
    def __init__(self, emulator: AzuremlEmulator, previous: str) -> None:
        self._emulator = emulator
        self.previous = previous

    def __enter__(self) -> "_ProgressChange":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.restore()

    def restore(self) -> None:
        self._emulator.admin("PUT", "/_emulator/progress", json={"policy": self.previous})


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def start_emulator(home: Path, runtime: str) -> AzuremlEmulator:
    """Start a daemon for ``home`` (recording this process as its owner); the environment must point at it."""
    from emulator import daemon

    from .settings import Settings

    home.mkdir(parents=True, exist_ok=True)
    (home / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "started_at": time.time(),
                                               "argv": sys.argv[:8]}))
    settings = Settings.from_env()
    assert settings.home == home.resolve(), (settings.home, home)
    try:
        info, _ = daemon.ensure_running(settings)
    except daemon.DaemonError as exc:
        import pytest

        pytest.fail(f"fake-azure: could not start the local cloud (runtime {runtime}): {exc.message}",
                    pytrace=False)
    return AzuremlEmulator(settings, info)


def stop_emulator(emulator: AzuremlEmulator) -> None:
    from emulator import daemon

    daemon.stop(emulator.settings)


# --- the reaper ---------------------------------------------------------------------------------

def _pid_alive(pid: int) -> bool:
    from emulator.daemon import pid_alive

    return pid > 0 and pid_alive(pid)


def _is_daemon_process(pid: int) -> bool:
    """Whether ``pid`` runs ``python -m emulator serve`` (so a reused pid is never killed)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"emulator" in cmdline and b"serve" in cmdline


def temp_roots(basetemp: Path) -> list[Path]:
    """Where earlier sessions' temporary homes can be: pytest's temp root, and beside ``--basetemp``."""
    import getpass
    import tempfile

    roots = []
    try:
        user = re.sub(r"[\\/:*?\"<>|]", "_", getpass.getuser()) or "unknown"
        temproot = Path(os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir()).resolve()
        roots.append(temproot / f"pytest-of-{user}")
    except (KeyError, OSError):
        pass
    roots.append(basetemp.resolve().parent)
    return list(dict.fromkeys(roots))


def candidate_homes(roots: list[Path]) -> Iterator[Path]:
    # <root>/<session basetemp>/fake-azure-home*, and under xdist <root>/<basetemp>/popen-gwN/fake-azure-home*
    for root in roots:
        if not root.is_dir():
            continue
        for pattern in (f"*/{HOME_PREFIX}*", f"*/*/{HOME_PREFIX}*"):
            # pytest also makes "<prefix>current" symlinks to numbered dirs: each home once.
            yield from (path for path in root.glob(pattern) if not path.is_symlink())


def reap_stale_daemons(basetemp: Path, log: Callable[[str], None] = lambda _: None) -> list[Path]:
    """Stop daemons left by crashed earlier sessions: homes of ours whose recorded owner pid is dead.

    A home is ours when it is named ``fake-azure-home*``, holds our owner file, and its daemon.json
    names a live ``emulator serve`` process whose home is that directory. Returns the homes reaped.
    """
    from emulator import daemon

    from .settings import Settings

    reaped = []
    for home in candidate_homes(temp_roots(basetemp)):
        try:
            owner = json.loads((home / OWNER_FILE).read_text())
            info = json.loads((home / "daemon.json").read_text())
        except (OSError, ValueError):
            continue
        owner_pid, daemon_pid = int(owner.get("pid", -1)), int(info.get("pid", -1))
        if owner_pid == os.getpid() or _pid_alive(owner_pid):
            continue
        if Path(info.get("home", "")).resolve() != home.resolve():
            continue
        if not _pid_alive(daemon_pid) or not _is_daemon_process(daemon_pid):
            continue
        try:
            daemon.stop(Settings(home=home.resolve()))
        except OSError as exc:
            log(f"fake-azure: could not stop the leftover daemon {daemon_pid} of {home}: {exc}")
            continue
        log(f"fake-azure: stopped the leftover daemon {daemon_pid} of {home} (its pytest session {owner_pid} "
            "is gone)")
        reaped.append(home)
    return reaped


# --- real Azure ----------------------------------------------------------------------------------

def find_workspace_config(start: Path) -> Path | None:
    """The config file ``Workspace.from_config()`` would load from ``start`` (FAKE_AZURE_WORKSPACE_CONFIG wins)."""
    from fake_azure.core.workspace import find_config
    from fake_azure.settings import Settings

    explicit = Settings.from_env().workspace_config
    if explicit is not None:
        return explicit if explicit.is_file() else None
    found = find_config(os.path.normpath(os.path.abspath(start)))
    return Path(found) if found else None


def azure_auth() -> tuple[Any, str] | None:
    """Non-interactive credentials from the environment, as (auth object or None, description); None if none.

    Never returns something that would fall back to interactive (device-code) login.
    """
    env = os.environ
    if env.get("AZURE_CLIENT_ID") and env.get("AZURE_TENANT_ID") and env.get("AZURE_CLIENT_SECRET"):
        def service_principal() -> Any:
            from azureml.core.authentication import ServicePrincipalAuthentication

            return ServicePrincipalAuthentication(tenant_id=env["AZURE_TENANT_ID"],
                                                  service_principal_id=env["AZURE_CLIENT_ID"],
                                                  service_principal_password=env["AZURE_CLIENT_SECRET"])
        return service_principal, "service principal (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)"
    if env.get("MSI_ENDPOINT") or env.get("IDENTITY_ENDPOINT"):
        def msi() -> Any:
            from azureml.core.authentication import MsiAuthentication

            return MsiAuthentication()
        return msi, "managed identity"
    cli_dir = Path(env.get("AZURE_CONFIG_DIR") or Path.home() / ".azure")
    if (cli_dir / "azureProfile.json").is_file() and any(
            (cli_dir / name).exists() for name in ("msal_token_cache.json", "msal_token_cache.bin",
                                                   "accessTokens.json")):
        def cli() -> Any:
            from azureml.core.authentication import AzureCliAuthentication

            return AzureCliAuthentication()
        return cli, f"Azure CLI login ({cli_dir})"
    return None


AZURE_HELP = ("With FAKE_AZURE_TARGET=azure (or --fake-azure-target=azure) the tests that use the fake-azure "
              "fixtures run against real Azure; run them against the emulator with --fake-azure-target=emulator, "
              "or mark a test emulator_only.")


def real_workspace(start: Path) -> Any:
    """``Workspace.from_config()`` of the real SDK, or pytest.fail with why not (never an interactive login)."""
    import importlib.util

    import pytest

    from . import activation

    activation.deactivate()  # the real SDK must not be shadowed by the facade
    config = find_workspace_config(start)
    if config is None:
        pytest.fail(f"fake-azure: FAKE_AZURE_TARGET=azure, but no Azure ML workspace config was found "
                    f"(.azureml/config.json, aml_config/config.json or config.json in {start} or a folder above "
                    f"it; or set FAKE_AZURE_WORKSPACE_CONFIG). Write one with Workspace.write_config() or "
                    f"download it from the Azure portal. {AZURE_HELP}", pytrace=False)
    auth = azure_auth()
    if auth is None:
        pytest.fail("fake-azure: FAKE_AZURE_TARGET=azure, but no non-interactive Azure credentials were found "
                    "(service principal: AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET; managed identity: "
                    "MSI_ENDPOINT/IDENTITY_ENDPOINT; or `az login`). Refusing to start an interactive login. "
                    + AZURE_HELP, pytrace=False)
    if importlib.util.find_spec("azureml") is None or importlib.util.find_spec("azureml.core") is None:
        pytest.fail("fake-azure: FAKE_AZURE_TARGET=azure, but azureml-core is not installed: "
                    "pip install 'fake-azure[azure]'. " + AZURE_HELP, pytrace=False)
    make_auth, described = auth
    from azureml.core import Workspace
    from azureml.exceptions import UserErrorException

    try:
        return Workspace.from_config(path=str(config), auth=make_auth())
    except UserErrorException as exc:
        pytest.fail(f"fake-azure: Workspace.from_config({str(config)!r}) with {described} failed: {exc}",
                    pytrace=False)


# --- what a test created, and its clean-up --------------------------------------------------------

class WorkspaceResources:
    """Lists and deletes a workspace's services, clusters and models through whichever SDK it belongs to."""

    def __init__(self, workspace: Any, sdk: str) -> None:
        import importlib

        self.workspace = workspace
        self.sdk = sdk  # "fake_azure.core" or "azureml.core"
        self.core = importlib.import_module(sdk)
        self.webservice = importlib.import_module(sdk + ".webservice")
        self.compute = importlib.import_module(sdk + ".compute")
        self.model = importlib.import_module(sdk + ".model")
        self.tracked: list[tuple[str, Any]] = []  # (kind, object) created by our factory fixtures
        self.before: dict[str, set] | None = None

    def snapshot(self) -> dict[str, set]:
        return {
            "service": {s.name for s in self.webservice.Webservice.list(self.workspace)},
            "cluster": {c.name for c in self.compute.ComputeTarget.list(self.workspace)},
            "model": {m.id for m in self.model.Model.list(self.workspace)},
        }

    def track(self, kind: str, obj: Any) -> Any:
        self.tracked.append((kind, obj))
        return obj

    def cleanup(self, everything: bool) -> list[str]:
        """Delete services (blocking), then models, then clusters (waiting); returns what failed.

        ``everything``: the workspace is the test's own (emulator); otherwise only what is new since
        :meth:`snapshot` or was made by a factory fixture.
        """
        errors: list[str] = []
        tracked = {kind: {(o.id if kind == "model" else o.name) for k, o in self.tracked if k == kind}
                   for kind in ("service", "cluster", "model")}

        def wanted(kind: str, key: str) -> bool:
            if everything or key in tracked[kind]:
                return True
            return self.before is not None and key not in self.before[kind]

        def attempt(what: str, action: Callable[[], Any]) -> None:
            try:
                action()
            except Exception as exc:  # report every failure, keep cleaning
                if "not found" in str(exc).lower() or "No service with name" in str(exc):
                    return
                errors.append(f"{what}: {type(exc).__name__}: {exc}")

        # The three lists are independent: ask for them at once (most tests created nothing).
        import threading

        services: list[Any] = []
        models: list[Any] = []
        clusters: list[Any] = []
        listings = [
            ("listing services", lambda: services.extend(self.webservice.Webservice.list(self.workspace))),
            ("listing models", lambda: models.extend(self.model.Model.list(self.workspace))),
            ("listing compute targets", lambda: clusters.extend(self.compute.ComputeTarget.list(self.workspace))),
        ]
        threads = [threading.Thread(target=attempt, args=listing, daemon=True) for listing in listings[1:]]
        for thread in threads:
            thread.start()
        attempt(*listings[0])
        for thread in threads:
            thread.join()
        for service in services:
            if wanted("service", service.name):
                attempt(f"deleting service {service.name}", service.delete)
        for model in models:
            if wanted("model", model.id):
                attempt(f"deleting model {model.id}", model.delete)
        deleting = []
        for cluster in clusters:
            if wanted("cluster", cluster.name):
                before = len(errors)
                attempt(f"deleting compute target {cluster.name}", cluster.delete)
                if len(errors) == before:
                    deleting.append(cluster)
        for cluster in deleting:
            attempt(f"waiting for the deletion of compute target {cluster.name}",
                    partial(cluster.wait_for_completion, show_output=False, is_delete_operation=True))
        return errors


DEFAULT_CONDA = """\
name: fake-azure-pytest
dependencies:
- python={python}
- pip:
  - azureml-defaults
channels:
- conda-forge
"""

DEFAULT_VM_SIZE = "Standard_D3_v2"  # 4 vCPUs x 3 nodes: enough for AKS's 12-vCPU minimum


class Factories:
    """The objects behind the ``aml_cluster``, ``aml_model`` and ``aml_service`` fixtures."""

    def __init__(self, resources: WorkspaceResources, tmp_dir: Callable[[], Path]) -> None:
        self.resources = resources
        self.workspace = resources.workspace
        self._tmp_dir = tmp_dir
        self._default_cluster: Any = None

    def cluster(self, name: str | None = None, vm_size: str = DEFAULT_VM_SIZE, agent_count: int | None = None,
                cluster_purpose: str | None = None, wait: bool = True, **provisioning: Any) -> Any:
        AksCompute = self.resources.compute.AksCompute
        ComputeTarget = self.resources.compute.ComputeTarget
        if agent_count is not None:
            provisioning["agent_count"] = agent_count
        if cluster_purpose is not None:
            provisioning["cluster_purpose"] = cluster_purpose
        config = AksCompute.provisioning_configuration(vm_size=vm_size, **provisioning)
        name = name or unique_name("aks")[:16]
        target = ComputeTarget.create(self.workspace, name, config)
        self.resources.track("cluster", target)
        if wait:
            target.wait_for_completion(show_output=False)
        return target

    def model(self, path: Any = None, name: str | None = None, **kwargs: Any) -> Any:
        if path is None:
            path = self._tmp_dir() / "model.txt"
            path.write_text("placeholder model registered by aml_model\n")
        path = Path(path)
        if name is None:
            name = re.sub(r"[^A-Za-z0-9_.-]", "-", path.stem or "model")[:32] or "model"
        # The SDK only registers paths under the working directory: register from the path's folder.
        path = path.resolve()
        previous = os.getcwd()
        os.chdir(path.parent)
        try:
            model = self.resources.model.Model.register(self.workspace, model_path=path.name, model_name=name,
                                                        **kwargs)
        finally:
            os.chdir(previous)
        return self.resources.track("model", model)

    def default_cluster(self) -> Any:
        if self._default_cluster is None:
            self._default_cluster = self.cluster()
        return self._default_cluster

    def service(self, entry_script: Any, *, name: str | None = None, models: list | None = None,
                source_directory: Any = None, conda_file: Any = None, environment: Any = None,
                inference_config: Any = None, deployment_config: Any = None, compute: Any = None,
                enable_gpu: bool | None = None, wait: bool = True, overwrite: bool = False) -> Any:
        """Deploy ``entry_script`` (a path) and, by default, wait until it is Healthy.

        Defaults: a placeholder model, an environment from a conda file for this interpreter's Python
        with azureml-defaults, one replica (0.1 CPU, 0.5 GB) without autoscaling, a CPU AKS cluster.
        """
        core, webservice = self.resources.core, self.resources.webservice
        Model = self.resources.model.Model
        InferenceConfig = self.resources.model.InferenceConfig
        if inference_config is None:
            # Without a source directory the entry script alone is uploaded (as the SDK does): pass
            # source_directory= when score.py imports modules beside it.
            if environment is None:
                if conda_file is None:
                    conda_file = self._tmp_dir() / "fake-azure-default-env.yml"
                    conda_file.write_text(DEFAULT_CONDA.format(python=f"{sys.version_info[0]}.{sys.version_info[1]}"))
                environment = core.Environment.from_conda_specification(unique_name("env"),
                                                                       str(Path(conda_file).resolve()))
                if enable_gpu:
                    import importlib

                    environment.docker.base_image = importlib.import_module(
                        self.resources.sdk + ".environment").DEFAULT_GPU_IMAGE
            inference_config = InferenceConfig(entry_script=str(entry_script), environment=environment,
                                               source_directory=None if source_directory is None
                                               else str(source_directory))
        if models is None:
            models = [self.model()]
        if deployment_config is None:
            deployment_config = webservice.AksWebservice.deploy_configuration(
                autoscale_enabled=False, num_replicas=1, cpu_cores=0.1, memory_gb=0.5)
        if compute is None and type(deployment_config).__name__.startswith("Aks"):
            compute = self.default_cluster()
        name = name or unique_name("svc")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            service = Model.deploy(self.workspace, name, models, inference_config, deployment_config, compute,
                                   overwrite=overwrite)
        self.resources.track("service", service)
        if wait:
            service.wait_for_deployment(show_output=False)
        return service


@contextmanager
def activated_facade() -> Iterator[None]:
    import fake_azure

    fake_azure.activate()
    try:
        yield
    finally:
        fake_azure.deactivate()
