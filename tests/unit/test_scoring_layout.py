"""Unit tests for ``scoring.layout`` and the replica-side ``azureml.core`` shim."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scoring import sdk_shim
from scoring.layout import LayoutError, ModelFiles, lay_out, model_dir_for


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_lay_out_with_source_directory(tmp_path: Path) -> None:
    weights = _write(tmp_path / "reg" / "model.pkl", "w")
    extra = _write(tmp_path / "reg" / "vocab.txt", "v")
    src = tmp_path / "code"
    _write(src / "score.py", "def init(): pass\ndef run(x): return x\n")
    _write(src / "utils" / "helpers.py", "X = 1\n")

    app = lay_out(tmp_path / "app", [ModelFiles("mnist", 2, {"model.pkl": weights, "sub/vocab.txt": extra})],
                  "score.py", source_directory=src)

    root = tmp_path / "app"
    assert app.path == root.absolute()
    assert (root / "azureml-models" / "mnist" / "2" / "model.pkl").read_text() == "w"
    assert (root / "azureml-models" / "mnist" / "2" / "sub" / "vocab.txt").read_text() == "v"
    # Hard-linked when on the same filesystem: no copy of a large model.
    assert (root / "azureml-models" / "mnist" / "2" / "model.pkl").stat().st_ino == weights.stat().st_ino
    assert (root / "code" / "utils" / "helpers.py").read_text() == "X = 1\n"
    # Laying out the same root again (a replica restart) is idempotent.
    again = lay_out(root, [ModelFiles("mnist", 2, {"model.pkl": weights, "sub/vocab.txt": extra})],
                    "score.py", source_directory=src)
    assert again == app and (root / "azureml-models" / "mnist" / "2" / "model.pkl").read_text() == "w"
    assert app.env("svc", "ws", scoring_timeout_ms=60000) == {
        "AML_APP_ROOT": str(root.absolute()),
        "AZUREML_MODEL_DIR": "azureml-models/mnist/2",
        "AZUREML_ENTRY_SCRIPT": "code/score.py",
        "AZUREML_SOURCE_DIRECTORY": "code",
        "SERVICE_NAME": "svc",
        "WORKSPACE_NAME": "ws",
        "SCORING_TIMEOUT_MS": "60000",
    }


def test_lay_out_entry_script_only_and_several_models(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.bin", "a")
    b = _write(tmp_path / "b.bin", "b")
    script = _write(tmp_path / "elsewhere" / "entry.py", "def init(): pass\ndef run(x): return x\n")

    app = lay_out(tmp_path / "app", [ModelFiles("a", 1, {"a.bin": a}), ModelFiles("b", 3, {"b.bin": b})],
                  str(script))

    env = app.env("svc", "ws")
    assert env["AZUREML_ENTRY_SCRIPT"] == "entry.py"
    assert env["AZUREML_MODEL_DIR"] == "azureml-models"
    assert env["SCORING_TIMEOUT_MS"] == "3600000"
    assert "AZUREML_SOURCE_DIRECTORY" not in env
    assert (tmp_path / "app" / "entry.py").is_file()
    assert (tmp_path / "app" / "azureml-models" / "b" / "3" / "b.bin").read_text() == "b"
    assert model_dir_for([]) == "azureml-models"


def test_lay_out_rejects_bad_inputs(tmp_path: Path) -> None:
    script = _write(tmp_path / "score.py", "")
    model = _write(tmp_path / "m.bin", "m")
    with pytest.raises(LayoutError, match="does not exist"):
        lay_out(tmp_path / "app1", [ModelFiles("m", 1, {"m.bin": tmp_path / "missing"})], str(script))
    with pytest.raises(LayoutError, match="listed twice"):
        lay_out(tmp_path / "app2", [ModelFiles("m", 1, {"m.bin": model})] * 2, str(script))
    with pytest.raises(LayoutError, match="escapes"):
        lay_out(tmp_path / "app3", [ModelFiles("m", 1, {"../../x": model})], str(script))
    with pytest.raises(LayoutError, match="entry script"):
        lay_out(tmp_path / "app4", [], "nope.py", source_directory=tmp_path)


# --- get_model_path: shim vs the real SDK, each in its own interpreter --------------------------

_RUNNER = r"""
import json, os, sys
from azureml.core.model import Model
import azureml.core.model as mod
out = []
for name, version, cwd in json.loads(sys.argv[1]):
    os.chdir(cwd)
    try:
        out.append({"ok": Model.get_model_path(name, version=version)})
    except Exception as e:
        out.append({"error": type(e).__name__, "message": getattr(e, "message", str(e))})
