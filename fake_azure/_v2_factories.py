"""The SDK v2 factories behind the pytest plugin's ``online_endpoint_factory`` and ``online_deployment_factory``
fixtures: managed or Kubernetes online endpoints and deployments made through ``ml_client``, waited for, and
removed at teardown.

Only azure-ai-ml's public API through ml_client, nothing of the emulator: the same code runs with
--fake-azure-target=azure, where the workspace is shared and everything made must be removed one by one."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

# The small managed SKU of Azure's own examples (4 vCPUs, 14 GB); a Kubernetes deployment names none by default
# and gets its compute's default instance type.
DEFAULT_INSTANCE_TYPE = "Standard_DS3_v2"
DEFAULT_V2_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
# On Azure a v2 conda file must list the scoring server itself (in v1, azureml-defaults brought it).
DEFAULT_V2_CONDA = """\
name: fake-azure-pytest-v2
channels:
- conda-forge
dependencies:
- python={python}
- pip
- pip:
  - azureml-inference-server-http
"""


def _v2_name(prefix: str) -> str:
    """A fresh resource name: endpoint names become DNS names unique in an Azure region, so a fixed
    default would collide with parallel runs and other users (3-32 letters, digits and '-')."""
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class OnlineEndpointFactory:
    """``online_endpoint_factory(name=None, *, auth_mode="key", compute=None, **endpoint_settings)``: a
    ``ManagedOnlineEndpoint``, or with ``compute`` (an attached Kubernetes compute's name) a
    ``KubernetesOnlineEndpoint``, created through ``ml_client`` (waited for); every endpoint it made is deleted at
    teardown, with its deployments."""

    def __init__(self, ml_client: Any) -> None:
        self.ml_client = ml_client
        self.made: list[str] = []

    def __call__(self, name: str | None = None, *, auth_mode: str = "key", compute: str | None = None,
                 **settings: Any) -> Any:
        from azure.ai.ml.entities import KubernetesOnlineEndpoint, ManagedOnlineEndpoint

        name = name or _v2_name("ep")
        # Recorded before the call: a create that fails or times out may still have left the endpoint.
        if name not in self.made:
            self.made.append(name)
        if compute is None:
            endpoint: Any = ManagedOnlineEndpoint(name=name, auth_mode=auth_mode, **settings)
        else:
            endpoint = KubernetesOnlineEndpoint(name=name, auth_mode=auth_mode, compute=compute, **settings)
        return self.ml_client.online_endpoints.begin_create_or_update(endpoint).result()

    def cleanup(self) -> list[str]:
        from azure.core.exceptions import ResourceNotFoundError

        errors: list[str] = []
        for name in reversed(self.made):
            try:
                self.ml_client.online_endpoints.begin_delete(name=name).result()
            except ResourceNotFoundError:
                pass  # the test deleted it itself
            except Exception as exc:  # every endpoint gets its try; all failures are reported
                errors.append(f"deleting online endpoint {name}: {type(exc).__name__}: {exc}")
        return errors


class OnlineDeploymentFactory:
    """``online_deployment_factory(endpoint, scoring_script="score.py", *, name=None, code=None, model=None,
    environment=None, conda_file=None, instance_type=None, instance_count=1, traffic=None,
    **deployment_settings)``: a deployment of ``endpoint`` (a name or an endpoint), created through ``ml_client``
    and waited for until Succeeded: a ``ManagedOnlineDeployment`` (``instance_type`` Standard_DS3_v2 by default),
    or a ``KubernetesOnlineDeployment`` under a Kubernetes endpoint (its compute's default instance type unless
    named). Deleted at teardown (its traffic set to 0 first)."""

    def __init__(self, ml_client: Any, tmp_dir: Callable[[], Path]) -> None:
        self.ml_client = ml_client
        self._tmp_dir = tmp_dir
        self.made: list[tuple[str, str]] = []  # (endpoint, deployment)

    def __call__(self, endpoint: Any, scoring_script: str | Path = "score.py", *, name: str | None = None,
                 code: str | Path | None = None, model: Any = None, environment: Any = None,
                 conda_file: str | Path | None = None, instance_type: str | None = None,
                 instance_count: int = 1, traffic: int | None = None, **settings: Any) -> Any:
        import shutil
        import sys

        from azure.ai.ml.entities import (
            CodeConfiguration,
            Environment,
            KubernetesOnlineDeployment,
            ManagedOnlineDeployment,
            Model,
        )

        endpoint_name: str = getattr(endpoint, "name", endpoint)
        name = name or _v2_name("dep")[:32]
        if code is None:
            # Without a code folder only the scoring script is uploaded (as aml_service does in v1): a
            # working directory can be a whole project. Pass code= when the script imports modules beside it.
            script = Path(scoring_script)
            code = self._tmp_dir() / "code"
            code.mkdir()
            shutil.copy(script, code / script.name)
            scoring_script = script.name
        if model is None:
            model = self._tmp_dir() / "model"
            model.mkdir()
            (model / "placeholder.txt").write_text("placeholder model of online_deployment_factory\n")
        if isinstance(model, (str, Path)) and not str(model).startswith("azureml:"):
            model = Model(path=str(Path(model).resolve()))
        if environment is None:
            if conda_file is None:
                conda_file = self._tmp_dir() / "conda.yml"
                conda_file.write_text(DEFAULT_V2_CONDA.format(python=f"{sys.version_info[0]}.{sys.version_info[1]}"))
            environment = Environment(conda_file=str(Path(conda_file).resolve()), image=DEFAULT_V2_IMAGE)
        common = dict(name=name, endpoint_name=endpoint_name, model=model, environment=environment,
                      code_configuration=CodeConfiguration(code=str(Path(code).resolve()),
                                                           scoring_script=str(scoring_script)),
                      instance_count=instance_count, **settings)
        if self._on_kubernetes(endpoint):
            deployment: Any = KubernetesOnlineDeployment(instance_type=instance_type, **common)
        else:
            deployment = ManagedOnlineDeployment(instance_type=instance_type or DEFAULT_INSTANCE_TYPE, **common)
        # Recorded before the call: a failed deployment still exists (Failed) and must go at teardown.
        if (endpoint_name, name) not in self.made:
            self.made.append((endpoint_name, name))
        deployed = self.ml_client.online_deployments.begin_create_or_update(deployment).result()
        if deployed.provisioning_state != "Succeeded":
            raise RuntimeError(f"deployment {name} of endpoint {endpoint_name} ended {deployed.provisioning_state}")
        if traffic is not None:
            online = self.ml_client.online_endpoints.get(endpoint_name)
            shares = dict(online.traffic or {})
            if traffic == 100:
                shares = {other: 0 for other in shares}
            shares[name] = traffic
            online.traffic = shares
            self.ml_client.online_endpoints.begin_create_or_update(online).result()
        return deployed

    def _on_kubernetes(self, endpoint: Any) -> bool:
        """Whether ``endpoint`` (an entity, else its name) is a Kubernetes online endpoint (it names a compute)."""
        if isinstance(endpoint, str):
            endpoint = self.ml_client.online_endpoints.get(endpoint)
        return bool(getattr(endpoint, "compute", None))

    def cleanup(self) -> list[str]:
        from azure.core.exceptions import ResourceNotFoundError

        errors: list[str] = []
        by_endpoint: dict[str, list[str]] = {}
        for endpoint_name, name in self.made:
            by_endpoint.setdefault(endpoint_name, []).append(name)
        for endpoint_name, names in by_endpoint.items():
            try:
                self._take_traffic_off(endpoint_name, names)
            except ResourceNotFoundError:
                continue  # the endpoint is gone, and its deployments with it
            except Exception as exc:
                errors.append(f"setting the traffic of {', '.join(names)} on endpoint {endpoint_name} to 0: "
                              f"{type(exc).__name__}: {exc}")
                continue
            for name in names:
                try:
                    self.ml_client.online_deployments.begin_delete(name=name, endpoint_name=endpoint_name).result()
                except ResourceNotFoundError:
                    pass
                except Exception as exc:
                    errors.append(f"deleting deployment {name} of endpoint {endpoint_name}: "
                                  f"{type(exc).__name__}: {exc}")
        return errors

    def _take_traffic_off(self, endpoint_name: str, names: list[str]) -> None:
        """Azure refuses to delete a deployment that takes live or mirrored traffic: route it elsewhere first."""
        online = self.ml_client.online_endpoints.get(endpoint_name)
        traffic = dict(online.traffic or {})
        mirror = dict(online.mirror_traffic or {})
        if not any(traffic.get(name) for name in names) and not any(mirror.get(name) for name in names):
            return
        kept = {other: share for other, share in traffic.items() if other not in names}
        if sum(kept.values()) not in (0, 100):
            # Shares must sum to 100 or all be 0; the test's own deployments cannot be rebalanced for it.
            kept = {other: 0 for other in kept}
        online.traffic = {**kept, **{name: 0 for name in names if name in traffic}}
        online.mirror_traffic = {other: (0 if other in names else share) for other, share in mirror.items()}
        self.ml_client.online_endpoints.begin_create_or_update(online).result()
