"""`make gpu-check`: prove on a machine with NVIDIA GPUs that replicas get exactly their assigned GPUs.

Deploys, on the process runtime (and on the docker runtime when an engine with the nvidia runtime
answers), a service of two replicas with gpu_cores=1 on a two-GPU node, then asks each replica which
GPU it sees (CUDA driver API through ctypes: the device count and the UUID of device 0 under its
CUDA_VISIBLE_DEVICES) and compares with nvidia-smi's UUIDs; the scores must equal the CPU result.
Prints a short report; exit 0 when every check passed, 1 when one failed, 0 with a notice when the
host has no NVIDIA GPU. Bounded: the whole run takes well under 5 minutes."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCORE = r'''
import ctypes, json, os


def _visible_gpus():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        return {"error": f"no libcuda: {exc}"}
    if cuda.cuInit(0) != 0:
        return {"count": 0, "uuids": []}
    count = ctypes.c_int()
    cuda.cuDeviceGetCount(ctypes.byref(count))
    uuids = []
    for index in range(count.value):
        device = ctypes.c_int()
        cuda.cuDeviceGet(ctypes.byref(device), index)
        raw = (ctypes.c_ubyte * 16)()
        cuda.cuDeviceGetUuid(raw, device)
        h = bytes(raw).hex()
        uuids.append(f"GPU-{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}")
    return {"count": count.value, "uuids": uuids}


def init():
    pass


def run(raw):
    rows = json.loads(raw)["data"]
    return {"visible": _visible_gpus(), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "pid": os.getpid(), "scores": [sum(v * (i + 1) for i, v in enumerate(row)) for row in rows]}
'''
ROWS = [[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]]
CPU_SCORES = [sum(v * (i + 1) for i, v in enumerate(row)) for row in ROWS]


def host_gpu_uuids() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    out = subprocess.run(["nvidia-smi", "--query-gpu=uuid", "--format=csv,noheader"], capture_output=True,
                         text=True, timeout=30)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def check_runtime(runtime: str, host_uuids: list[str], report: list[str]) -> bool:
    home = tempfile.mkdtemp(prefix=f"fa-gpu-check-{runtime}-")
    os.environ.update(FAKE_AZURE_HOME=home, FAKE_AZURE_RUNTIME=runtime, FAKE_AZURE_GPU_POLICY="require")
    import fake_azure

    fake_azure.activate()
    from azureml.core import Workspace
    from azureml.core.compute import AksCompute, ComputeTarget
    from azureml.core.model import InferenceConfig, Model
    from azureml.core.webservice import AksWebservice

    from emulator import daemon
    from fake_azure._client import CloudClient
    from fake_azure.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="fa-gpu-work-"))
    (work / "score.py").write_text(SCORE)
    (work / "model.txt").write_text("weights are in score.py\n")
    (work / "env.yml").write_text("dependencies:\n- python=%d.%d\n- pip:\n  - azureml-defaults\n" % sys.version_info[:2])
    os.chdir(work)
    CloudClient._instances.clear()
    ok = True
    began = time.perf_counter()
    try:
        ws = Workspace("00000000-0000-0000-0000-00000000c0de", "gpu-check", f"gpu-{runtime}")
        model = Model.register(ws, "model.txt", "gpu-check-model")
        two_gpus = len(host_uuids) >= 2
        vm_size = "Standard_NC12" if two_gpus else "Standard_NC6"
        cluster = ComputeTarget.create(ws, "gpu", AksCompute.provisioning_configuration(
            vm_size=vm_size, agent_count=1, cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST))
        cluster.wait_for_completion()
        replicas = 2 if two_gpus else 1
        config = AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=replicas, gpu_cores=1,
                                                    replica_max_concurrent_requests=1)
        inference = InferenceConfig(runtime="python", entry_script="score.py", conda_file="env.yml", enable_gpu=True)
        service = Model.deploy(ws, "gpu-check", [model], inference, config, cluster)
        service.wait_for_deployment()
        deploy_s = time.perf_counter() - began
        seen: dict[int, dict] = {}
        for _ in range(20 * replicas):
            answer = service.run(json.dumps({"data": ROWS}))
            seen[answer["pid"]] = answer
            if len(seen) == replicas:
                break
        for answer in seen.values():
            visible = answer["visible"]
            good = (visible.get("count") == 1 and answer["scores"] == CPU_SCORES
                    and visible["uuids"][0] in host_uuids)
            ok &= good
            report.append(f"  [{runtime}] replica pid {answer['pid']}: CUDA_VISIBLE_DEVICES="
                          f"{answer['cuda_visible_devices']!r}, sees {visible.get('count')} GPU(s) "
                          f"{visible.get('uuids')}, scores match CPU: {answer['scores'] == CPU_SCORES}"
                          f" -> {'ok' if good else 'FAIL'}")
        uuids = [a["visible"]["uuids"][0] for a in seen.values() if a["visible"].get("uuids")]
        if replicas == 2:
            distinct = len(set(uuids)) == 2
            ok &= distinct
            report.append(f"  [{runtime}] two replicas on different GPUs: {distinct}")
        if len(seen) < replicas:
            ok = False
            report.append(f"  [{runtime}] reached only {len(seen)} of {replicas} replicas")
        report.append(f"  [{runtime}] deployed in {deploy_s:.1f}s")
        service.delete()
    except Exception as exc:  # report, do not hide: the check failed
        ok = False
        report.append(f"  [{runtime}] FAILED: {exc!r}"[:2000])
    finally:
        daemon.stop(Settings.from_env())
        fake_azure.deactivate()
    return ok


def docker_has_nvidia() -> bool:
    try:
        import docker

        return "nvidia" in (docker.from_env().info().get("Runtimes") or {})
    except Exception:
        return False


def main() -> int:
    host_uuids = host_gpu_uuids()
    if not host_uuids:
        print("gpu-check: no NVIDIA GPU on this host (nvidia-smi lists none); nothing to check.")
        return 0
    report = [f"gpu-check: {len(host_uuids)} NVIDIA GPU(s): {host_uuids}"]
    ok = check_runtime("process", host_uuids, report)
    if docker_has_nvidia():
        ok &= check_runtime("docker", host_uuids, report)
    else:
        report.append("  [docker] skipped: no Docker engine with the nvidia runtime")
    report.append("gpu-check: " + ("PASSED" if ok else "FAILED"))
    print("\n".join(report))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
