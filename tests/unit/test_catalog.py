"""The VM-size catalog against the reference table (facts §2.3): vCPUs, memory, NVIDIA GPUs per node."""
from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from emulator import catalog
from emulator.catalog import CATALOG, DEFAULT_VM_SIZE, VmSize, available_names, lookup

# (name, vcpus, memory GB, nvidia GPUs, GPU model) straight from the facts table.
FACTS_GPU_ROWS = [
    ("Standard_NC6", 6, 56, 1, "K80"), ("Standard_NC12", 12, 112, 2, "K80"), ("Standard_NC24", 24, 224, 4, "K80"),
    ("Standard_NC24r", 24, 224, 4, "K80"),
    ("Standard_NC6s_v2", 6, 112, 1, "P100"), ("Standard_NC12s_v2", 12, 224, 2, "P100"),
    ("Standard_NC24s_v2", 24, 448, 4, "P100"),
    ("Standard_NC6s_v3", 6, 112, 1, "V100"), ("Standard_NC12s_v3", 12, 224, 2, "V100"),
    ("Standard_NC24s_v3", 24, 448, 4, "V100"), ("Standard_NC24rs_v3", 24, 448, 4, "V100"),
    ("Standard_NC4as_T4_v3", 4, 28, 1, "T4"), ("Standard_NC8as_T4_v3", 8, 56, 1, "T4"),
    ("Standard_NC16as_T4_v3", 16, 110, 1, "T4"), ("Standard_NC64as_T4_v3", 64, 440, 4, "T4"),
    ("Standard_NC24ads_A100_v4", 24, 220, 1, "A100"), ("Standard_NC48ads_A100_v4", 48, 440, 2, "A100"),
    ("Standard_NC96ads_A100_v4", 96, 880, 4, "A100"),
    ("Standard_NC8ads_A10_v4", 8, 100, 1, "A10"), ("Standard_NC16ads_A10_v4", 16, 200, 1, "A10"),
    ("Standard_NC32ads_A10_v4", 32, 400, 2, "A10"),
    ("Standard_ND6s", 6, 112, 1, "P40"), ("Standard_ND12s", 12, 224, 2, "P40"), ("Standard_ND24s", 24, 448, 4, "P40"),
    ("Standard_ND24rs", 24, 448, 4, "P40"),
    ("Standard_ND40rs_v2", 40, 672, 8, "V100"), ("Standard_ND96asr_v4", 96, 900, 8, "A100"),
    ("Standard_NV6", 6, 56, 1, "M60"), ("Standard_NV12", 12, 112, 2, "M60"), ("Standard_NV24", 24, 224, 4, "M60"),
    ("Standard_NV6s_v2", 6, 112, 1, "M60"), ("Standard_NV12s_v2", 12, 224, 2, "M60"),
    ("Standard_NV24s_v2", 24, 448, 4, "M60"),
    ("Standard_NV12s_v3", 12, 112, 1, "M60"), ("Standard_NV24s_v3", 24, 224, 2, "M60"),
    ("Standard_NV48s_v3", 48, 448, 4, "M60"),
]

@pytest.mark.parametrize("name, vcpus, memory, gpus, model", FACTS_GPU_ROWS, ids=[r[0] for r in FACTS_GPU_ROWS])
def test_gpu_sizes_match_the_facts_table(name: str, vcpus: int, memory: float, gpus: int, model: str) -> None:
    size = lookup(name)
    assert size is not None
    assert (size.name, size.vcpus, size.memory_gb, size.gpus, size.gpu_model) == (name, vcpus, memory, gpus, model)
    assert size.accelerator is None


def test_nc6_is_one_k80_with_six_vcpus_and_56_gb() -> None:
    assert lookup("Standard_NC6") == VmSize("Standard_NC6", 6, 56, 1, "K80")


def test_default_size_d3_v2_has_no_gpu_and_four_vcpus() -> None:
    assert DEFAULT_VM_SIZE == "Standard_D3_v2"
    d3 = lookup(DEFAULT_VM_SIZE)
    assert d3 is not None
    assert (d3.vcpus, d3.memory_gb, d3.gpus, d3.gpu_model, d3.accelerator) == (4, 14, 0, None, None)


