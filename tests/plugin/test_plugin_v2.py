"""The plugin's ``ml_client`` fixture as a user project sees it: the real SDK v2 client on the session's local
cloud, in process and under xdist (a daemon per worker), nothing left running afterwards; and the SDK v2
factories on top of it (online endpoints and deployments that serve through invoke and are gone after teardown)."""
from __future__ import annotations

import pytest
from test_plugin import SCORE_PY, assert_no_leftovers, run

# Importing azure-ai-ml imports the importlib_metadata backport, which deletes the stdlib PathFinder's
# find_distributions and appends its own finder to sys.meta_path. An in-process pytester run restores
# sys.meta_path afterwards, dropping that finder, so every later in-process run found no distributions
# (INTERNALERROR: "No package metadata was found for pluggy"). Imported here first, the backport's finder
# is part of what pytester restores.
try:
    import importlib_metadata  # noqa: F401
except ImportError:  # then azure-ai-ml does not import it either
    pass

pytest_plugins = ["pytester"]

V2_TEST = '''
from azure.ai.ml.entities import Model


def test_register_{n}(ml_client, aml_workspace, tmp_path):
    assert ml_client.workspace_name == aml_workspace.name
    assert ml_client.workspaces.get(aml_workspace.name).name == aml_workspace.name
    (tmp_path / "weights.bin").write_bytes(b"{n}")
    model = ml_client.models.create_or_update(Model(name="m", path=str(tmp_path / "weights.bin")))
    assert model.version == "1"  # a fresh workspace per test
    assert [m.version for m in ml_client.models.list(name="m")] == ["1"]
'''


def test_ml_client_in_process(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_v2="".join(V2_TEST.format(n=n) for n in (1, 2)))
    run(pytester).assert_outcomes(passed=2)
    assert_no_leftovers(pytester)


def test_ml_client_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_v2="".join(V2_TEST.format(n=n) for n in (1, 2, 3, 4)))
    run(pytester, "-n", "2", subprocess=True).assert_outcomes(passed=4)
    assert_no_leftovers(pytester)


# The SDK v2 factories. `nothing_left` is requested before them, so pytest tears it down after theirs and
# while the test's workspace still exists: it sees what the factories' own teardown left (the workspace's
# deletion afterwards would remove everything anyway, and so would hide a factory that cleans up nothing).
FACTORY_HEADER = '''
import json

import pytest
from azure.ai.ml.entities import ManagedOnlineEndpoint


@pytest.fixture
def nothing_left(ml_client):
    yield
    assert [e.name for e in ml_client.online_endpoints.list()] == []
'''

FACTORY_TEST = '''

def test_serves_{n}(nothing_left, ml_client, online_endpoint_factory, online_deployment_factory, tmp_path):
    endpoint = online_endpoint_factory()
    assert endpoint.provisioning_state == "Succeeded" and endpoint.auth_mode == "key"
    deployment = online_deployment_factory(endpoint, "score.py", traffic=100)
    assert deployment.provisioning_state == "Succeeded"
    assert (deployment.instance_type, deployment.instance_count) == ("Standard_DS3_v2", 1)
    assert ml_client.online_endpoints.get(endpoint.name).traffic == {{deployment.name: 100}}
    (tmp_path / "request.json").write_text(json.dumps({{"data": [{n}, 2]}}))
    answer = ml_client.online_endpoints.invoke(endpoint_name=endpoint.name,
                                               request_file=str(tmp_path / "request.json"))
    assert json.loads(answer) == {{"echo": [{n}, 2]}}
'''

