"""CUDA wheels in the lock (`nvidia-*`, `triton`): what each weighs, read from the cached
wheel file, and what the machine says about a GPU. A CPU image that carries them grows by
gigabytes for nothing (a CUDA build of torch instead of its `+cpu` build)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from workbench.project.lockfile import LockEntry

CUDA_TRITON = ("triton", "pytorch-triton")
# Where the NVIDIA kernel driver says it is loaded; absent on a machine without a GPU.
NVIDIA_DRIVER = Path("/proc/driver/nvidia/version")


@dataclass(frozen=True)
class CudaWheel:
    name: str
    version: str
    megabytes: float | None  # the cached wheel file's size; None when it is not cached

    def describe(self) -> str:
        size = f"{self.megabytes:,.0f} MB" if self.megabytes is not None else "not cached"
        return f"{self.name} {self.version} ({size})"


def is_cuda(name: str) -> bool:
    key = canonicalize_name(name)
    return key.startswith("nvidia-") or key in CUDA_TRITON


def cuda_wheels(entries: dict[str, LockEntry], folder: Path) -> list[CudaWheel]:
    """The lock's CUDA packages, largest first, each with its wheel's size in `folder`."""
    sizes: dict[tuple[str, str], float] = {}
    for wheel in folder.glob("*.whl") if folder.is_dir() else []:
        try:
            name, version, _, _ = parse_wheel_filename(wheel.name)
        except InvalidWheelFilename:
            continue
        sizes[(str(name), str(version))] = wheel.stat().st_size / 1e6
    found = [
        CudaWheel(entry.name, entry.version, sizes.get((key, entry.version)))
        for key, entry in entries.items()
        if is_cuda(key)
    ]
    return sorted(found, key=lambda w: -(w.megabytes or 0))


def total_megabytes(wheels: list[CudaWheel]) -> float:
    return sum(w.megabytes or 0 for w in wheels)


def gpu_on_this_machine() -> str | None:
    """What the host says of an NVIDIA driver: its version line, or None without one."""
    try:
        return NVIDIA_DRIVER.read_text(errors="replace").splitlines()[0].strip()
    except (OSError, IndexError):
        return None
