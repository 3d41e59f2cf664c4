"""scripts/gpu_check.py judges replicas' answers: it must fail every way a replica can see the wrong GPUs.

The check itself needs NVIDIA hardware; its verdicts do not, so they are tested here on answers of
the shape its score.py returns."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

_PATH = Path(__file__).resolve().parents[2] / "scripts" / "gpu_check.py"
_SPEC = importlib.util.spec_from_file_location("gpu_check", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
gpu_check = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(gpu_check)

HOST = ["gpu-aaaaaaaa-0000-0000-0000-000000000000", "gpu-bbbbbbbb-0000-0000-0000-000000000000"]


def answer(cvd: str = "1", driver: list[str] | None = None, framework: list[str] | None = None,
           smi: list[str] | None = None, device: str = "cuda:0", scores: Any = None) -> dict[str, Any]:
    seen = [HOST[1]] if driver is None else driver
    return {"pid": 1, "cuda_visible_devices": cvd, "driver": {"count": len(seen), "uuids": seen},
            "framework": {"framework": "torch", "count": len(seen if framework is None else framework),
                          "uuids": seen if framework is None else framework},
            "smi": HOST if smi is None else smi, "device": device,
            "scores": gpu_check.CPU_SCORES if scores is None else scores}


def test_a_replica_seeing_exactly_its_gpu_passes() -> None:
    assert gpu_check.judge_replica(answer(), "process", HOST, rehearsal=False) == []


@pytest.mark.parametrize("bad, words", [
    (answer(driver=HOST), "expected exactly one GPU"),
    (answer(driver=[HOST[0]], framework=[HOST[0]]), "CUDA_VISIBLE_DEVICES names"),
    (answer(cvd="0,1"), "names no single host GPU"),
    (answer(framework=HOST), "torch shows 2 GPU(s)"),
    (answer(device="cpu"), "not the GPU"),
    (answer(scores=[[0.0, 0.0]] * 3), "differ from the CPU"),
    (answer(smi=[HOST[0]]), "nvidia-smi in the replica"),
])
def test_each_wrong_view_fails(bad: dict[str, Any], words: str) -> None:
    problems = gpu_check.judge_replica(bad, "process", HOST, rehearsal=False)
    assert any(words in p for p in problems), problems


def test_a_container_must_list_only_its_own_gpu_in_nvidia_smi() -> None:
    inside = answer(cvd="0", smi=[HOST[1]])
    assert gpu_check.judge_replica(inside, "docker", HOST, rehearsal=False) == []
    leaky = answer(cvd="0", smi=HOST)
    assert any("nvidia-smi in the container" in p for p in gpu_check.judge_replica(leaky, "docker", HOST, False))


def test_a_rehearsal_checks_scores_and_hidden_gpus_only() -> None:
    cpu = answer(cvd="", driver=[], smi=[], device="cpu")
    cpu["framework"] = None
    assert gpu_check.judge_replica(cpu, "process", [], rehearsal=True) == []
    assert gpu_check.judge_replica({**cpu, "cuda_visible_devices": "0"}, "process", [], rehearsal=True)