@pytest.mark.parametrize("spelling", ["Standard_NC6", "standard_nc6", "STANDARD_NC6", "sTaNdArD_Nc6"])
def test_lookup_is_case_insensitive_and_returns_the_canonical_name(spelling: str) -> None:
    size = lookup(spelling)
    assert size is not None and size.name == "Standard_NC6"


@pytest.mark.parametrize("name", ["Standard_NV4as_v4", "Standard_NV8as_v4", "Standard_NV16as_v4", "Standard_NV32as_v4"])
def test_amd_nvv4_sizes_expose_no_nvidia_gpu(name: str) -> None:
    size = lookup(name)
    assert size is not None
    assert size.gpus == 0
    assert size.gpu_model is None
    assert size.accelerator is not None and "AMD" in size.accelerator


@pytest.mark.parametrize("name", ["Standard_NP10s", "Standard_NP20s", "Standard_NP40s"])
def test_fpga_sizes_are_not_gpus(name: str) -> None:
    size = lookup(name)
    assert size is not None
    assert size.gpus == 0
    assert "FPGA" in (size.accelerator or "")


@pytest.mark.parametrize("name", ["", "Standard_NC7", "Standard_NC6 ", "NC6", "Standard_XYZ"])
def test_unknown_sizes_are_none(name: str) -> None:
    assert lookup(name) is None


def test_lookup_of_none_is_none() -> None:
    assert lookup(None) is None  # type: ignore[arg-type]  # what an unset config passes


def test_general_purpose_sizes_have_no_gpu() -> None:
    for name in ("Standard_D2_v2", "Standard_D3_v2", "Standard_DS3_v2", "Standard_D4s_v3", "Standard_F4s_v2"):
        size = lookup(name)
        assert size is not None and size.gpus == 0 and size.gpu_model is None, name
    assert lookup("Standard_D2_v2").vcpus == 2  # type: ignore[union-attr]  # a known size
    assert lookup("Standard_D1_v2").vcpus == 1  # type: ignore[union-attr]  # a known size


def test_every_gpu_size_names_its_model_and_every_model_has_gpus() -> None:
    for size in CATALOG.values():
        assert (size.gpus > 0) == (size.gpu_model is not None), size
        assert size.vcpus > 0 and size.memory_gb > 0, size


def test_names_are_unique_ignoring_case() -> None:
    assert len(CATALOG) == len(catalog._SIZES)
    assert all(key == size.name.lower() for key, size in CATALOG.items())


def test_available_names_lists_every_size_once_sorted() -> None:
    names = available_names().split(",")
    assert len(names) == len(CATALOG)
    assert names == sorted(names)
    assert {n.lower() for n in names} == set(CATALOG)


def test_available_names_use_azure_spelling() -> None:
    names = available_names().split(",")
    assert "Standard_NC6" in names and "standard_nc6" not in names
    assert set(names) == {size.name for size in CATALOG.values()}


def test_vm_size_is_frozen() -> None:
    with pytest.raises(FrozenInstanceError):
        lookup("Standard_NC6").gpus = 2  # type: ignore[union-attr, misc]  # a known size; writing it must fail


# The SKUs Microsoft's ACI-to-managed-endpoint migration guide suggests by the old request (docs/migration.md):
# a user following it must find every one of them, with Azure's published vCPUs and memory.
MIGRATION_GUIDE_SKUS = [("Standard_DS1_v2", 1, 3.5), ("Standard_F2s_v2", 2, 4), ("Standard_DS2_v2", 2, 7),
                        ("Standard_E2s_v3", 2, 16), ("Standard_F4s_v2", 4, 8), ("Standard_DS3_v2", 4, 14),
                        ("Standard_E4s_v3", 4, 32)]


@pytest.mark.parametrize("name, vcpus, memory", MIGRATION_GUIDE_SKUS, ids=[r[0] for r in MIGRATION_GUIDE_SKUS])
def test_the_migration_guides_skus_are_in_the_catalog(name: str, vcpus: int, memory: float) -> None:
    size = lookup(name)
    assert size is not None, name
    assert (size.vcpus, size.memory_gb, size.gpus) == (vcpus, memory, 0)
