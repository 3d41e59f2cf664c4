"""The daemon and the ``fake-azure`` CLI, each test in its own fresh FAKE_AZURE_HOME.

Every test that may start a daemon uses the ``home`` fixture, which runs ``fake-azure down`` for that
home afterwards (and kills the recorded pid if that did not work), so no process outlives the test."""
from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

import fake_azure
from emulator import daemon
from emulator.settings import DaemonSettings
from fake_azure.settings import Settings

REPO = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).parent / "fake-azure"
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "emulator"]
URL_RE = re.compile(r"^http://127\.0\.0\.1:\d+$")
ARM = "/subscriptions/sub-cli/resourceGroups/rg-cli/providers/Microsoft.MachineLearningServices/workspaces/ws-cli"


class Home:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_")}
        self.env["FAKE_AZURE_HOME"] = str(path)
        self.env["PYTHONPATH"] = str(REPO)

    @property
    def settings(self) -> DaemonSettings:
        return DaemonSettings.from_env(self.env)

    def cli(self, *args: str, extra: dict[str, str] | None = None, timeout: float = 60,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env={**self.env, **(extra or {})}, capture_output=True, text=True,
                              timeout=timeout, cwd=cwd or self.path.parent)

    def python(self, code: str, extra: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env={**self.env, **(extra or {})},
                              capture_output=True, text=True, timeout=timeout, cwd=self.path.parent)

    def up(self) -> str:
        result = self.cli("up")
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def down(self) -> None:
        """Stop the daemon (SIGTERM, wait for exit), then ``fake-azure down`` as a user would."""
        _terminate(self)
        result = self.cli("down")
        assert result.returncode == 0, result.stderr

    def info(self) -> dict[str, Any]:
        return json.loads((self.path / "daemon.json").read_text())

    def token(self) -> str:
        return (self.path / "token").read_text().strip()

    def get(self, url: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return requests.request(kwargs.pop("method", "GET"), url + path, headers=headers, timeout=30, **kwargs)


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie nobody has reaped yet (PID 1 of a container may never reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    if state == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
        except ChildProcessError:
            pass
        return True
    return False


def _wait_until(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
    return predicate()


def _terminate(h: "Home") -> None:
    """SIGTERM the home's daemon and wait for it to exit (faster than ``down``'s zombie-blind wait)."""
    try:
        pid = int(h.info()["pid"])
    except (OSError, ValueError, KeyError):
        return
    if not _gone(pid):
        os.kill(pid, signal.SIGTERM)
        if not _wait_until(lambda: _gone(pid), timeout=10):
            os.kill(pid, signal.SIGKILL)
            assert _wait_until(lambda: _gone(pid), timeout=10)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    h = Home(tmp_path / "fa-home")
    try:
        yield h
    finally:
        pid = None
        try:
            pid = int(h.info()["pid"])
        except (OSError, ValueError, KeyError):
            pass
        _terminate(h)
        down = h.cli("down")
        assert down.returncode == 0, down.stderr
        if pid and not _gone(pid):
            os.kill(pid, signal.SIGKILL)


# --- up / status / down -----------------------------------------------------------------------------------------


def test_up_prints_a_url_and_returns(home: Home) -> None:
    began = time.monotonic()
    result = home.cli("up", timeout=30)  # a daemon holding our pipes would make this time out
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert URL_RE.match(url), result.stdout
    assert re.search(r"fake-azure: started in \d+\.\d\ds \(pid \d+, home .*fa-home\)", result.stderr)
    assert time.monotonic() - began < 30
    assert requests.get(url + "/_emulator/health", timeout=5).json() == {"status": "ok",
                                                                         "version": fake_azure.__version__}
    again = home.cli("up")
    assert again.returncode == 0
    assert again.stdout.strip() == url
    assert "fake-azure: already running" in again.stderr


def test_status_json(home: Home) -> None:
    url = home.up()
    result = home.cli("status", "--json")
    assert result.returncode == 0
    status = json.loads(result.stdout)
    assert set(status) >= {"url", "pid", "home", "runtime", "version", "running"}
    assert status["running"] is True
    assert status["url"] == url
    assert isinstance(status["pid"], int) and status["pid"] == home.info()["pid"]
    assert status["home"] == str(home.path.resolve())
    assert status["runtime"] == "process"
    assert status["progress"] == "immediate"
    assert status["version"] == fake_azure.__version__


def test_status_text(home: Home) -> None:
    url = home.up()
    result = home.cli("status")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == (f"fake-azure {fake_azure.__version__}: running at {url} "
                                             f"(pid {home.info()['pid']})")
    assert f"  home:     {home.path.resolve()}" in result.stdout


def test_token_and_home_permissions(home: Home) -> None:
    home.up()
    assert stat.S_IMODE(os.stat(home.path).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(home.path / "token").st_mode) == 0o600
    assert len(home.token()) >= 32


def test_loosened_token_file_is_tightened_on_start(home: Home) -> None:
    home.path.mkdir(mode=0o755)
    (home.path / "token").write_text("my-own-token-0123456789-abcdefghijklmnop")
    os.chmod(home.path / "token", 0o644)
    url = home.up()
    assert stat.S_IMODE(os.stat(home.path / "token").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home.path).st_mode) == 0o700
    assert home.get(url, "/providers/Microsoft.MachineLearningServices/workspaces",
                    "my-own-token-0123456789-abcdefghijklmnop").status_code == 200


@pytest.mark.parametrize("blank", ["", "  \n"])
def test_an_empty_token_file_is_regenerated_on_start_and_logged(home: Home, blank: str) -> None:
    home.path.mkdir(mode=0o700)
    (home.path / "token").write_text(blank)  # a crash between creating the file and writing it
    url = home.up()
    assert len(home.token()) >= 32
    assert stat.S_IMODE(os.stat(home.path / "token").st_mode) == 0o600
    assert "the token file" in (home.path / "daemon.log").read_text() and "was empty" in \
        (home.path / "daemon.log").read_text()
    path = "/providers/Microsoft.MachineLearningServices/workspaces"
    assert home.get(url, path, home.token()).status_code == 200
    assert home.get(url, path, "").status_code == 401  # "Bearer " never matches
    facade = home.python("""
        from fake_azure.core import Workspace
        print(Workspace("sub-cli", "rg-cli", "ws-token").name)
    """)
    assert facade.returncode == 0, facade.stderr


def test_a_token_file_emptied_under_a_running_daemon_is_put_back(home: Home) -> None:
    url = home.up()
    token = home.token()
    (home.path / "token").write_text("")
    facade = home.python("""
        from fake_azure.core import Workspace
        print(Workspace("sub-cli", "rg-cli", "ws-emptied").name)
    """)
    assert facade.returncode == 0, facade.stderr
    assert facade.stdout.strip() == "ws-emptied"
    assert home.token() == token and stat.S_IMODE(os.stat(home.path / "token").st_mode) == 0o600
    assert home.get(url, "/providers/Microsoft.MachineLearningServices/workspaces", token).status_code == 200


def test_an_unreadable_or_garbled_token_file_never_makes_the_daemon_answer_500(home: Home) -> None:
    url = home.up()
    token = home.token()
    path = "/providers/Microsoft.MachineLearningServices/workspaces"
    (home.path / "token").unlink()
    (home.path / "token").mkdir()  # unreadable as a file: the daemon cannot put its token back either
    assert home.get(url, path, "wrong").status_code == 401
    assert home.get(url, path, token).status_code == 200
    (home.path / "token").rmdir()
    (home.path / "token").write_bytes(b"\xff\xfe garbage")  # not a token: as an emptied file, put back
    assert home.get(url, path, "wrong").status_code == 401
    assert home.token() == token


def test_a_garbled_token_file_is_replaced_at_start_and_an_unreadable_one_is_a_clear_error(home: Home) -> None:
    home.path.mkdir(mode=0o700)
    (home.path / "token").write_bytes(b"\xff\xfe\x00")
    home.up()
    assert len(home.token()) >= 32 and "was empty" in (home.path / "daemon.log").read_text()
    home.down()
    (home.path / "token").unlink()
    (home.path / "token").mkdir()
    result = home.cli("up")
    assert result.returncode != 0
    assert "token file" in result.stderr + (home.path / "daemon.log").read_text()
    assert "Traceback" not in (home.path / "daemon.log").read_text()


def test_requests_need_the_token(home: Home) -> None:
    url = home.up()
    path = "/providers/Microsoft.MachineLearningServices/workspaces"
    for response in (home.get(url, path), home.get(url, path, "wrong-token"),
                     requests.get(url + path, headers={"Authorization": home.token()}, timeout=10),
                     home.get(url, ARM + "/computes/x", "wrong", method="PUT", json={})):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "Unauthorized"
        assert "token" in response.json()["error"]["message"]
    ok = home.get(url, path, home.token())
    assert ok.status_code == 200 and ok.json() == {"value": []}
    assert home.get(url, "/_emulator/health").status_code == 200  # the only open route


def test_down_then_status_exit_code_3(home: Home) -> None:
    home.up()
    pid = home.info()["pid"]
    down = home.cli("down")
    assert down.returncode == 0
    assert "fake-azure: stopped" in down.stderr
    assert _gone(pid)
    assert not (home.path / "daemon.json").exists()
    status = home.cli("status")
    assert status.returncode == 3
    assert status.stdout.strip() == f"fake-azure {fake_azure.__version__}: not running (home {home.path.resolve()})"
    status_json = home.cli("status", "--json")
    assert status_json.returncode == 3
    parsed = json.loads(status_json.stdout)
    assert parsed["running"] is False and parsed["url"] is None and parsed["pid"] is None
    again = home.cli("down")
    assert again.returncode == 0 and "fake-azure: not running" in again.stderr


def test_status_of_a_never_started_home(home: Home) -> None:
    assert home.cli("status").returncode == 3


def test_a_killed_daemon_is_noticed_and_replaced(home: Home) -> None:
    home.up()
    old_pid = home.info()["pid"]
    os.kill(old_pid, signal.SIGKILL)
    assert _wait_until(lambda: _gone(old_pid))
    assert home.cli("status").returncode == 3  # daemon.json is stale, not trusted
    url = home.up()
    assert URL_RE.match(url)
    assert home.info()["pid"] != old_pid


def test_serve_refuses_a_second_daemon(home: Home) -> None:
    url = home.up()
    result = home.cli("serve", timeout=30)
    assert result.returncode == 1
    assert f"fake-azure: a daemon already serves this home at {url}" in result.stderr


def test_bad_settings_are_reported_by_the_cli(home: Home) -> None:
    result = home.cli("status", extra={"FAKE_AZURE_TARGET": "gcp"})
    assert result.returncode == 1
    assert result.stderr.strip() == "fake-azure: FAKE_AZURE_TARGET='gcp' is not one of emulator, azure"
    result = home.cli("up", extra={"FAKE_AZURE_PROGRESS": "slowly"})
    assert result.returncode == 1
    assert "progress policy 'slowly' is not one of" in result.stderr
    assert not (home.path / "daemon.json").exists()


def test_version_flag(home: Home) -> None:
    result = home.cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"fake-azure {fake_azure.__version__}"


def test_up_honours_the_progress_policy(home: Home) -> None:
    home.cli("up", extra={"FAKE_AZURE_PROGRESS": "polls:2"})
    assert json.loads(home.cli("status", "--json").stdout)["progress"] == "polls:2"
    url = home.info()["url"]
    assert home.get(url, "/_emulator/progress", home.token()).json() == {"policy": "polls:2"}


# --- state across restarts, autostart -----------------------------------------------------------------------------

CREATE_CLUSTER = """
    from fake_azure.core import Workspace
    from fake_azure.core.compute import AksCompute, ComputeTarget
    ws = Workspace("sub-cli", "rg-cli", "ws-keep", _location="westus2")
    target = ComputeTarget.create(ws, "aks-keep", AksCompute.provisioning_configuration(vm_size="Standard_NC6"))
    target.wait_for_completion()
    print(target.provisioning_state, target.agent_vm_size)
"""
READ_CLUSTER = """
    from fake_azure.core import Workspace
    from fake_azure.core.compute import ComputeTarget
    ws = Workspace("sub-cli", "rg-cli", "ws-keep")
    target = ComputeTarget(ws, "aks-keep")
    print(ws.location, target.provisioning_state, target.agent_vm_size, target.agent_count)
"""


def test_state_survives_down_and_up(home: Home) -> None:
    home.up()
    token = home.token()
    created = home.python(CREATE_CLUSTER)
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines()[-1] == "Succeeded Standard_NC6"
    home.down()
    home.up()
    assert home.token() == token  # the token file is kept too
    read = home.python(READ_CLUSTER, extra={"FAKE_AZURE_AUTOSTART": "0", "FAKE_AZURE_STRICT_WORKSPACES": "1"})
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "westus2 Succeeded Standard_NC6 3"


def test_a_facade_call_autostarts_the_daemon(home: Home) -> None:
    assert home.cli("status").returncode == 3
    result = home.python("""
        from fake_azure.core import Workspace
        print(Workspace("sub-cli", "rg-cli", "ws-auto").name)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ws-auto"
    assert "fake-azure: started the local cloud at http://127.0.0.1:" in result.stderr
    assert f"(home {home.path.resolve()})" in result.stderr
    assert home.cli("status").returncode == 0  # the daemon outlives the script that started it
    second = home.python("""
        from fake_azure.core import Workspace
        Workspace("sub-cli", "rg-cli", "ws-auto")
    """)
    assert second.returncode == 0 and "started the local cloud" not in second.stderr


def test_autostart_off_without_a_daemon_is_a_clear_error(home: Home) -> None:
    result = home.python("""
        from fake_azure.core import Workspace
        Workspace("sub-cli", "rg-cli", "ws-none")
    """, extra={"FAKE_AZURE_AUTOSTART": "0"})
    assert result.returncode != 0
    assert "CloudUnavailable" in result.stderr
    assert (f"No fake-azure daemon is running for {home.path.resolve()} and FAKE_AZURE_AUTOSTART is off. "
            "Start one with: fake-azure up") in result.stderr
    assert home.cli("status").returncode == 3


def test_autostart_off_in_process(tmp_path: Path) -> None:
    from fake_azure._client import CloudClient, CloudUnavailable
    from fake_azure.exceptions import UserErrorException

    settings = Settings(home=tmp_path / "never-started", autostart=False)
    with pytest.raises(CloudUnavailable) as info:
        CloudClient.connect(settings)
    assert isinstance(info.value, UserErrorException)
    assert info.value.message.endswith("FAKE_AZURE_AUTOSTART is off. Start one with: fake-azure up")
    assert not (tmp_path / "never-started" / "daemon.json").exists()


def test_the_client_follows_a_restarted_daemon(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_azure._client import CloudClient

    home.up()
    client = CloudClient.connect(home.settings)
    first_url = client.base_url
    assert client.admin("GET", "/_emulator/progress") == {"policy": "immediate"}
    home.down()
    home.up()
    assert client.admin("GET", "/_emulator/progress") == {"policy": "immediate"}
    assert client.base_url == home.info()["url"]
    assert URL_RE.match(first_url)


# --- reset ------------------------------------------------------------------------------------------------------


def test_reset_empties_a_running_cloud(home: Home) -> None:
    url = home.up()
    created = home.python(CREATE_CLUSTER)
    assert created.returncode == 0, created.stderr
    listing = "/providers/Microsoft.MachineLearningServices/workspaces"
    assert len(home.get(url, listing, home.token()).json()["value"]) == 1
    result = home.cli("reset")
    assert result.returncode == 0
    assert "fake-azure: state reset" in result.stderr
    assert home.get(url, listing, home.token()).json() == {"value": []}
    assert home.cli("status").returncode == 0  # reset keeps the daemon running
    read = home.python(READ_CLUSTER, extra={"FAKE_AZURE_STRICT_WORKSPACES": "1"})
    assert read.returncode != 0 and "Workspace not found." in read.stderr


def test_reset_of_a_stopped_cloud_deletes_the_database(home: Home) -> None:
    home.up()
    assert home.python(CREATE_CLUSTER).returncode == 0
    home.down()
    assert (home.path / "state.db").exists()
    result = home.cli("reset")
    assert result.returncode == 0 and "fake-azure: state reset" in result.stderr
    assert not (home.path / "state.db").exists()
    url = home.up()
    assert home.get(url, "/providers/Microsoft.MachineLearningServices/workspaces",
                    home.token()).json() == {"value": []}


# --- run --------------------------------------------------------------------------------------------------------

USER_SCRIPT = """\
from azureml.core import Workspace
print(Workspace.__module__)
"""


def test_run_maps_azureml_to_the_emulator(home: Home, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(USER_SCRIPT)
    result = home.cli("run", "--", "python", str(script), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fake_azure.core.workspace"
    assert home.cli("status").returncode == 0  # run started the daemon first


def test_run_without_double_dash(home: Home, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(USER_SCRIPT)
    result = home.cli("run", "python", str(script), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fake_azure.core.workspace"


def test_run_with_target_azure_uses_the_real_sdk(home: Home, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(USER_SCRIPT)
    result = home.cli("run", "--", "python", str(script), extra={"FAKE_AZURE_TARGET": "azure"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "azureml.core.workspace"
    assert home.cli("status").returncode == 3  # no daemon for real Azure


def test_run_passes_the_exit_code_through(home: Home, tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text("import sys\nsys.exit(7)\n")
    assert home.cli("run", "--", "python", str(script), timeout=120).returncode == 7


def test_run_a_full_deploy_style_script(home: Home, tmp_path: Path) -> None:
    script = tmp_path / "deploy.py"
    script.write_text(textwrap.dedent("""\
        from azureml.core import Workspace
        from azureml.core.compute import AksCompute, ComputeTarget
        from azureml.core.compute_target import ComputeTargetException

        ws = Workspace("sub-cli", "rg-cli", "ws-run")
        try:
            target = ComputeTarget(ws, "aks-gpu")
        except ComputeTargetException:
            target = ComputeTarget.create(ws, "aks-gpu", AksCompute.provisioning_configuration(vm_size="Standard_NC6"))
            target.wait_for_completion(show_output=True)
        print(type(target).__module__, target.provisioning_state)
    """))
    first = home.cli("run", "--", "python", str(script), timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stdout == ('SucceededProvisioning operation finished, operation "Succeeded"\n'
                            "fake_azure.core.compute.aks Succeeded\n")
    second = home.cli("run", "--", "python", str(script), timeout=120)
    assert second.stdout == "fake_azure.core.compute.aks Succeeded\n"


def test_run_without_a_command(home: Home) -> None:
    result = home.cli("run")
    assert result.returncode == 2
    assert "fake-azure run: give a command" in result.stderr


def test_run_with_an_unknown_command(home: Home) -> None:
    result = home.cli("run", "--", "no-such-command-fake-azure", timeout=120)
    assert result.returncode == 127
    assert "fake-azure run: command not found: no-such-command-fake-azure" in result.stderr


# --- HTTP errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, message", [
    (b"{not json", "The request body is not valid JSON: "),
    (b"", "The request body is empty; a JSON object was expected."),
    (b"[1, 2]", "The request body must be a JSON object."),
    (b"\xff\xfe\x00", "The request body is not valid JSON: "),
])
def test_malformed_compute_body_is_a_400(home: Home, body: bytes, message: str) -> None:
    url = home.up()
    response = requests.put(url + ARM + "/computes/aks-x", data=body, timeout=10,
                            headers={"Authorization": f"Bearer {home.token()}", "Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["statusCode"] == 400
    assert error["message"].startswith(message)


def test_unsupported_compute_type_is_a_400(home: Home) -> None:
    url = home.up()
    token = home.token()
    assert home.get(url, ARM, token, method="PUT", json={}).status_code == 201
    response = home.get(url, ARM + "/computes/c", token, method="PUT",
                        json={"properties": {"computeType": "AmlCompute"}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UnsupportedComputeType"


def test_unknown_route_is_a_404_json_envelope(home: Home) -> None:
    url = home.up()
    response = home.get(url, "/no/such/route", home.token())
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "NotFound" and error["statusCode"] == 404
    assert error["message"]


def test_wrong_method_is_a_405_json_envelope(home: Home) -> None:
    url = home.up()
    response = home.get(url, "/_emulator/reset", home.token())  # reset is POST only
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "MethodNotAllowed"


def test_missing_workspace_is_a_404_resource_not_found(home: Home) -> None:
    url = home.up()
    response = home.get(url, ARM + "/computes/x", home.token())
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "ResourceNotFound", "statusCode": 404,
                                        "message": "Workspace not found."}


def test_missing_compute_is_a_404_with_the_sdk_text(home: Home) -> None:
    url = home.up()
    token = home.token()
    home.get(url, ARM, token, method="PUT", json={})
    response = home.get(url, ARM + "/computes/nope", token)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == ("ComputeTargetNotFound: Compute Target with name nope not found "
                                                   "in provided workspace")


# --- concurrent starts ------------------------------------------------------------------------------------------


def test_concurrent_ensure_running_starts_exactly_one_daemon(home: Home) -> None:
    settings = home.settings
    results: list[tuple[dict[str, Any], bool]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(daemon.ensure_running(settings))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == 4
    pids = {info["pid"] for info, _ in results}
    urls = {info["url"] for info, _ in results}
    assert len(pids) == 1 and len(urls) == 1
    assert sum(1 for _, started in results if started) == 1
    assert home.info()["pid"] in pids
    log = (home.path / "daemon.log").read_text()
    assert log.count("fake-azure: serving") == 1


def test_concurrent_cli_up_starts_exactly_one_daemon(home: Home) -> None:
    procs = [subprocess.Popen([*CLI, "up"], env=home.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert len({out.strip() for out, _ in outputs}) == 1
    assert sum("started in" in err for _, err in outputs) == 1
    assert (home.path / "daemon.log").read_text().count("fake-azure: serving") == 1


def test_pid_alive_treats_a_foreign_zombie_as_dead(tmp_path: Path) -> None:
    """An exited daemon its parent has not reaped yet (the autostarting process, a container's PID 1) is dead:
    otherwise ``fake-azure down`` waits its whole timeout and then SIGKILLs."""
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys\n"
                               "child = subprocess.Popen(['true'])\n"
                               "print(child.pid, flush=True)\n"
                               "sys.stdin.read()\n"],  # keeps the exited child unreaped until we close stdin
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        zombie = int(parent.stdout.readline())
        assert _wait_until(lambda: _gone(zombie), timeout=30)
        assert Path(f"/proc/{zombie}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        assert daemon.pid_alive(zombie) is False
    finally:
        parent.stdin.close()
        parent.wait(timeout=30)


def test_down_of_a_daemon_our_process_started_is_prompt(home: Home) -> None:
    """The daemon is our child here, so after SIGTERM it stays a zombie until we reap it; ``down`` in
    another process must still see it as stopped rather than wait out its 10 s timeout."""
    info, started = daemon.ensure_running(home.settings)
    assert started
    began = time.monotonic()
    result = home.cli("down")
    took = time.monotonic() - began
    assert result.returncode == 0 and "fake-azure: stopped" in result.stderr
    assert took < 8, f"fake-azure down took {took:.1f}s"
    assert _gone(info["pid"])
    assert home.cli("status").returncode == 3


def test_stop_of_a_home_without_a_daemon(tmp_path: Path) -> None:
    assert daemon.stop(Settings(home=tmp_path / "empty")) is False
