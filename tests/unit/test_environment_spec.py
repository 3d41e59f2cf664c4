"""Environment definitions resolve to build specs (Python version, pip requirements, digest)."""
from __future__ import annotations

import sys
import textwrap

import pytest

from emulator.environments import BuildSpec, SpecError, interpreter_satisfies, interpreters, resolve_spec
from emulator.environments.builder import summarise_pip_error
from emulator.environments.interpreters import available_versions
from emulator.environments.satisfies import unsatisfied_requirements
from fake_azure.core.environment import Environment

HOST = f"{sys.version_info[0]}.{sys.version_info[1]}"

SEED_ORIGINAL = """\
name: project_environment
dependencies:
  # The python interpreter version.
  # Currently Azure ML only supports 3.5.2 and later.
- python=3.6.2

- pip:
  - azureml-defaults==1.0.43.*
- numpy
- tensorflow-gpu=1.12
channels:
- conda-forge
"""

MODERN = f"""\
name: project_environment
dependencies:
- python={HOST}
- pip:
  - azureml-defaults
- numpy
channels:
- conda-forge
"""


def _always(version: str) -> bool:
    return True


def _conda_build_spec(tmp_path, text: str) -> dict:
    path = tmp_path / "myenv.yml"
    path.write_text(textwrap.dedent(text))
    return Environment.from_conda_specification("myenv", str(path))._to_build_spec()


def test_seed_original_conda_file_fails_on_python_version_first_under_the_exact_policy(tmp_path):
    with pytest.raises(SpecError) as info:
        resolve_spec(_conda_build_spec(tmp_path, SEED_ORIGINAL), HOST, python_available=_always,
                     python_policy="exact")
    message = str(info.value)
    assert message.startswith("python=3.6.2:")
    assert "Python 3.6 cannot run the scoring server" in message and f"python={HOST}" in message
    assert "FAKE_AZURE_PYTHON_POLICY=exact" in message and "FAKE_AZURE_PYTHON_POLICY=nearest" in message


def test_seed_original_conda_file_runs_on_the_nearest_python_with_warnings(tmp_path):
    # Python 3.6 (here too, through pyenv, say) cannot run the scoring server: the nearest that can.
    spec = resolve_spec(_conda_build_spec(tmp_path, SEED_ORIGINAL), HOST,
                        python_available=lambda v: v in ("3.6", "3.8", "3.11"),
                        python_versions=lambda: ["3.6", "3.8", "3.11"])
    assert spec.python == "3.8"
    assert spec.requirements == ("azureml-inference-server-http", "numpy", "tensorflow==1.12.*")
    python_warning, tf_warning = spec.warnings
    assert python_warning.startswith("python=3.6.2: Python 3.6 cannot run the scoring server")
    assert "using Python 3.8 instead" in python_warning and "FAKE_AZURE_PYTHON_POLICY=exact" in python_warning
    assert tf_warning.startswith("'tensorflow-gpu=1.12' installed as 'tensorflow==1.12.*'")
    assert "CPU-only" in tf_warning and "tf.compat.v1" in tf_warning


def test_the_sdk_default_environment_runs_its_own_python_when_it_is_here():
    from fake_azure.core.environment import Environment as SdkEnvironment

    build_spec = SdkEnvironment("e")._to_build_spec()
    assert build_spec["python_version"] == "3.8.13"  # azureml-core 1.61's default
    spec = resolve_spec(build_spec, HOST, python_available=lambda v: v in ("3.8", HOST))
    assert spec.python == "3.8" and spec.warnings == ()
    assert spec.requirements == ("azureml-inference-server-http",)


def test_a_missing_python_takes_the_nearest_available_older_on_a_tie():
    available = ("3.9", "3.11", "3.12")
    spec = resolve_spec({"python_version": "3.10.4"}, "3.12", python_available=lambda v: v in available,
                        python_versions=lambda: available)
    assert spec.python == "3.9"
    (warning,) = spec.warnings
    assert warning.startswith("python=3.10.4: no Python 3.10 interpreter on this machine")
    assert "uv-managed" in warning and "using Python 3.9 instead, the nearest available" in warning
    newer = resolve_spec({"python_version": "3.8"}, "3.12", python_available=lambda v: v in available,
                         python_versions=lambda: available)
    assert newer.python == "3.9"
    with pytest.raises(SpecError) as info:
        resolve_spec({"python_version": "3.10.4"}, "3.12", python_available=lambda v: v in available,
                     python_versions=lambda: available, python_policy="exact")
    assert str(info.value).startswith("python=3.10.4: no Python 3.10 interpreter on this machine")


