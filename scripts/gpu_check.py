"""`make gpu-check`: prove on a machine with NVIDIA GPUs that replicas get exactly their assigned GPUs.

On the process runtime (and on the docker runtime when an engine with the nvidia runtime answers)
it deploys a GPU service (two replicas with gpu_cores=1 on a two-GPU node where the host has two
GPUs or more, else one replica on a one-GPU node) and asks every replica what it sees:

* the CUDA driver API (ctypes on libcuda): device count and UUIDs under its CUDA_VISIBLE_DEVICES;
* the framework (PyTorch, where the replica's interpreter has it): device count and UUIDs;
* nvidia-smi inside the replica (in a container it lists only the container's GPUs; on the process
  runtime it lists the whole host, as nvidia-smi ignores CUDA_VISIBLE_DEVICES);
* a small float64 product computed on the GPU, which must equal the CPU result.

Each replica must see exactly one GPU, the host GPU the scheduler assigned it (read from the
service's replica records), and replicas on a two-GPU node must see different GPUs.

Exit 0 when every check passed, 1 when one failed; 0 with a notice on a host without NVIDIA GPUs.
``--rehearse-on-cpu`` runs the same deployment on a GPU-less host (GPU policy cpu-fallback) to prove
the plumbing before device time is spent: it verifies no GPU and says so. Bounded: well under 5 min.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCORE = r'''
import ctypes, json, os, shutil, subprocess

WEIGHTS = [[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]]


def _uuid(text):
    text = str(text).strip().lower()
    return text if text.startswith("gpu-") else "gpu-" + text


def _driver_view():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        return {"error": "no libcuda: %s" % exc}
    status = cuda.cuInit(0)
    if status != 0:
        return {"count": 0, "uuids": [], "cuInit": status}
    count = ctypes.c_int()
    cuda.cuDeviceGetCount(ctypes.byref(count))
    uuids = []
    for index in range(count.value):
        device = ctypes.c_int()
        cuda.cuDeviceGet(ctypes.byref(device), index)
        raw = (ctypes.c_ubyte * 16)()
        cuda.cuDeviceGetUuid(raw, device)
        h = bytes(raw).hex()
        uuids.append("gpu-%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]))
    return {"count": count.value, "uuids": uuids}


def _framework_view():
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return {"framework": "torch " + torch.__version__, "count": 0, "uuids": []}
    count = torch.cuda.device_count()
    return {"framework": "torch " + torch.__version__, "count": count,
            "uuids": [_uuid(torch.cuda.get_device_properties(i).uuid) for i in range(count)]}


def _smi_view():
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    out = subprocess.run([smi, "--query-gpu=uuid", "--format=csv,noheader"], capture_output=True, text=True,
                         timeout=30)
    return [_uuid(line) for line in out.stdout.splitlines() if line.strip()]


def _product(rows):
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        x = torch.tensor(rows, dtype=torch.float64, device="cuda")
        w = torch.tensor(WEIGHTS, dtype=torch.float64, device="cuda")
        return (x @ w).cpu().tolist(), str(x.device)
    return [[sum(r[k] * WEIGHTS[k][j] for k in range(len(r))) for j in range(2)] for r in rows], "cpu"


def init():
    pass


def run(raw):
    scores, device = _product(json.loads(raw)["data"])
    return {"pid": os.getpid(), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "driver": _driver_view(), "framework": _framework_view(), "smi": _smi_view(),
            "scores": scores, "device": device}
'''
ROWS = [[1.0, 2.0, 3.0], [0.5, -1.0, 4.0], [-2.0, 0.125, 8.0]]
WEIGHTS = [[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]]
CPU_SCORES = [[sum(r[k] * WEIGHTS[k][j] for k in range(3)) for j in range(2)] for r in ROWS]
DEPLOY_TIMEOUT_S = 180


def host_gpu_uuids() -> list[str]:
    """nvidia-smi's GPUs in its own (PCI bus) order, the order host GPU indices refer to."""
    if shutil.which("nvidia-smi") is None:
        return []
    out = subprocess.run(["nvidia-smi", "--query-gpu=uuid", "--format=csv,noheader"], capture_output=True,
                         text=True, timeout=30)
    return [line.strip().lower() for line in out.stdout.splitlines() if line.strip()]


def scores_match(scores: Any) -> bool:
    try:
        return all(abs(a - b) <= 1e-9 for got, want in zip(scores, CPU_SCORES, strict=True)
                   for a, b in zip(got, want, strict=True))
    except (TypeError, ValueError):
        return False


