"""`make demo`: the seed workflow against a fresh local cloud, as a user would run it, then shut down.

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
        print("\n== fake-azure run -- python deploy.py   (examples/seed-workflow, unchanged azureml.core code)\n")
        began = time.perf_counter()
        code = subprocess.call([cli, "run", "--", "python", "deploy.py"], cwd=EXAMPLE, env=env)
        print(f"\n== deploy.py finished with exit code {code} in {time.perf_counter() - began:.2f}s")
        return code
    finally:
        subprocess.run([cli, "down"], env=env, capture_output=True)
        shutil.rmtree(EXAMPLE / ".azureml", ignore_errors=True)
        print("== local cloud stopped; nothing left running")


if __name__ == "__main__":
    raise SystemExit(main())