def test_a_substituted_python_changes_the_digest_to_the_one_built():
    ran = resolve_spec({"python_version": "3.10"}, "3.11", python_available=lambda v: v == "3.11")
    asked = resolve_spec({"python_version": "3.11"}, "3.11", python_available=lambda v: v == "3.11")
    assert ran.python == "3.11" and ran.digest == asked.digest


def test_tensorflow_gpu_1x_is_installed_as_tensorflow_with_a_warning(tmp_path):
    spec = resolve_spec(_conda_build_spec(tmp_path, SEED_ORIGINAL.replace("python=3.6.2", f"python={HOST}")), HOST)
    assert "tensorflow==1.12.*" in spec.requirements and "tensorflow" in spec.binary_only
    assert not any("tensorflow-gpu" in r for r in spec.requirements)
    (warning,) = spec.warnings
    assert warning.startswith("'tensorflow-gpu=1.12' installed as 'tensorflow==1.12.*'")


def test_tensorflow_gpu_as_pip_package_becomes_tensorflow_of_the_same_version():
    spec = resolve_spec({"python_version": HOST, "pip": ["tensorflow-gpu[and-cuda]==2.10.1 ; python_version>'3'"]},
                        HOST)
    assert spec.requirements == ("azureml-inference-server-http", 'tensorflow[and-cuda]==2.10.1; python_version > "3"')
    assert spec.binary_only == ()  # a pip entry: pip's own rules
    (warning,) = spec.warnings
    assert "installed as 'tensorflow==2.10.1'" in warning and "includes its GPU support" in warning
    assert "CPU-only" not in warning


def test_conda_entries_are_installed_binary_only_and_pip_entries_are_not(tmp_path):
    spec = resolve_spec({"python_version": HOST, "conda": ["numpy=1.19.5", "conda-forge::PyTorch=2.1", "pip"],
                         "pip": ["pandas==2.2.0"]}, HOST)
    assert spec.binary_only == ("numpy", "torch")
    assert spec.pip_options == ("--only-binary", "numpy,torch")
    assert spec.requirements == ("azureml-inference-server-http", "numpy==1.19.5.*", "pandas==2.2.0", "torch==2.1.*")
    assert resolve_spec({"python_version": HOST, "pip": ["numpy"]}, HOST).pip_options == ()


@pytest.mark.parametrize("requirement", ["numpy\nRUN touch /pwned", "numpy\x00", "numpy\rx"])
def test_a_pip_requirement_with_control_characters_is_refused(requirement):
    # In a docker build a newline would end the pip RUN line and start an instruction of its own.
    with pytest.raises(SpecError, match="control characters"):
        resolve_spec({"python_version": HOST, "pip": ["pandas", requirement]}, HOST)


def test_modern_conda_file_resolves(tmp_path):
    spec = resolve_spec(_conda_build_spec(tmp_path, MODERN), HOST)
    assert spec.python == HOST
    assert spec.requirements == ("azureml-inference-server-http", "numpy")
    assert any("azureml-defaults" in note for note in spec.notes)
    assert len(spec.digest) == 16 and int(spec.digest, 16) >= 0


def test_unavailable_python_names_the_version():
    with pytest.raises(SpecError) as info:
        resolve_spec({"python_version": "3.99.1"}, "3.11.7", python_available=lambda v: False)
    message = str(info.value)
    assert message.startswith("python=3.99.1: no Python 3.99 interpreter on this machine")
    assert "python=3.11" in message


def test_interpreter_lookup_is_real_for_the_host_version():
    assert resolve_spec({"python_version": sys.version.split()[0]}, HOST).python == HOST
    with pytest.raises(SpecError, match="no Python 3.99"):
        resolve_spec({"python_version": "3.99"}, HOST, python_policy="exact")
    nearest = resolve_spec({"python_version": "3.99"}, HOST)
    assert nearest.python == available_versions()[-1]  # the newest found here
    assert "no Python 3.99" in nearest.warnings[0]


