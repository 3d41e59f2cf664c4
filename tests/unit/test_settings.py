"""Settings.from_env (shared) and DaemonSettings.from_env (the daemon's): every FAKE_AZURE_* knob parsed from an
explicit mapping, and bad values rejected."""
from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from emulator.progress import ProgressPolicyError
from emulator.settings import RUNTIMES, DaemonSettings
from fake_azure.settings import TARGETS, Settings, SettingsError


def test_defaults_from_an_empty_environment() -> None:
    s = DaemonSettings.from_env({})
    assert s.home == Path.home() / ".fake-azure"
    assert (s.target, s.runtime, s.progress) == ("emulator", "process", "immediate")
    assert (s.host, s.port) == ("127.0.0.1", 0)
    assert s.poll_interval == pytest.approx(0.02)
    assert s.autostart is True
    assert s.strict_workspaces is False
    assert s.default_location == "eastus"
    assert s.startup_timeout == pytest.approx(15.0)


def test_from_env_equals_the_dataclass_defaults() -> None:
    assert DaemonSettings.from_env({}) == DaemonSettings()


def test_empty_strings_mean_default() -> None:
    env = {name: "" for name in ("FAKE_AZURE_HOME", "FAKE_AZURE_TARGET", "FAKE_AZURE_RUNTIME", "FAKE_AZURE_PROGRESS",
                                 "FAKE_AZURE_POLL_INTERVAL", "FAKE_AZURE_BIND", "FAKE_AZURE_PORT",
                                 "FAKE_AZURE_AUTOSTART", "FAKE_AZURE_STRICT_WORKSPACES", "FAKE_AZURE_LOCATION",
                                 "FAKE_AZURE_STARTUP_TIMEOUT")}
    assert DaemonSettings.from_env(env) == DaemonSettings()


def test_every_knob_is_read(tmp_path: Path) -> None:
    s = DaemonSettings.from_env({
        "FAKE_AZURE_HOME": str(tmp_path / "h"),
        "FAKE_AZURE_TARGET": "azure",
        "FAKE_AZURE_RUNTIME": "docker",
        "FAKE_AZURE_PROGRESS": "polls:3",
        "FAKE_AZURE_POLL_INTERVAL": "0.5",
        "FAKE_AZURE_BIND": "0.0.0.0",
        "FAKE_AZURE_PORT": "8123",
        "FAKE_AZURE_AUTOSTART": "0",
        "FAKE_AZURE_STRICT_WORKSPACES": "yes",
        "FAKE_AZURE_LOCATION": "westeurope",
        "FAKE_AZURE_STARTUP_TIMEOUT": "2.5",
    })
    assert s.home == (tmp_path / "h").resolve()
    assert (s.target, s.runtime, s.progress) == ("azure", "docker", "polls:3")
    assert s.poll_interval == pytest.approx(0.5)
    assert (s.host, s.port) == ("0.0.0.0", 8123)
    assert s.autostart is False
    assert s.strict_workspaces is True
    assert s.default_location == "westeurope"
    assert s.startup_timeout == pytest.approx(2.5)


def test_home_is_expanded_and_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert DaemonSettings.from_env({"FAKE_AZURE_HOME": "rel/home"}).home == (tmp_path / "rel" / "home").resolve()
    monkeypatch.setenv("HOME", str(tmp_path))
    assert DaemonSettings.from_env({"FAKE_AZURE_HOME": "~/fa"}).home == (tmp_path / "fa").resolve()


