"""InferenceConfig._get_entry_script_path: the same parts as the SDK's, and the same trailing-separator strip."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from fake_azure.core import inference_config as F_IC

pytestmark = [
    pytest.mark.parity,
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*been deprecated and will be removed:DeprecationWarning"),
]

R_MODEL = importlib.import_module("azureml.core.model")


@pytest.mark.parametrize("entry_script,source_directory", [
    ("score.py", "src"), ("sub/score2.py", "src"), ("score.py", None), ("src/sub/score2.py", None),
    ("score.py", "src/"), ("score.py", "link"),
])
def test_entry_script_path_matches_the_sdk(entry_script: str, source_directory: str | None, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert R_MODEL.__name__.startswith("azureml")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "score.py").write_text("x = 1\n")
    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "score.py").write_text("x = 1\n")
    (tmp_path / "src" / "sub" / "score2.py").write_text("x = 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "src", target_is_directory=True)
    real = R_MODEL.InferenceConfig(entry_script=entry_script, source_directory=source_directory)
    fake = F_IC.InferenceConfig(entry_script=entry_script, source_directory=source_directory)
    # A trailing separator (set after construction, which would refuse it) is stripped off entry_script itself.
    real.entry_script += "/"
    fake.entry_script += "/"
    assert fake._get_entry_script_path() == real._get_entry_script_path()
    assert fake.entry_script == real.entry_script == entry_script
    # The deploy-time variables are built from the same parts.
    expected = fake._get_entry_script_path()
    assert fake._entry_script_env()["AZUREML_ENTRY_SCRIPT"] == "/".join(p for p in expected if p)