def test_uv_managed_interpreters_are_found(tmp_path, monkeypatch):
    uv_dir = tmp_path / "uv" / "python"
    exe = uv_dir / f"cpython-{HOST}.99-linux-x86_64-gnu" / "bin" / f"python{HOST}"
    exe.parent.mkdir(parents=True)
    exe.symlink_to(sys.executable)
    monkeypatch.setattr(interpreters, "_UV_PYTHON_DIR", uv_dir)
    candidates = interpreters._candidates(HOST, sys.executable)
    assert str(exe) in candidates and interpreters.interpreter_version(str(exe)) == HOST
    # Tried after the daemon's own, PATH's and pyenv's.
    assert candidates.index(str(exe)) > candidates.index(sys.executable)


def test_no_python_version_means_the_host_one():
    spec = resolve_spec({"conda": [], "pip": []}, "3.11.7")
    assert spec == BuildSpec(python="3.11", requirements=("azureml-inference-server-http",))


def test_conda_translation():
    spec = resolve_spec({
        "python_version": HOST,
        "conda": ["pip", "setuptools=41", "cudatoolkit=11.8", "conda-forge::pytorch=2.1", "numpy=1.2",
                  "scikit-learn==1.3.0", "pandas>=2", "scipy 1.11 py311_0", "Pillow", "numpy=1.2=py36_0"],
        "pip": ["Six >= 1.0", "# comment", "--extra-index-url https://example.invalid"],
    }, HOST)
    assert spec.requirements == (
        "azureml-inference-server-http", "numpy==1.2.*", "pandas>=2", "pillow", "scikit-learn==1.3.0",
        "scipy==1.11.*", "six>=1.0", "torch==2.1.*",
    )
    notes = " | ".join(spec.notes)
    assert "torch" in notes and "setuptools=41" in notes and "cudatoolkit" in notes and "--extra-index-url" in notes


def test_pinned_scoring_server_is_kept():
    spec = resolve_spec({"pip": ["azureml-inference-server-http==1.4.0"]}, HOST)
    assert spec.requirements == ("azureml-inference-server-http==1.4.0",)


def test_serialized_environment_dict_is_accepted(tmp_path):
    path = tmp_path / "myenv.yml"
    path.write_text(MODERN)
    env = Environment.from_conda_specification("myenv", str(path))
    env.environment_variables = {"B": "2", "A": "1"}
    from_serialized = resolve_spec(env._serialize_to_dict(), HOST)
    from_build_spec = resolve_spec(env._to_build_spec(), HOST)
    assert from_serialized == from_build_spec
    assert from_serialized.env == {"A": "1", "B": "2"}


def test_digest_is_stable_and_tracks_packages():
    a = resolve_spec({"python_version": HOST, "conda": ["numpy", "scipy"], "pip": ["six"]}, HOST)
    b = resolve_spec({"pip": ["six"], "conda": ["scipy", "numpy"], "python_version": HOST}, HOST)
    c = resolve_spec({"python_version": HOST, "conda": ["numpy", "scipy"], "pip": ["six==1.17.0"]}, HOST)
    d = resolve_spec({"python_version": HOST, "conda": ["numpy", "scipy"], "pip": ["six"],
                      "environment_variables": {"X": "1"}, "gpu": True}, HOST)
    assert a.digest == b.digest
    assert a.digest != c.digest
    assert a.digest == d.digest  # env vars and the GPU flag do not change the venv
    assert a != d


def test_host_venv_satisfies_a_server_only_spec():
    spec = resolve_spec({"python_version": HOST}, HOST)
    assert interpreter_satisfies(sys.executable, spec)


def test_missing_or_mismatched_packages_do_not_satisfy():
    spec = resolve_spec({"pip": ["nosuchpkg"]}, HOST)
    assert not interpreter_satisfies(sys.executable, spec)
    assert unsatisfied_requirements(sys.executable, spec) == ["nosuchpkg"]
    too_new = resolve_spec({"pip": ["pytest>=999"]}, HOST)
    assert not interpreter_satisfies(sys.executable, too_new)
    other_python = BuildSpec(python="2.7", requirements=())
    assert not interpreter_satisfies(sys.executable, other_python)


def test_pip_error_summary_keeps_only_error_lines():
    log = [
        "Looking in indexes: https://index.example/simple, file:///opt/pypi/simple",
        "Collecting nosuchpkg==9.9",
        "ERROR: Could not find a version that satisfies the requirement nosuchpkg==9.9 (from versions: none)",
        "ERROR: No matching distribution found for nosuchpkg==9.9",
    ]
    assert summarise_pip_error(log) == "\n".join(log[2:])
    assert summarise_pip_error(["a", "b"]) == "a\nb"
