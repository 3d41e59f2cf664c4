"""VM sizes an emulated AKS node pool can be built from: vCPUs, memory and NVIDIA GPUs per node.

Values follow Azure's published size tables (see the reference facts, §2.3). Sizes whose
accelerators are not NVIDIA GPUs (AMD NVv4, FPGA NP/PB) have ``gpus == 0`` for ``nvidia.com/gpu``."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VmSize:
    name: str
    vcpus: int
    memory_gb: float
    gpus: int = 0
    gpu_model: str | None = None
    accelerator: str | None = None  # non-NVIDIA accelerators, informational


def _gpu_family(names: list[str], vcpus: list[int], memory: list[float], gpus: list[int], model: str) -> list[VmSize]:
    return [VmSize(n, c, m, g, model) for n, c, m, g in zip(names, vcpus, memory, gpus)]


_SIZES: list[VmSize] = [
    # General purpose and memory optimised (no GPU).
    VmSize("Standard_A2_v2", 2, 4), VmSize("Standard_A4_v2", 4, 8), VmSize("Standard_A8_v2", 8, 16),
    VmSize("Standard_B2s", 2, 4), VmSize("Standard_B2ms", 2, 8), VmSize("Standard_B4ms", 4, 16),
    VmSize("Standard_B8ms", 8, 32),
    VmSize("Standard_D1_v2", 1, 3.5), VmSize("Standard_D2_v2", 2, 7), VmSize("Standard_D3_v2", 4, 14),
    VmSize("Standard_D4_v2", 8, 28), VmSize("Standard_D5_v2", 16, 56),
    VmSize("Standard_D11_v2", 2, 14), VmSize("Standard_D12_v2", 4, 28), VmSize("Standard_D13_v2", 8, 56),
    VmSize("Standard_D14_v2", 16, 112),
    VmSize("Standard_DS1_v2", 1, 3.5), VmSize("Standard_DS2_v2", 2, 7), VmSize("Standard_DS3_v2", 4, 14),
    VmSize("Standard_DS4_v2", 8, 28), VmSize("Standard_DS5_v2", 16, 56),
    VmSize("Standard_D2_v3", 2, 8), VmSize("Standard_D4_v3", 4, 16), VmSize("Standard_D8_v3", 8, 32),
    VmSize("Standard_D16_v3", 16, 64), VmSize("Standard_D2s_v3", 2, 8), VmSize("Standard_D4s_v3", 4, 16),
    VmSize("Standard_D8s_v3", 8, 32), VmSize("Standard_D16s_v3", 16, 64), VmSize("Standard_D32s_v3", 32, 128),
    VmSize("Standard_D2s_v5", 2, 8), VmSize("Standard_D4s_v5", 4, 16), VmSize("Standard_D8s_v5", 8, 32),
    VmSize("Standard_D16s_v5", 16, 64),
    VmSize("Standard_E2s_v3", 2, 16), VmSize("Standard_E4s_v3", 4, 32), VmSize("Standard_E8s_v3", 8, 64),
    VmSize("Standard_E16s_v3", 16, 128),
    VmSize("Standard_F2s_v2", 2, 4), VmSize("Standard_F4s_v2", 4, 8), VmSize("Standard_F8s_v2", 8, 16),
    VmSize("Standard_F16s_v2", 16, 32),
    # NVIDIA GPU sizes.
    *_gpu_family(["Standard_NC6", "Standard_NC12", "Standard_NC24", "Standard_NC24r"],
                 [6, 12, 24, 24], [56, 112, 224, 224], [1, 2, 4, 4], "K80"),
    *_gpu_family(["Standard_NC6s_v2", "Standard_NC12s_v2", "Standard_NC24s_v2", "Standard_NC24rs_v2"],
                 [6, 12, 24, 24], [112, 224, 448, 448], [1, 2, 4, 4], "P100"),
    *_gpu_family(["Standard_NC6s_v3", "Standard_NC12s_v3", "Standard_NC24s_v3", "Standard_NC24rs_v3"],
                 [6, 12, 24, 24], [112, 224, 448, 448], [1, 2, 4, 4], "V100"),
    *_gpu_family(["Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC16as_T4_v3", "Standard_NC64as_T4_v3"],
                 [4, 8, 16, 64], [28, 56, 110, 440], [1, 1, 1, 4], "T4"),
    *_gpu_family(["Standard_NC24ads_A100_v4", "Standard_NC48ads_A100_v4", "Standard_NC96ads_A100_v4"],
                 [24, 48, 96], [220, 440, 880], [1, 2, 4], "A100"),
    *_gpu_family(["Standard_NC8ads_A10_v4", "Standard_NC16ads_A10_v4", "Standard_NC32ads_A10_v4"],
                 [8, 16, 32], [100, 200, 400], [1, 1, 2], "A10"),
    *_gpu_family(["Standard_ND6s", "Standard_ND12s", "Standard_ND24s", "Standard_ND24rs"],
                 [6, 12, 24, 24], [112, 224, 448, 448], [1, 2, 4, 4], "P40"),
    VmSize("Standard_ND40rs_v2", 40, 672, 8, "V100"),
    VmSize("Standard_ND96asr_v4", 96, 900, 8, "A100"),
    *_gpu_family(["Standard_NV6", "Standard_NV12", "Standard_NV24"], [6, 12, 24], [56, 112, 224], [1, 2, 4], "M60"),
    *_gpu_family(["Standard_NV6s_v2", "Standard_NV12s_v2", "Standard_NV24s_v2"],
                 [6, 12, 24], [112, 224, 448], [1, 2, 4], "M60"),
    *_gpu_family(["Standard_NV12s_v3", "Standard_NV24s_v3", "Standard_NV48s_v3"],
                 [12, 24, 48], [112, 224, 448], [1, 2, 4], "M60"),
    # Accelerators that do not expose nvidia.com/gpu.
    VmSize("Standard_NV4as_v4", 4, 14, accelerator="AMD MI25 (partial)"),
    VmSize("Standard_NV8as_v4", 8, 28, accelerator="AMD MI25 (partial)"),
    VmSize("Standard_NV16as_v4", 16, 56, accelerator="AMD MI25 (partial)"),
    VmSize("Standard_NV32as_v4", 32, 112, accelerator="AMD MI25"),
    VmSize("Standard_NP10s", 10, 168, accelerator="Xilinx U250 FPGA"),
    VmSize("Standard_NP20s", 20, 336, accelerator="Xilinx U250 FPGA"),
    VmSize("Standard_NP40s", 40, 672, accelerator="Xilinx U250 FPGA"),
]

CATALOG: dict[str, VmSize] = {size.name.lower(): size for size in _SIZES}
DEFAULT_VM_SIZE = "Standard_D3_v2"


def lookup(name: str) -> VmSize | None:
    """Azure matches VM size names case-insensitively."""
    return CATALOG.get((name or "").lower())


def available_names() -> str:
    return ",".join(sorted(size.name for size in _SIZES))