def test_files_live_under_home(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    assert s.db_path == tmp_path / "state.db"
    assert s.blob_dir == tmp_path / "blobs"
    assert s.token_path == tmp_path / "token"
    assert s.daemon_info_path == tmp_path / "daemon.json"
    assert s.lock_path == tmp_path / "daemon.lock"
    assert s.log_path == tmp_path / "daemon.log"
    assert s.model_cache_dir == tmp_path / "model-cache"


@pytest.mark.parametrize("value, expected", [(" Azure ", "azure"), ("EMULATOR", "emulator"), ("azure", "azure")])
def test_target_is_case_and_space_insensitive(value: str, expected: str) -> None:
    assert DaemonSettings.from_env({"FAKE_AZURE_TARGET": value}).target == expected


@pytest.mark.parametrize("value", ["Process", "DOCKER", " auto "])
def test_runtime_is_case_insensitive(value: str) -> None:
    assert DaemonSettings.from_env({"FAKE_AZURE_RUNTIME": value}).runtime == value.strip().lower()
    assert value.strip().lower() in RUNTIMES


def test_unknown_target_is_rejected_with_the_allowed_values() -> None:
    with pytest.raises(SettingsError) as info:
        DaemonSettings.from_env({"FAKE_AZURE_TARGET": "aws"})
    assert str(info.value) == f"FAKE_AZURE_TARGET='aws' is not one of {', '.join(TARGETS)}"


def test_unknown_runtime_is_rejected_with_the_allowed_values() -> None:
    with pytest.raises(SettingsError) as info:
        DaemonSettings.from_env({"FAKE_AZURE_RUNTIME": "podman"})
    assert str(info.value) == "FAKE_AZURE_RUNTIME='podman' is not one of process, docker, auto"


@pytest.mark.parametrize("name", ["FAKE_AZURE_POLL_INTERVAL", "FAKE_AZURE_STARTUP_TIMEOUT"])
def test_non_numeric_numbers_are_settings_errors(name: str) -> None:
    with pytest.raises(SettingsError) as info:
        DaemonSettings.from_env({name: "fast"})
    assert str(info.value) == f"{name} must be a number, got 'fast'"


@pytest.mark.parametrize("value", ["fast", "8080.9", "70000", "65536", "-1", "1e3", "0x50"])
def test_port_must_be_a_valid_port_number(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        DaemonSettings.from_env({"FAKE_AZURE_PORT": value})
    assert str(info.value) == f"FAKE_AZURE_PORT must be a port number from 0 to 65535, got {value!r}"


@pytest.mark.parametrize("value, port", [("0", 0), ("65535", 65535), (" 8080 ", 8080), ("", 0)])
def test_valid_ports(value: str, port: int) -> None:
    assert DaemonSettings.from_env({"FAKE_AZURE_PORT": value}).port == port


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


@pytest.mark.parametrize("value", ["1", "true", "TRUE", " yes ", "on"])
def test_truthy_flags(value: str) -> None:
    assert DaemonSettings.from_env({"FAKE_AZURE_STRICT_WORKSPACES": value}).strict_workspaces is True
    assert DaemonSettings.from_env({"FAKE_AZURE_AUTOSTART": value}).autostart is True


@pytest.mark.parametrize("value", ["0", "false", "False", "no", " off"])
def test_falsy_flags(value: str) -> None:
    assert DaemonSettings.from_env({"FAKE_AZURE_STRICT_WORKSPACES": value}).strict_workspaces is False
    assert DaemonSettings.from_env({"FAKE_AZURE_AUTOSTART": value}).autostart is False


@pytest.mark.parametrize("name", ["FAKE_AZURE_AUTOSTART", "FAKE_AZURE_STRICT_WORKSPACES"])
def test_bad_flag_is_rejected_naming_the_variable(name: str) -> None:
    with pytest.raises(SettingsError) as info:
        DaemonSettings.from_env({name: "maybe"})
    assert str(info.value) == f"{name} must be a boolean (1/0, true/false), got 'maybe'"


@pytest.mark.parametrize("value", ["immediate", "polls:0", "polls:5", "seconds:0", "seconds:1.5", " IMMEDIATE "])
def test_progress_policy_is_validated_and_kept(value: str) -> None:
    assert DaemonSettings.from_env({"FAKE_AZURE_PROGRESS": value}).progress == value


@pytest.mark.parametrize("value", ["slow", "polls", "polls:-1", "polls:1.5", "seconds:-2", "minutes:3", "polls:inf"])
def test_bad_progress_policy_fails_at_start(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        DaemonSettings.from_env({"FAKE_AZURE_PROGRESS": value})
    assert str(info.value) == (f"FAKE_AZURE_PROGRESS: progress policy {value!r} is not one of 'immediate', "
                               "'polls:N' (N >= 0), 'seconds:S' (S >= 0)")
    assert not isinstance(info.value, ProgressPolicyError)  # one error type for every bad variable


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FAKE_AZURE_HOME", str(tmp_path))
    monkeypatch.setenv("FAKE_AZURE_LOCATION", "westus2")
    s = DaemonSettings.from_env()
    assert s.home == tmp_path.resolve()
    assert s.default_location == "westus2"


def test_settings_are_frozen() -> None:
    s = DaemonSettings()
    with pytest.raises(FrozenInstanceError):
        s.port = 1  # type: ignore[misc]  # writing a frozen field is what is tested


def test_probe_delay_scale_defaults_to_no_delay_and_rejects_bad_values() -> None:
    assert DaemonSettings.from_env({}).probe_delay_scale == 0.0
    assert DaemonSettings.from_env({"FAKE_AZURE_PROBE_DELAY_SCALE": "0.5"}).probe_delay_scale == 0.5
    for bad in ("-1", "soon"):
        with pytest.raises(SettingsError):
            DaemonSettings.from_env({"FAKE_AZURE_PROBE_DELAY_SCALE": bad})


def test_the_docker_sdks_variables_are_carried_and_the_publish_address_read() -> None:
    s = DaemonSettings.from_env({"DOCKER_HOST": "ssh://ml@gpu-box", "DOCKER_CERT_PATH": "/certs", "PATH": "/bin",
                           "FAKE_AZURE_DOCKER_PUBLISH_ADDRESS": "0.0.0.0"})
    assert dict(s.docker_env) == {"DOCKER_HOST": "ssh://ml@gpu-box", "DOCKER_CERT_PATH": "/certs"}
    assert s.docker_host == "ssh://ml@gpu-box"
    assert s.docker_publish_address == "0.0.0.0"
    unset = DaemonSettings.from_env({})
    assert unset.docker_host is None and unset.docker_publish_address is None


def test_the_pytest_plugins_option_choices_are_the_settings_choices() -> None:
    from fake_azure import pytest_plugin

    assert (pytest_plugin.TARGETS, pytest_plugin.RUNTIMES) == (TARGETS, RUNTIMES)


def test_test_support_knobs_are_read() -> None:
    s = DaemonSettings.from_env({"FAKE_AZURE_REQUIRE_DOCKER": "1", "FAKE_AZURE_WORKSPACE_CONFIG": "/cfg/config.json",
                           "FAKE_AZURE_DOCKER_PIP": "wheelhouse"})
    assert (s.require_docker, s.workspace_config, s.docker_pip) == (True, Path("/cfg/config.json"), "wheelhouse")
    with pytest.raises(SettingsError, match="FAKE_AZURE_DOCKER_PIP='conda' is not one of auto, online, wheelhouse"):
        DaemonSettings.from_env({"FAKE_AZURE_DOCKER_PIP": "conda"})


def test_max_body_bytes_defaults_to_8_gib_and_refuses_bad_values() -> None:
    assert DaemonSettings.from_env({}).max_body_bytes == 8 * 1024 ** 3
    assert DaemonSettings.from_env({"FAKE_AZURE_MAX_BODY_BYTES": "1000"}).max_body_bytes == 1000
    for bad in ("-1", "0", "1e9", "lots"):
        with pytest.raises(SettingsError, match="FAKE_AZURE_MAX_BODY_BYTES"):
            DaemonSettings.from_env({"FAKE_AZURE_MAX_BODY_BYTES": bad})


def test_python_policy_defaults_to_nearest_and_rejects_bad_values() -> None:
    assert DaemonSettings.from_env({}).python_policy == "nearest"
    assert DaemonSettings.from_env({"FAKE_AZURE_PYTHON_POLICY": " Exact "}).python_policy == "exact"
    with pytest.raises(SettingsError) as info:
        DaemonSettings.from_env({"FAKE_AZURE_PYTHON_POLICY": "newest"})
    assert "FAKE_AZURE_PYTHON_POLICY" in str(info.value) and "nearest, exact" in str(info.value)


@pytest.mark.parametrize("name", ["FAKE_AZURE_PORT", "FAKE_AZURE_MAX_BODY_BYTES", "FAKE_AZURE_REPLICA_LOG_MAX_SIZE",
                                  "FAKE_AZURE_REPLICA_LOG_MAX_FILES"])
@pytest.mark.parametrize("value", ["²", "8²", "٨٠", "１２", "12k²"])
def test_whole_numbers_are_ascii_digits_only(name: str, value: str) -> None:
    """str.isdigit() accepts superscripts and other scripts' digits ('²' then made int() raise, '٨٠' passed
    as 80): a setting is read with a strict parse, and anything else is a SettingsError naming it."""
    with pytest.raises(SettingsError, match=name):
        DaemonSettings.from_env({name: value})


@pytest.mark.parametrize("name", ["FAKE_AZURE_POLL_INTERVAL", "FAKE_AZURE_STARTUP_TIMEOUT",
                                  "FAKE_AZURE_AUTOSCALE_DOWN_DELAY", "FAKE_AZURE_PROBE_DELAY_SCALE"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "١.٥", "1_0"])
def test_numbers_are_finite_and_ascii(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        DaemonSettings.from_env({name: value})


# --- the split: shared settings for the facade, the daemon's own beside them ---------------------------

DAEMON_KNOBS = {"FAKE_AZURE_RUNTIME": "podman", "FAKE_AZURE_PROGRESS": "slow", "FAKE_AZURE_PORT": "x",
                "FAKE_AZURE_GPU_POLICY": "never", "FAKE_AZURE_MAX_BODY_BYTES": "lots", "FAKE_AZURE_DOCKER_PIP": "conda"}


def test_the_shared_settings_hold_no_daemon_knob_and_never_read_one() -> None:
    shared = Settings.from_env({**DAEMON_KNOBS, "FAKE_AZURE_LOCATION": "westus2"})  # bad daemon values: not read
    assert shared.default_location == "westus2"
    assert not {"runtime", "progress", "port", "gpu_policy", "max_body_bytes", "docker_env"} & set(vars(shared))
    with pytest.raises(SettingsError):
        DaemonSettings.from_env(DAEMON_KNOBS)


def test_the_shared_settings_import_nothing_of_the_daemon() -> None:
    import subprocess
    import sys

    code = ("import sys; from fake_azure.settings import Settings; Settings.from_env({}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'emulator'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_daemon_settings_are_the_shared_ones_plus_the_daemons(tmp_path: Path) -> None:
    env = {"FAKE_AZURE_HOME": str(tmp_path), "FAKE_AZURE_LOCATION": "westus2", "FAKE_AZURE_RUNTIME": "docker",
           "FAKE_AZURE_PROGRESS": "polls:2"}
    daemon = DaemonSettings.from_env(env)
    assert isinstance(daemon, Settings)
    assert (daemon.home, daemon.default_location, daemon.runtime, daemon.progress) == \
        (tmp_path.resolve(), "westus2", "docker", "polls:2")
    shared = Settings(home=tmp_path / "other", autostart=False)
    handed_over = DaemonSettings.for_daemon(shared, env)  # what ensure_running starts a daemon with
    assert (handed_over.home, handed_over.autostart, handed_over.runtime) == (tmp_path / "other", False, "docker")
    assert DaemonSettings.for_daemon(daemon) is daemon


def test_only_the_settings_modules_read_fake_azure_variables() -> None:
    import ast

    root = Path(__file__).resolve().parents[2]
    readers = set()
    for package in ("emulator", "fake_azure", "scoring"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                # env.get("FAKE_AZURE_X"), os.getenv("FAKE_AZURE_X"), env["FAKE_AZURE_X"] read (not assigned)
                key = None
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                        node.func.attr in ("get", "getenv") and node.args:
                    key = node.args[0]
                elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                    key = node.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.startswith("FAKE_AZURE_"):
                    readers.add(path.relative_to(root).as_posix())
    assert readers == {"fake_azure/settings.py", "emulator/settings.py"}
