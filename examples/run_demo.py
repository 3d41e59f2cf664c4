"""`make demo`: the seed workflow against a fresh local cloud, run twice as a user would, then shut down.

It runs in a temporary FAKE_AZURE_HOME and stops the daemon at the end, so it leaves nothing running."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent / "seed-workflow"
LIST_STATE = """
from azureml.core import Workspace
from azureml.core.model import Model
ws = Workspace.from_config()
print("models:", sorted(m.id for m in Model.list(ws)))
print("clusters:", {name: t.provisioning_state for name, t in ws.compute_targets.items()})
"""


def main() -> int:
    cli = str(Path(sys.executable).with_name("fake-azure"))
    home = tempfile.mkdtemp(prefix="fake-azure-demo-")
    env = dict(os.environ, FAKE_AZURE_HOME=home)
    env.pop("FAKE_AZURE_TARGET", None)
    shutil.rmtree(EXAMPLE / ".azureml", ignore_errors=True)
    began = time.perf_counter()
    up = subprocess.run([cli, "up"], env=env, capture_output=True, text=True, check=True)
    print(f"== local cloud up at {up.stdout.strip()} in {time.perf_counter() - began:.2f}s (home {home})")
    try:
        for attempt in (1, 2):
            print(f"\n== run {attempt}: fake-azure run -- python deploy.py")
            began = time.perf_counter()
            code = subprocess.call([cli, "run", "--", "python", "deploy.py"], cwd=EXAMPLE, env=env)
            print(f"== run {attempt} finished with exit code {code} in {time.perf_counter() - began:.2f}s")
            if code != 0:
                return code
            if attempt == 1:
                subprocess.run([cli, "down"], env=env, check=True, capture_output=True)
                up = subprocess.run([cli, "up"], env=env, capture_output=True, text=True, check=True)
                print(f"\n== fake-azure down, then up again at {up.stdout.strip()}: state is kept on disk")
        print("\n== the same state, seen from a new process:")
        subprocess.call([cli, "run", "--", "python", "-c", LIST_STATE], cwd=EXAMPLE, env=env)
        subprocess.call([cli, "status"], env=env)
    finally:
        subprocess.run([cli, "down"], env=env, capture_output=True)
        shutil.rmtree(EXAMPLE / ".azureml", ignore_errors=True)
        print("== local cloud stopped; nothing left running")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
