"""The plugin's ``ml_client`` fixture as a user project sees it: the real SDK v2 client on the session's local
cloud, in process and under xdist (a daemon per worker), nothing left running afterwards."""
from __future__ import annotations

import pytest
from test_plugin import assert_no_leftovers, run

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
