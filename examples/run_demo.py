"""`make demo`: the seed's TensorFlow MNIST GPU workflow against a fresh local cloud, then shut down.

Trains the model (examples/tf-mnist-gpu/train.py), deploys it with unchanged azureml.core code
(deploy.py: GPU cluster, 3 replicas, score, CPU-only cluster refused, clean-up), prints a short
story with the timings, and stops the daemon. It runs in a temporary FAKE_AZURE_HOME, so it leaves
nothing running and touches no other local cloud."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent / "tf-mnist-gpu"


def _stream(command: list[str], env: dict[str, str]) -> tuple[int, list[str], float]:
    """Run ``command`` in the example's folder, echoing its output; return (code, lines, seconds)."""
    began = time.perf_counter()
    lines: list[str] = []
    with subprocess.Popen(command, cwd=EXAMPLE, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print("   " + line, end="", flush=True)
            lines.append(line.rstrip("\n"))
    return proc.returncode, lines, time.perf_counter() - began


def _replicas_of(home: str) -> list[str]:
    """azmlinfsrv processes serving this demo's home (their entry script lives under it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "azmlinfsrv" in cmdline or "azureml_inference_server_http" in cmdline:
            if home in cmdline:
                found.append(f"{entry.name}: {cmdline[:120]}")
    return found


def _find(lines: list[str], pattern: str) -> str | None:
    for line in lines:
        match = re.search(pattern, line)
        if match:
            return match.group(1)
    return None


def main() -> int:
    cli = str(Path(sys.executable).with_name("fake-azure"))
    home = tempfile.mkdtemp(prefix="fake-azure-demo-")
    # The SDK's "use SDK v2" deprecation notice, shown on every Model.deploy, is switched off the
    # SDK's own way; TensorFlow's start-up chatter likewise.
    env = dict(os.environ, FAKE_AZURE_HOME=home, TF_CPP_MIN_LOG_LEVEL="2",
               AZUREML_LOG_DEPRECATION_WARNING_ENABLED="False")
    env.pop("FAKE_AZURE_TARGET", None)
    shutil.rmtree(EXAMPLE / ".azureml", ignore_errors=True)
    demo_began = began = time.perf_counter()
    up = subprocess.run([cli, "up"], env=env, capture_output=True, text=True, check=True)
    up_seconds = time.perf_counter() - began
    print(f"== local cloud up at {up.stdout.strip()} in {up_seconds:.2f}s (home {home})")
    code = 1
    story: list[str] = []
    try:
        print("\n== fake-azure run -- python train.py   (examples/tf-mnist-gpu)\n")
        code, train_lines, train_seconds = _stream([cli, "run", "--", "python", "train.py"], env)
        print(f"\n== train.py finished with exit code {code} in {train_seconds:.1f}s")
        if code != 0:
            raise SystemExit(code)
        print("\n== fake-azure run -- python deploy.py   (unchanged azureml.core code)\n")
        code, deploy_lines, deploy_seconds = _stream([cli, "run", "--", "python", "deploy.py"], env)
        print(f"\n== deploy.py finished with exit code {code} in {deploy_seconds:.1f}s")

        timings = dict(re.findall(r"([a-z0-9 ]+?) ([\d.]+)s", (_find(deploy_lines, r"^Timings: (.*)") or "")))
        timings = {name.strip(" ,"): float(value) for name, value in timings.items()}
        accuracy = _find(train_lines, r"accuracy on \d+ held-out rows: ([\d.]+)")
        story += [f"local cloud started in {up_seconds:.1f}s",
                  f"trained the DNN in {train_seconds:.1f}s (held-out accuracy {accuracy or '?'}, chance 0.100)"]
        if "provisioning" in timings:
            story.append(f"provisioned the Standard_NC6 cluster 'aks-gpu' in {timings['provisioning']:.2f}s "
                         "(Azure: about 15 minutes)")
        if "deploy" in timings:
            replicas = _find(deploy_lines, r"^replicas: (\S+)") or "?"
            story.append(f"deployed 'aks-dnn-mnist' ({replicas} replicas, score.py + myenv.yml) in "
                         f"{timings['deploy']:.1f}s")
        if "first score" in timings:
            label, prediction = _find(deploy_lines, r"^label: (.*)"), _find(deploy_lines, r"^prediction: (.*)")
            story.append(f"first score through the gateway in {timings['first score']:.2f}s: "
                         f"label {label}, prediction {prediction}")
        more = _find(deploy_lines, r"^(\d+ of \d+) more random rows predicted correctly")
        if more:
            story.append(f"{more} more rows predicted correctly")
        refused = _find(deploy_lines, r"^Refused on the CPU-only cluster: (.*)")
        story.append("the same service on the CPU-only cluster 'aks-cpu': "
                     + ("refused, as Azure refuses it" if refused else "NOT refused (unexpected)"))
        if any("Deleted the services and the clusters" in line for line in deploy_lines):
            story.append("deleted both services and both clusters")
    finally:
        subprocess.run([cli, "down"], env=env, capture_output=True)
        shutil.rmtree(EXAMPLE / ".azureml", ignore_errors=True)
        leftovers = []
        for _ in range(50):
            leftovers = _replicas_of(home)
            if not leftovers:
                break
            time.sleep(0.2)
        print("\n== What happened")
        for line in story:
            print(f"   - {line}")
        if leftovers:
            print("   - local cloud stopped, but replicas are still running:\n     " + "\n     ".join(leftovers))
            code = code or 1
        else:
            print("   - local cloud stopped; no replica (azmlinfsrv) left running")
        print(f"   total {time.perf_counter() - demo_began:.1f}s")
        if not leftovers:
            shutil.rmtree(home, ignore_errors=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