# A deployment on an endpoint the test made itself: the deployment factory alone must take its traffic off
# (Azure refuses to delete a deployment with traffic) and delete it, leaving the endpoint to the test.
OWN_ENDPOINT_TEST = '''

@pytest.fixture
def own_endpoint(ml_client):
    endpoint = ManagedOnlineEndpoint(name="own-endpoint", auth_mode="key")
    ml_client.online_endpoints.begin_create_or_update(endpoint).result()
    yield endpoint.name
    assert [d.name for d in ml_client.online_deployments.list(endpoint_name=endpoint.name)] == []
    assert not any(ml_client.online_endpoints.get(endpoint.name).traffic.values())
    ml_client.online_endpoints.begin_delete(name=endpoint.name).result()


def test_deployment_on_own_endpoint(nothing_left, own_endpoint, ml_client, online_deployment_factory):
    blue = online_deployment_factory(own_endpoint, "score.py", name="blue", traffic=100)
    green = online_deployment_factory(own_endpoint, "score.py", name="green")
    assert ml_client.online_endpoints.get(own_endpoint).traffic == {"blue": 100, "green": 0}
    assert sorted(d.name for d in ml_client.online_deployments.list(endpoint_name=own_endpoint)) == \\
        sorted([blue.name, green.name])


def test_cleanup_after_failure(nothing_left, online_endpoint_factory, online_deployment_factory):
    online_deployment_factory(online_endpoint_factory(), "score.py", traffic=100)
    assert False, "the test fails; its endpoint and deployment are deleted anyway"
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user project with the echo score.py of the v1 plugin tests."""
    pytester.makefile(".py", score=SCORE_PY)
    return pytester


def test_v2_factories_create_serve_and_clean_up(project: pytest.Pytester) -> None:
    project.makepyfile(test_v2_factories=FACTORY_HEADER + FACTORY_TEST.format(n=1) + OWN_ENDPOINT_TEST)
    result = run(project)
    result.assert_outcomes(passed=2, failed=1)  # and no errors: every nothing_left teardown held
    result.stdout.fnmatch_lines(["*the test fails; its endpoint and deployment are deleted anyway*"])
    assert "clean-up failed" not in result.stdout.str()
    assert_no_leftovers(project)


def test_v2_factories_under_xdist(project: pytest.Pytester) -> None:
    project.makepyfile(test_v2_factories=FACTORY_HEADER + "".join(FACTORY_TEST.format(n=n) for n in (1, 2, 3, 4)))
    run(project, "-n", "4", subprocess=True).assert_outcomes(passed=4)
    assert_no_leftovers(project)


# A user's Kubernetes test: a cluster from the v1 fixture, attached as a KubernetesCompute, then the same
# factories with compute=: a KubernetesOnlineEndpoint and a KubernetesOnlineDeployment on the compute's default
# instance type, serving; all gone after teardown.
KUBERNETES_TEST = '''

from azure.ai.ml.entities import KubernetesCompute


def test_on_kubernetes(nothing_left, aml_cluster, ml_client, online_endpoint_factory, online_deployment_factory,
                       tmp_path):
    cluster = aml_cluster(vm_size="Standard_D3_v2")
    ml_client.compute.begin_create_or_update(KubernetesCompute(name="k8s", resource_id=cluster.cluster_resource_id)
                                             ).result()
    endpoint = online_endpoint_factory(compute="k8s")
    assert type(endpoint).__name__ == "KubernetesOnlineEndpoint" and endpoint.compute.endswith("/computes/k8s")
    deployment = online_deployment_factory(endpoint, "score.py", traffic=100)
    assert type(deployment).__name__ == "KubernetesOnlineDeployment"
    assert deployment.provisioning_state == "Succeeded"
    (tmp_path / "request.json").write_text(json.dumps({"data": [7]}))
    answer = ml_client.online_endpoints.invoke(endpoint_name=endpoint.name,
                                               request_file=str(tmp_path / "request.json"))
    assert json.loads(answer) == {"echo": [7]}
'''


def test_v2_factories_on_kubernetes(project: pytest.Pytester) -> None:
    project.makepyfile(test_v2_k8s=FACTORY_HEADER + KUBERNETES_TEST)
    result = run(project)
    result.assert_outcomes(passed=1)
    assert "clean-up failed" not in result.stdout.str()
    assert_no_leftovers(project)