def judge_replica(answer: dict[str, Any], runtime: str, host_uuids: list[str], rehearsal: bool) -> list[str]:
    """What is wrong with one replica's answer (empty: nothing)."""
    problems = []
    driver, framework, smi = answer["driver"], answer["framework"], answer["smi"]
    if not scores_match(answer["scores"]):
        problems.append(f"scores {answer['scores']} differ from the CPU's {CPU_SCORES}")
    if rehearsal:
        if answer["cuda_visible_devices"] != "" and runtime == "process":
            problems.append(f"CUDA_VISIBLE_DEVICES={answer['cuda_visible_devices']!r} on a GPU-less host")
        return problems
    seen = driver.get("uuids") or []
    if driver.get("count") != 1 or len(seen) != 1:
        problems.append(f"the CUDA driver shows {driver} (expected exactly one GPU)")
    if runtime == "process":
        try:
            expected = host_uuids[int(answer["cuda_visible_devices"])]
        except (TypeError, ValueError, IndexError):
            problems.append(f"CUDA_VISIBLE_DEVICES={answer['cuda_visible_devices']!r} names no single host GPU")
        else:
            if seen != [expected]:
                problems.append(f"the CUDA driver shows {seen}, CUDA_VISIBLE_DEVICES names {expected}")
        if smi is not None and not set(seen) <= set(smi):
            problems.append(f"nvidia-smi in the replica lists {smi}, without {seen}")
    elif smi is not None and smi != seen:
        problems.append(f"nvidia-smi in the container lists {smi}, the CUDA driver {seen}")
    if framework is not None and (framework["count"] != 1 or framework["uuids"] != seen):
        problems.append(f"{framework['framework']} shows {framework['count']} GPU(s) {framework['uuids']}, "
                        f"the CUDA driver {seen}")
    if framework is not None and answer["device"] != "cuda:0":
        problems.append(f"the product ran on {answer['device']}, not the GPU")
    return problems


def describe(answer: dict[str, Any]) -> str:
    framework = answer["framework"]
    framework_text = (f"{framework['framework']}: {framework['count']} GPU(s)" if framework
                      else "no framework (torch) in the replica")
    smi = answer["smi"]
    return (f"pid {answer['pid']}: CUDA_VISIBLE_DEVICES={answer['cuda_visible_devices']!r}; CUDA driver: "
            f"{answer['driver'].get('count')} GPU(s) {answer['driver'].get('uuids', answer['driver'])}; "
            f"{framework_text}; nvidia-smi in replica: {len(smi) if smi is not None else 'absent'}; "
            f"product on {answer['device']}")


def assigned_host_gpus(ws: Any, name: str, host_count: int) -> list[tuple[int, ...]]:
    """The host GPU indices the scheduler gave each replica, from the service's replica records."""
    from emulator.deploy.gpus import HostGpus
    from emulator.deploy.records import ReplicaRecord
    from fake_azure.core.webservice.webservice import _service_path

    body = ws._client.json("GET", _service_path(ws, name), "webservice")
    rows = body.get("fakeAzure", {}).get("replicas", [])
    return [HostGpus(host_count).for_replica(ReplicaRecord.from_row(row)) for row in rows]


