"""CUDA wheels in a lock are found by name (nvidia-*, triton) and weighed by their cached
wheel files; a +cpu build of torch is not one of them."""

from __future__ import annotations

from pathlib import Path

from workbench.project.lockfile import LockEntry
from workbench.steps.snapshot.cuda import cuda_wheels, is_cuda, total_megabytes


def _wheel(folder: Path, name: str, megabytes: int) -> None:
    with (folder / name).open("wb") as handle:
        handle.truncate(megabytes * 1_000_000)  # sparse: the size is what is read


def test_cuda_wheels_are_named_and_weighed_from_the_cache(tmp_path: Path) -> None:
    _wheel(tmp_path, "nvidia_cudnn_cu12-9.1.0.70-py3-none-manylinux2014_x86_64.whl", 664)
    _wheel(tmp_path, "triton-3.1.0-cp311-cp311-manylinux_2_17_x86_64.whl", 209)
    _wheel(tmp_path, "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", 192)
    entries = {
        "nvidia-cudnn-cu12": LockEntry("nvidia-cudnn-cu12", "9.1.0.70"),
        "triton": LockEntry("triton", "3.1.0"),
        "nvidia-nccl-cu12": LockEntry("nvidia-nccl-cu12", "2.21.5"),  # not cached
        "torch": LockEntry("torch", "2.13.0+cpu"),
        "numpy": LockEntry("numpy", "2.4.6"),
    }
    found = cuda_wheels(entries, tmp_path)
    assert [w.describe() for w in found] == [
        "nvidia-cudnn-cu12 9.1.0.70 (664 MB)",
        "triton 3.1.0 (209 MB)",
        "nvidia-nccl-cu12 2.21.5 (not cached)",
    ]
    assert total_megabytes(found) == 873
    assert not is_cuda("torch") and is_cuda("NVIDIA_cublas_cu12") and is_cuda("pytorch-triton")


def test_a_cpu_lock_has_none(tmp_path: Path) -> None:
    entries = {"torch": LockEntry("torch", "2.13.0+cpu"), "numpy": LockEntry("numpy", "2.4.6")}
    assert cuda_wheels(entries, tmp_path / "no-cache-yet") == []