print(json.dumps({"module": mod.__file__, "results": out}))
"""


def _resolve(cases: list, app_root: Path, shim: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_AZURE_") and k != "PYTHONPATH"}
    env.update(AML_APP_ROOT=str(app_root), SERVICE_NAME="svc")
    if shim:
        env["PYTHONPATH"] = str(sdk_shim.SHIM_DIR)
        # -S keeps site-packages (and so the real SDK) out: the shim must stand alone.
        argv = [sys.executable, "-S", "-c", _RUNNER, json.dumps(cases)]
    else:
        argv = [sys.executable, "-c", _RUNNER, json.dumps(cases)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_shim_get_model_path_matches_real_sdk(tmp_path: Path) -> None:
    pytest.importorskip("azureml.core")
    app = tmp_path / "app"
    models = app / "azureml-models"
    _write(models / "m" / "1" / "model.pkl", "1")
    _write(models / "m" / "2" / "model.pkl", "2")
    _write(models / "two" / "1" / "a.bin", "a")
    _write(models / "two" / "1" / "b.bin", "b")
    _write(models / "dirmodel" / "5" / "saved" / "weights.bin", "w")
    work = tmp_path / "work"
    _write(work / "localmodel", "l")
    cases = [
        ["m", None, str(app)],          # latest version
        ["m", 1, str(app)],             # explicit version
        ["m", 3, str(app)],             # missing version -> WebserviceException
        ["two", None, str(app)],        # two entries in the version dir
        ["m", "2", str(app)],           # version must be an int
        ["dirmodel", None, str(app)],   # a folder is returned as is
        ["localmodel", None, str(work)],  # cwd fallback
        ["nope", None, str(work)],      # unknown, no fallback -> ModelNotFoundException
    ]

    shim = _resolve(cases, app, shim=True)
    real = _resolve(cases, app, shim=False)

    assert Path(shim["module"]).is_relative_to(sdk_shim.SHIM_DIR)
    assert not Path(real["module"]).is_relative_to(sdk_shim.SHIM_DIR)
    assert shim["results"] == real["results"]
    results = shim["results"]
    assert results[0] == {"ok": str(models / "m" / "2" / "model.pkl")}
    assert results[1] == {"ok": str(models / "m" / "1" / "model.pkl")}
    assert results[2]["error"] == "WebserviceException"
    assert results[3]["error"] == "WebserviceException" and "can contain only 1 file" in results[3]["message"]
    assert results[4] == {"error": "WebserviceException", "message": "version should be an int"}
    assert results[6] == {"ok": "localmodel"}
    assert results[7]["error"] == "ModelNotFoundException"


def test_shim_exception_str_matches_real_sdk() -> None:
    exceptions = pytest.importorskip("azureml.exceptions")
    code = ("from azureml.exceptions import WebserviceException as W, ModelNotFoundException as M;"
            "import json; print(json.dumps([str(W('boom')), str(M('gone'))]))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    shim = subprocess.run([sys.executable, "-S", "-c", code], env={**env, "PYTHONPATH": str(sdk_shim.SHIM_DIR)},
                          capture_output=True, text=True, timeout=60)
    assert shim.returncode == 0, shim.stderr
    real = [str(exceptions.WebserviceException("boom")), str(exceptions.ModelNotFoundException("gone"))]
    assert json.loads(shim.stdout) == real


def test_shim_only_added_without_azureml_core(tmp_path: Path) -> None:
    pytest.importorskip("azureml.core")
    assert sdk_shim.has_azureml_core(sys.executable)
    assert sdk_shim.pythonpath_for(sys.executable, "/x") == "/x"
    # An interpreter that cannot see site-packages stands in for an env without azureml-core.
    bare = tmp_path / "python"
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    bare.chmod(0o755)
    assert not sdk_shim.has_azureml_core(bare)
    assert sdk_shim.pythonpath_for(bare, "/x") == os.pathsep.join([str(sdk_shim.SHIM_DIR), "/x"])
    assert sdk_shim.pythonpath_for(bare) == str(sdk_shim.SHIM_DIR)
