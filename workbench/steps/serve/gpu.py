"""GPU serving, declared (`serve.gpu`), never guessed: the CUDA base image and its CUDA
major against the lock's CUDA wheels, the device request every `docker run` of the image
gets (what `--gpus N` sends), and whether this machine can honour it. What can be read
offline (names, versions) is checked; what needs a GPU is skipped with the reason where
there is none, never passed."""

from __future__ import annotations

import re
from typing import Any

from packaging.utils import canonicalize_name

from workbench.checklist.checks import CheckResult
from workbench.project.lockfile import LockEntry
from workbench.project.manifest import Manifest
from workbench.steps.snapshot.cuda import NVIDIA_DRIVER, gpu_on_this_machine

# nvidia/cuda:12.4.1-runtime-ubuntu22.04: the tag starts with the CUDA version.
NVIDIA_CUDA_TAG = re.compile(r"^(\d+)\.\d+")
# pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime, or a team's own ...:py311-cuda12: CUDA named.
CUDA_NAMED = re.compile(r"(?:^|[^a-z0-9])cuda[-_]?(\d+)(?:[.-]\d+)*(?![a-z0-9])", re.IGNORECASE)
WHEEL_MAJOR = re.compile(r"-cu(\d+)$")  # nvidia-cublas-cu12: the CUDA major in the name
LOCAL_BUILD = re.compile(r"\+cu(\d{2,3})$")  # torch 2.5.1+cu121: major and minor digits


def cuda_of_image(reference: str) -> int | None:
    """The CUDA major a base image's name says, or None when the name says none."""
    name = reference.split("@", 1)[0]
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    if repository.rsplit("/", 2)[-2:] == ["nvidia", "cuda"] and (
        found := NVIDIA_CUDA_TAG.match(tag)
    ):
        return int(found.group(1))
    found = CUDA_NAMED.search(tag) or CUDA_NAMED.search(repository.rsplit("/", 1)[-1])
    return int(found.group(1)) if found else None


def cuda_of_lock(entries: dict[str, LockEntry]) -> dict[int, list[str]]:
    """CUDA major -> the lock's packages built for it (`nvidia-*-cuNN` wheels, `+cuNNN`
    local builds), each as "name version"."""
    majors: dict[int, list[str]] = {}
    for key, entry in entries.items():
        major = None
        if (named := WHEEL_MAJOR.search(canonicalize_name(key))) and key.startswith("nvidia-"):
            major = int(named.group(1))
        elif built := LOCAL_BUILD.search(entry.version):
            major = int(built.group(1)[:-1])  # the last digit is the minor: cu121 is 12.1
        if major is not None:
            majors.setdefault(major, []).append(f"{entry.name} {entry.version}")
    return majors


def gpu_absent(client: Any | None) -> str | None:
    """Why a container cannot be given a GPU here, or None when it can: the engine must
    list the nvidia runtime (NVIDIA Container Toolkit) and the host an NVIDIA driver."""
    runtimes: dict[str, Any] = {}
    if client is not None:
        runtimes = client.info().get("Runtimes") or {}
    missing = []
    if "nvidia" not in runtimes:
        missing.append(
            "nvidia runtime absent" if client is not None else "the engine was not asked"
        )
    if gpu_on_this_machine() is None:
        missing.append(f"no NVIDIA driver: {NVIDIA_DRIVER} absent")
    return f"no GPU on this machine ({'; '.join(missing)})" if missing else None


def device_requests(gpus: int) -> list[Any]:
    """What `docker run --gpus N` asks the engine for: N devices with the gpu capability."""
    if not gpus:
        return []
    from docker.types import DeviceRequest  # the SDK only when used (import cost)

    return [DeviceRequest(count=gpus, capabilities=[["gpu"]])]


def _cpu_image(base: str, image_major: int | None) -> CheckResult:
    """A CPU image (serve.gpu 0) on a base whose name says CUDA carries its libraries for
    nothing."""
    if image_major is None:
        return CheckResult.passed(
            f"serve.gpu is 0 and the base image {base} names no CUDA version: a CPU image"
        )
    return CheckResult.warned(
        f"serve.gpu is 0 but the base image {base} is CUDA {image_major}: a CPU image carrying "
        "CUDA libraries it never uses",
        "fix: leave serve.base_image unset (the python image of the snapshot's version), or "
        "set serve.gpu if the image is meant for a GPU",
    )


def gpu_image(
    manifest: Manifest, entries: dict[str, LockEntry], base: str, absent: str | None
) -> CheckResult:
    """`serve.gpu-image`: the CUDA major of the base image is the lock's CUDA wheels'.
    Checked offline; a match is skipped with `absent` (why no GPU here), never passed, as
    nothing was run on a GPU. A CPU image passes on a base that names no CUDA."""
    gpus = manifest.serve.gpu
    image_major = cuda_of_image(base)
    if not gpus:
        return _cpu_image(base, image_major)
    locked = cuda_of_lock(entries)
    said = "; ".join(f"CUDA {m}: {', '.join(names)}" for m, names in sorted(locked.items()))
    if image_major is None:
        return CheckResult.failed(
            f"serve.gpu asks for {gpus} GPU(s) but the base image {base} names no CUDA "
            "version (nvidia/cuda:12.4.1-... or a tag with cuda12)"
            + (f"; the lock's CUDA wheels are for {said}" if locked else ""),
            "fix: leave serve.base_image unset and set serve.cuda_image to a CUDA image whose "
            "tag says its version (e.g. nvidia/cuda:12.4.1-runtime-ubuntu22.04), or name "
            "your own image so (e.g. team/python3.11-cuda12.4:1)",
        )
    other = {m: names for m, names in locked.items() if m != image_major}
    if other:
        wanted = ", ".join(str(m) for m in sorted(other))
        return CheckResult.failed(
            f"the base image {base} is CUDA {image_major} but the lock's CUDA wheels are for "
            f"CUDA {wanted}: {said}",
            f"fix: set serve.cuda_image to a CUDA {wanted} image (e.g. nvidia/cuda:"
            f"{min(other)}.x.y-runtime-ubuntu22.04), or install the wheels' cu{image_major} "
            "build in the model's environment and take the snapshot again",
        )
    matched = (
        f"the base image {base} is CUDA {image_major}, as the lock's CUDA wheels ({said})"
        if locked
        else f"the base image {base} is CUDA {image_major}; the lock names no CUDA major "
        "(no nvidia-*-cuNN wheel, no +cuNNN build) to compare with"
    )
    if absent:
        return CheckResult.skipped(f"{matched}; not run on a GPU here: {absent}", unverified=True)
    if not locked:  # nothing in the lock uses CUDA: the model would run on the CPU
        return CheckResult.warned(
            matched,
            f"serve.gpu {gpus}: the engine lists the nvidia runtime, but no locked package is "
            "a CUDA build: the model may run on the CPU of a GPU machine (install the CUDA "
            "build in the model's environment, or set serve.gpu: 0)",
        )
    return CheckResult.passed(matched, f"serve.gpu {gpus}: the engine lists the nvidia runtime")