def check_runtime(runtime: str, host_uuids: list[str], report: list[str], rehearsal: bool) -> bool:
    home = tempfile.mkdtemp(prefix=f"fa-gpu-check-{runtime}-")
    os.environ.update(FAKE_AZURE_HOME=home, FAKE_AZURE_RUNTIME=runtime,
                      FAKE_AZURE_GPU_POLICY="cpu-fallback" if rehearsal else "require")
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
    (work / "model.txt").write_text("the weights are in score.py\n")
    python = "%d.%d" % sys.version_info[:2]
    (work / "env.yml").write_text(f"dependencies:\n- python={python}\n- pip:\n  - azureml-defaults\n")
    os.chdir(work)
    CloudClient._instances.clear()
    tag = f"  [{runtime}]"
    ok = True
    began = time.perf_counter()
    try:
        ws = Workspace("00000000-0000-0000-0000-00000000c0de", "gpu-check", f"gpu-{runtime}")
        model = Model.register(ws, "model.txt", "gpu-check-model")
        two_gpus = len(host_uuids) >= 2 or rehearsal
        cluster = ComputeTarget.create(ws, "gpu", AksCompute.provisioning_configuration(
            vm_size="Standard_NC12" if two_gpus else "Standard_NC6", agent_count=1,
            cluster_purpose=AksCompute.ClusterPurpose.DEV_TEST))
        cluster.wait_for_completion()
        replicas = 2 if two_gpus else 1
        config = AksWebservice.deploy_configuration(autoscale_enabled=False, num_replicas=replicas, gpu_cores=1,
                                                    replica_max_concurrent_requests=1)
        inference = InferenceConfig(runtime="python", entry_script="score.py", conda_file="env.yml", enable_gpu=True)
        service = Model.deploy(ws, "gpu-check", [model], inference, config, cluster)
        service.wait_for_deployment(timeout_sec=DEPLOY_TIMEOUT_S)
        if service.state != "Healthy":
            raise RuntimeError(f"the service is {service.state}: {service.error}\n{service.get_logs()[-1500:]}")
        report.append(f"{tag} {replicas} replica(s) Healthy in {time.perf_counter() - began:.1f}s")
        assigned = assigned_host_gpus(ws, "gpu-check", len(host_uuids))
        seen: dict[int, dict[str, Any]] = {}
        for _ in range(25 * replicas):
            answer = service.run(json.dumps({"data": ROWS}))
            seen[answer["pid"]] = answer
            if len(seen) == replicas:
                break
        for answer in seen.values():
            problems = judge_replica(answer, runtime, host_uuids, rehearsal)
            ok &= not problems
            report.append(f"{tag} replica {describe(answer)} -> {'ok' if not problems else 'FAIL'}")
            report.extend(f"{tag}     {problem}" for problem in problems)
        if len(seen) < replicas:
            ok = False
            report.append(f"{tag} FAIL: reached only {len(seen)} of {replicas} replicas")
        if not rehearsal:
            want = sorted(host_uuids[i] for ids in assigned for i in ids)
            got = sorted(u for a in seen.values() for u in a["driver"].get("uuids") or [])
            same = want == got
            ok &= same
            report.append(f"{tag} scheduler assigned host GPUs {assigned} = {want}; replicas see {got}: "
                          f"{'ok' if same else 'FAIL'}")
            if replicas == 2:
                distinct = len(set(got)) == 2
                ok &= distinct
                report.append(f"{tag} two gpu_cores=1 replicas on different GPUs: {'ok' if distinct else 'FAIL'}")
            else:
                report.append(f"{tag} two replicas on different GPUs: not checkable, the host has one GPU")
        service.delete()
    except Exception as exc:  # report, do not hide: the check failed
        ok = False
        report.append(f"{tag} FAILED: {exc!r}"[:3000])
    finally:
        daemon.stop(Settings.from_env())
        fake_azure.deactivate()
        os.chdir(tempfile.gettempdir())
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    return ok


def docker_has_nvidia() -> bool:
    from fake_azure.settings import Settings

    try:
        import docker

        client = docker.from_env(environment=dict(Settings.from_env().docker_env), use_ssh_client=True, timeout=15)
        return "nvidia" in (client.info().get("Runtimes") or {})
    except Exception:  # no SDK, no engine, no permission: no docker half
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rehearse-on-cpu", action="store_true",
                        help="on a host without GPUs, run the same deployment with GPU policy cpu-fallback "
                             "(proves the plumbing, verifies no GPU)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    host_uuids = host_gpu_uuids()
    rehearsal = args.rehearse_on_cpu and not host_uuids
    if not host_uuids and not rehearsal:
        print("gpu-check: no NVIDIA GPU on this host (nvidia-smi lists none); nothing to check.")
        return 0
    report = [f"gpu-check: Python {sys.version.split()[0]}, {len(host_uuids)} NVIDIA GPU(s): {host_uuids}"]
    if rehearsal:
        report.append("gpu-check: REHEARSAL on a host without GPUs: deployment plumbing only, no GPU verified")
    ok = check_runtime("process", host_uuids, report, rehearsal)
    if not rehearsal and docker_has_nvidia():
        ok &= check_runtime("docker", host_uuids, report, rehearsal)
    elif not rehearsal:
        report.append("  [docker] skipped: no Docker engine with the nvidia runtime")
    verdict = "PASSED" if ok else "FAILED"
    report.append(f"gpu-check: {'REHEARSAL ' if rehearsal else ''}{verdict} in {time.perf_counter() - began:.1f}s")
    print("\n".join(report))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
