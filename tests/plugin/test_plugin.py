"""The pytest plugin (fake_azure/pytest_plugin.py) as a user project sees it: generated test files run by pytester.

In-process runs (``runpytest``) are the fast path; xdist runs go through ``runpytest_subprocess``.
After each run that started a daemon, no process may remain whose command line or FAKE_AZURE_HOME
points into the pytester directory (daemon, azmlinfsrv replicas).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from polling import poll

pytest_plugins = ["pytester"]

SCORE_PY = '''\
import json


def init():
    global prefix
    prefix = "echo"


def run(raw_data):
    return {prefix: json.loads(raw_data)["data"]}
'''

DEPLOY_TEST = '''
import json

import pytest


def test_deploy_{n}(aml_workspace, aml_service):
    from azureml.core import Webservice, Workspace

    assert type(aml_workspace).__module__.startswith("fake_azure.")
    assert Workspace is type(aml_workspace)
    service = aml_service("score.py")
    assert service.state == "Healthy"
    assert service.run(json.dumps({{"data": [{n}, 2]}})) == {{"echo": [{n}, 2]}}
    assert [s.name for s in Webservice.list(aml_workspace)] == [service.name]
'''


def _leftover_processes(marker: str) -> list[str]:
    """Live processes (not this one) whose command line or FAKE_AZURE_HOME mentions ``marker``."""
    needle = marker.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except (OSError, IndexError):
            continue
        home = [v for v in environ.split(b"\0") if v.startswith(b"FAKE_AZURE_HOME=")]
        if needle in cmdline or any(needle in v for v in home):
            shown = cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]
            found.append(f"{entry.name}: {shown}")
    return found


def assert_no_leftovers(pytester: pytest.Pytester) -> None:
    # Deadline, not a timing assertion: replicas exit asynchronously after the daemon's SIGTERM.
    assert poll(lambda: _leftover_processes(str(pytester.path)) == [], timeout=20, interval=0.1), \
        _leftover_processes(str(pytester.path))


def run(pytester: pytest.Pytester, *args: str, subprocess: bool = False) -> pytest.RunResult:
    """Run the generated suite with its basetemp (and so its FAKE_AZURE_HOME) inside pytester.path."""
    args = ("-p", "no:cacheprovider", f"--basetemp={pytester.path / 'bt'}", *args)
    return pytester.runpytest_subprocess(*args) if subprocess else pytester.runpytest(*args)


def homes(pytester: pytest.Pytester, pattern: str = "fake-azure-home*") -> list[Path]:
    return sorted((pytester.path / "bt").glob(pattern))


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".py", score=SCORE_PY)
    return pytester


def test_deploy_score_and_clean_up_in_process(project: pytest.Pytester) -> None:
    project.makepyfile(test_deploy=DEPLOY_TEST.format(n=1) + textwrap.dedent('''

        def test_cleanup_after_failure_b(aml_workspace, aml_service):
            aml_service("score.py", name="doomed-svc")
            assert False, "the test fails; its service is deleted anyway"


        def test_progress_and_nothing_left_c(azureml_emulator):
            from fake_azure.core import Workspace

            # Every earlier test's workspace, services and models were deleted at its teardown.
            assert Workspace.list("00000000-0000-0000-0000-00000000f00d") == {}
            assert azureml_emulator.runtime == "process"
            assert azureml_emulator.url.startswith("http://127.0.0.1:")
            assert azureml_emulator.get_progress() == "immediate"
            with azureml_emulator.set_progress("polls:3"):
                assert azureml_emulator.get_progress() == "polls:3"
            assert azureml_emulator.get_progress() == "immediate"
            assert "runtime" in azureml_emulator.runtime_info()
    '''))
    result = run(project)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*the test fails; its service is deleted anyway*"])
    assert "clean-up of workspace" not in result.stdout.str()
    assert homes(project, "fake-azure-home*/pytest-owner.json")
    assert_no_leftovers(project)


def test_four_deploy_tests_under_xdist(project: pytest.Pytester) -> None:
    project.makepyfile(**{f"test_deploy_{n}": DEPLOY_TEST.format(n=n) for n in range(4)})
    result = run(project, "-n", "2", subprocess=True)
    result.assert_outcomes(passed=4)
    workers = [p.parent.parent.name for p in homes(project, "*/fake-azure-home[0-9]*/daemon.log")]
    assert workers == ["popen-gw0", "popen-gw1"], workers  # one home per worker
    assert_no_leftovers(project)


AZURE_TEST = '''
import pytest


@pytest.mark.azure
def test_against_real_azure(aml_workspace):
    raise AssertionError("must not be reached")
'''


@pytest.fixture
def no_azure_credentials(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "MSI_ENDPOINT", "IDENTITY_ENDPOINT",
                 "FAKE_AZURE_WORKSPACE_CONFIG", "FAKE_AZURE_TARGET"):
        monkeypatch.delenv(name, raising=False)
    empty = pytester.mkdir("empty-azure-cli-dir")
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(empty))


@pytest.mark.parametrize("how", ["env", "option"])
def test_target_azure_without_config_fails_fast(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                no_azure_credentials: None, how: str) -> None:
    pytester.makepyfile(test_azure=AZURE_TEST)
    args = []
    if how == "env":
        monkeypatch.setenv("FAKE_AZURE_TARGET", "azure")
    else:
        args.append("--fake-azure-target=azure")
    result = run(pytester, *args)
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "FAKE_AZURE_TARGET=azure, but no Azure ML workspace config was found" in output
    assert "must not be reached" not in output
    assert not homes(pytester)  # no daemon for an azure test


def test_target_azure_with_config_but_no_credentials_fails_fast(pytester: pytest.Pytester,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 no_azure_credentials: None) -> None:
    pytester.makepyfile(test_azure=AZURE_TEST)
    config = pytester.mkdir(".azureml") / "config.json"
    config.write_text(json.dumps({"subscription_id": "00000000-0000-0000-0000-000000000000",
                                  "resource_group": "rg", "workspace_name": "ws"}))
    result = run(pytester, "--fake-azure-target=azure")
    result.assert_outcomes(errors=1)
    assert "no non-interactive Azure credentials were found" in result.stdout.str()
    assert "Refusing to start an interactive login" in result.stdout.str()


def test_target_azure_moves_every_fixture_user_but_emulator_only(pytester: pytest.Pytester,
                                                                 no_azure_credentials: None) -> None:
    pytester.makepyfile(test_targets='''
        import pytest

        def test_unmarked(aml_workspace):
            pass

        @pytest.mark.emulator_only
        def test_emulator_only(aml_workspace):
            assert type(aml_workspace).__module__.startswith("fake_azure.")
    ''')
    result = run(pytester, "--fake-azure-target=azure")
    result.assert_outcomes(passed=1, errors=1)
    assert "could not be found" in result.stdout.str() or "config" in result.stdout.str()
    assert_no_leftovers(pytester)


def test_marker_skip_reasons_are_visible(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # nothing answers there
    monkeypatch.delenv("FAKE_AZURE_REQUIRE_DOCKER", raising=False)
    monkeypatch.setenv("PATH", str(pytester.mkdir("no-tools")))  # no nvidia-smi
    pytester.makepyfile(test_markers='''
        import pytest

        @pytest.mark.requires_docker
        def test_docker():
            pass

        @pytest.mark.requires_gpu
        def test_gpu():
            pass
    ''')
    result = run(pytester, "-rs", "--strict-markers")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*requires_docker: no Docker engine answers at tcp://127.0.0.1:9*",
                                 "*requires_gpu: no NVIDIA GPU: nvidia-smi not found*"])


def test_require_docker_turns_the_skip_into_a_failure(pytester: pytest.Pytester,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    monkeypatch.setenv("FAKE_AZURE_REQUIRE_DOCKER", "1")
    pytester.makepyfile(test_markers='''
        import pytest

        @pytest.mark.requires_docker
        def test_docker():
            pass
    ''')
    result = run(pytester)
    result.assert_outcomes(errors=1)  # setup fails: the test never ran
    assert "FAKE_AZURE_REQUIRE_DOCKER=1 but no Docker engine answers" in result.stdout.str()


def test_markers_and_options_need_no_project_config(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.requires_docker:*", "@pytest.mark.requires_gpu:*",
                                 "@pytest.mark.azure:*"])
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--fake-azure-runtime=*", "*--fake-azure-target=*"])


def test_no_daemon_for_tests_that_do_not_ask(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain='''
        import sys

        def test_plain():
            assert "emulator.daemon" not in sys.modules or True
            assert 1 + 1 == 2
    ''')
    result = run(pytester)
    result.assert_outcomes(passed=1)
    assert not homes(pytester)
    assert_no_leftovers(pytester)


def test_plugin_module_imports_nothing_heavy() -> None:
    code = ("import sys, fake_azure.pytest_plugin; "
            "heavy = [m for m in ('emulator', 'emulator.daemon', 'requests', 'flask', 'azureml', 'docker', "
            "'fake_azure.core', 'fake_azure._pytest_support') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_reaper_stops_a_crashed_sessions_daemon(pytester: pytest.Pytester) -> None:
    from emulator import daemon
    from fake_azure import _pytest_support as support
    from fake_azure.settings import Settings

    # An earlier session's home beside this one's basetemp, whose pytest process is gone.
    stale_home = pytester.path / "basetemp-crashed" / "popen-gw3" / "fake-azure-home0"
    stale_home.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (stale_home / support.OWNER_FILE).write_text(json.dumps({"pid": dead.pid}))
    settings = Settings(home=stale_home.resolve())
    info, started = daemon.ensure_running(settings)
    assert started
    try:
        pytester.makepyfile(test_uses='''
            def test_uses(azureml_emulator):
                assert azureml_emulator.url
        ''')
        result = run(pytester, "-s")
        result.assert_outcomes(passed=1)
        assert daemon.read_info(settings) is None
        result.stdout.fnmatch_lines([f"*stopped the leftover daemon {info['pid']} of *fake-azure-home0*"])
    finally:
        daemon.stop(settings)
    assert_no_leftovers(pytester)


def test_reaper_leaves_a_live_sessions_daemon_alone(pytester: pytest.Pytester) -> None:
    from emulator import daemon
    from fake_azure import _pytest_support as support
    from fake_azure.settings import Settings

    live_home = pytester.path / "basetemp-live" / "fake-azure-home0"
    live_home.mkdir(parents=True)
    (live_home / support.OWNER_FILE).write_text(json.dumps({"pid": os.getppid()}))  # alive
    settings = Settings(home=live_home.resolve())
    daemon.ensure_running(settings)
    try:
        assert support.reap_stale_daemons(pytester.path / "bt") == []
        assert daemon.read_info(settings) is not None
    finally:
        daemon.stop(settings)
