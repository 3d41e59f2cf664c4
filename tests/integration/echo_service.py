"""A tiny echo score.py and the seed's model/conda file, shared by the deploy behaviour tests."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed-workflow"
ECHO_SCORE = '''\
import json


def init():
    print("init: ready", flush=True)


def run(raw_data):
    return {"echo": json.loads(raw_data)}
'''
BODY = json.dumps({"data": [[1, 2, 3]]})
ECHOED = {"echo": {"data": [[1, 2, 3]]}}


def lay_out_echo_project(folder: Path) -> Path:
    """The seed's model and conda file with the echo score.py, in ``folder``."""
    shutil.copytree(SEED / "model", folder / "model")
    shutil.copy(SEED / "myenv.yml", folder / "myenv.yml")
    (folder / "score.py").write_text(ECHO_SCORE)
    return folder
