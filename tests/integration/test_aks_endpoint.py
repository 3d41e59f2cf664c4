"""AksEndpoint (controlled rollout) through the facade, the calls of Microsoft's deploy-aks-with-controlled-rollout
notebook: Model.deploy of an endpoint with its first version, create_version, update_version, delete_version,
scoring through the endpoint's one URI split between the versions, the refusals."""
from __future__ import annotations

import json
import shutil
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from fake_azure.exceptions import WebserviceException

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed-workflow"
SCORE = '''\
def init():
    pass


def run(raw_data):
    return {{"version": "{name}"}}
'''

pytestmark = [
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seed's model and conda file; a source folder per version whose score.py answers with its name."""
    shutil.copytree(SEED / "model", tmp_path / "model")
    shutil.copy(SEED / "myenv.yml", tmp_path / "myenv.yml")
    for name in ("versiona", "versionb", "versionc"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "score.py").write_text(SCORE.format(name=name))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def endpoints() -> Iterator[list[Any]]:
    made: list[Any] = []
    yield made
    for endpoint in made:
        try:
            endpoint.delete()
        except WebserviceException:
            pass


def _inference_config(version: str):
    from fake_azure.core.conda_dependencies import CondaDependencies
    from fake_azure.core.environment import Environment
    from fake_azure.core.model import InferenceConfig

    environment = Environment("endpoint-env")
    environment.python.conda_dependencies = CondaDependencies(conda_dependencies_file_path="myenv.yml")
    return InferenceConfig(entry_script="score.py", source_directory=version, environment=environment)


def _setup(ws):
    from fake_azure.core.compute import AksCompute, ComputeTarget
    from fake_azure.core.model import Model

    target = ComputeTarget.create(ws, "my-aks", AksCompute.provisioning_configuration(vm_size="Standard_D3_v2"))
    target.wait_for_completion()
    model = Model.register(ws, model_path="model", model_name="sklearn_regression_model.pkl")
    return target, model


def _deploy(ws, target, model, endpoints: list[Any], traffic_percentile: int | None = 40):
    from fake_azure.core.model import Model
    from fake_azure.core.webservice import AksEndpoint

    config = AksEndpoint.deploy_configuration(tags={"modelVersion": "firstversion"}, description="my first version",
                                              namespace="endpointnamespace", version_name="versiona",
                                              traffic_percentile=traffic_percentile, num_replicas=1,
                                              autoscale_enabled=False)
    endpoint = Model.deploy(ws, "myendpoint1", [model], _inference_config("versiona"), config, target)
    endpoints.append(endpoint)
    return endpoint


def _answers(endpoint, count: int) -> Counter:
    body = json.dumps({"data": [[1, 2]]})
    return Counter(endpoint.run(body)["version"] for _ in range(count))


def test_controlled_rollout_notebook(ws, project, endpoints) -> None:
    from fake_azure.core.webservice import AksEndpoint, AksWebservice, Webservice

    target, model = _setup(ws)
    endpoint = _deploy(ws, target, model, endpoints)
    assert isinstance(endpoint, AksEndpoint)
    endpoint.wait_for_deployment()
    assert endpoint.state == "Healthy" and endpoint.scoring_uri.endswith("/api/v1/service/myendpoint1/score")
    assert set(endpoint.versions) == {"versiona"}
    first = endpoint.versions["versiona"]
    assert isinstance(first, AksWebservice) and first.is_default and first.traffic_percentile == 40
    assert first.state == "Healthy" and [m.name for m in first.models] == ["sklearn_regression_model.pkl"]
    # The only version takes all the traffic: its own 40 % and, as the default, the rest.
    assert _answers(endpoint, 10) == {"versiona": 10}
    assert "--- version versiona ---" in endpoint.get_logs()

    endpoint.create_version(version_name="versionb", inference_config=_inference_config("versionb"), models=[model],
                            tags={"modelVersion": "secondversion"}, description="my second version",
                            traffic_percentile=30, num_replicas=1, autoscale_enabled=False)
    endpoint.wait_for_deployment()
    assert endpoint.state == "Healthy" and set(endpoint.versions) == {"versiona", "versionb"}
    second = endpoint.versions["versionb"]
    assert (second.traffic_percentile, second.is_default, second.description) == (30, False, "my second version")
    assert second.tags == {"modelVersion": "secondversion"}
    assert _answers(endpoint, 100) == {"versiona": 70, "versionb": 30}

    # The versions are not services of their own, and the endpoint reads back with them.
    names = [service.name for service in Webservice.list(ws)]
    assert names == ["myendpoint1"]
    again = Webservice(ws, "myendpoint1")
    assert isinstance(again, AksEndpoint) and set(again.versions) == {"versiona", "versionb"}
    assert again.serialize()["versions"]["versionb"]["trafficPercentile"] == 30
    with pytest.raises(WebserviceException, match="WebserviceNotFound"):
        Webservice(ws, "myendpoint1.versionb")
    primary, _ = endpoint.get_keys()
    version_path = endpoint.scoring_uri.replace("myendpoint1/score", "myendpoint1.versionb/score")
    assert requests.post(version_path, data="{}", headers={"Authorization": "Bearer " + primary}).status_code == 404
    assert requests.post(endpoint.scoring_uri, data="{}").status_code == 401  # the endpoint's keys guard it

    endpoint.update_version(version_name="versionb", description="my second version update", traffic_percentile=40,
                            is_default=True, is_control_version_type=True)
    endpoint.wait_for_deployment()
    a, b = endpoint.versions["versiona"], endpoint.versions["versionb"]
    assert (b.is_default, b.version_type, b.traffic_percentile, b.description) == \
        (True, "Control", 40, "my second version update")
    assert (a.is_default, a.version_type) == (False, "Treatment")
    assert _answers(endpoint, 100) == {"versiona": 40, "versionb": 60}  # the default gets the 20 % left

    endpoint.delete_version(version_name="versiona")
    endpoint.wait_for_deployment()
    assert set(endpoint.versions) == {"versionb"} and endpoint.state == "Healthy"
    assert _answers(endpoint, 10) == {"versionb": 10}

    endpoint.delete()
    with pytest.raises(WebserviceException, match="WebserviceNotFound"):
        Webservice(ws, "myendpoint1")
    assert Webservice.list(ws) == []


def test_refusals_of_the_sdk_and_the_service(ws, project, endpoints) -> None:
    from fake_azure.core.webservice import AksEndpoint

    with pytest.raises(WebserviceException, match="traffic_percentile cannot be negative or greater than 100"):
        AksEndpoint.deploy_configuration(version_name="versiona", traffic_percentile=101)
    target, model = _setup(ws)
    endpoint = _deploy(ws, target, model, endpoints, traffic_percentile=80)
    endpoint.wait_for_deployment()
    with pytest.raises(WebserviceException, match="traffic_percentile cannot be negative or greater than 100"):
        endpoint.create_version("versionb", inference_config=_inference_config("versionb"), models=[model],
                                traffic_percentile=150)
    with pytest.raises(WebserviceException, match="No parameters provided to update a version."):
        endpoint.update_version("versiona")
    # 80 + 30 > 100: the service refuses, in the SDK's words for a bad response.
    with pytest.raises(WebserviceException) as refused:
        endpoint.create_version("versionb", inference_config=_inference_config("versionb"), models=[model],
                                traffic_percentile=30)
    assert refused.value.message.startswith("Received bad response from Model Management Service:\n"
                                            "Response Code: 400")
    assert "add up to 110" in refused.value.message
    with pytest.raises(WebserviceException, match="Response Code: 400"):
        endpoint.delete_version("versiona")  # the only version: delete the endpoint instead
    with pytest.raises(WebserviceException, match="Response Code: 404"):
        endpoint.update_version("nosuchversion", traffic_percentile=10)
    # AksEndpoint.update raises azureml-core 1.61's own TypeError (its validation call is two arguments short).
    with pytest.raises(TypeError, match="cpu_cores_limit"):
        endpoint.update(description="new")


def test_at_most_six_versions(ws, project, endpoints) -> None:
    target, model = _setup(ws)
    endpoint = _deploy(ws, target, model, endpoints, traffic_percentile=None)
    endpoint.wait_for_deployment()
    config = _inference_config("versionc")
    for index in range(5):
        endpoint.create_version(f"extra{index}", inference_config=config, models=[model], num_replicas=1,
                                autoscale_enabled=False)
        endpoint.wait_for_deployment()
    assert len(endpoint.versions) == 6
    assert _answers(endpoint, 10) == {"versiona": 10}  # no version was given any traffic: the default has it all
    with pytest.raises(WebserviceException) as refused:
        endpoint.create_version("extra5", inference_config=config, models=[model])
    assert "Response Code: 400" in refused.value.message and "at most 6 versions" in refused.value.message


def test_an_endpoint_and_its_split_come_back_after_a_daemon_restart(project, tmp_path_factory) -> None:
    from test_deploy_behaviour import PrivateHome, _await_healthy

    home = PrivateHome(tmp_path_factory.mktemp("endpoint-restart-home"))
    score = """
        from collections import Counter
        counts = Counter(service.run(json.dumps({"data": [[1]]}))["version"] for _ in range(100))
        print(json.dumps({"state": service.state, "uri": service.scoring_uri, "counts": counts}))
        """
    try:
        assert home.cli("up").returncode == 0
        deployed = home.python(textwrap.dedent("""
            from azureml.core.conda_dependencies import CondaDependencies
            from azureml.core.environment import Environment
            from azureml.core.webservice import AksEndpoint
            target = ComputeTarget.create(ws, "my-aks", AksCompute.provisioning_configuration())
            target.wait_for_completion()
            model = Model.register(ws, model_path="model", model_name="sklearn_regression_model.pkl")
            env = Environment("endpoint-env")
            env.python.conda_dependencies = CondaDependencies(conda_dependencies_file_path="myenv.yml")
            config = AksEndpoint.deploy_configuration(version_name="versiona", num_replicas=1,
                                                      autoscale_enabled=False)
            service = Model.deploy(ws, "myendpoint1", [model], InferenceConfig(
                entry_script="score.py", source_directory="versiona", environment=env), config, target)
            service.wait_for_deployment()
            service.create_version("versionb", inference_config=InferenceConfig(
                entry_script="score.py", source_directory="versionb", environment=env), models=[model],
                traffic_percentile=30, num_replicas=1, autoscale_enabled=False)
            service.wait_for_deployment()
            """) + textwrap.dedent(score), project)
        assert deployed.returncode == 0, deployed.stderr
        before = json.loads(deployed.stdout.strip().splitlines()[-1])
        assert before["counts"] == {"versiona": 70, "versionb": 30}

        assert home.cli("down").returncode == 0
        assert home.cli("up").returncode == 0
        again = home.python(_await_healthy("myendpoint1") + textwrap.dedent(score), project)
        assert again.returncode == 0, again.stderr
        after = json.loads(again.stdout.strip().splitlines()[-1])
        assert after == {**before, "state": "Healthy"}
    finally:
        home.cli("down")
