"""Collecting the suite imports no heavy framework: a module-level TensorFlow import (an
``importorskip``) once cost every collection ~20 s, ``-k`` and single-file runs included."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("tensorflow", "sklearn", "torch", "keras", "numpy", "pandas", "scipy")

_COLLECT = f"""
import json, sys
import pytest
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", {str(ROOT / "tests")!r}])
print(json.dumps({{"code": int(code), "heavy": sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))}}))
"""


def test_collecting_the_suite_imports_no_heavy_framework() -> None:
    done = subprocess.run([sys.executable, "-c", _COLLECT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stdout[-2000:]
    assert result["heavy"] == [], f"imported while collecting: {result['heavy']}"
