"""The project's dependency image: the lock installed from its wheels into /opt/venv.

A lock's wheels weigh tens of MB (scikit-learn's stack) to GB (torch). Sent in every build's
context, the engine received and hashed them all again even when every layer was cached:
most of a cached build's cost. They are built once into an image of their own, tagged by
the digest of everything that goes into it (the base image's id, the lock, the wheels, the
Dockerfile), labelled with the project's id; the image's build copies /opt/venv from it and
is sent no wheels. A lock, wheel or base image that changes gives another tag, so an image
is never reused for other inputs; the project's older dependency images are removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.kernel import commands
from workbench.kernel.hashing import sha256_stored
from workbench.kernel.lock import Busy, engine_layers
from workbench.kernel.paths import asset, scratch_dir
from workbench.project.lockfile import LOCK_NAME, lock_text, pins_only
from workbench.project.manifest import Manifest
from workbench.project.model_files import copy_into
from workbench.steps.serve.building import BuildLog
from workbench.steps.serve.image_labels import LABEL_PREFIX, source_url

ROLE_LABEL = f"{LABEL_PREFIX}.role"
ROLE = "dependencies"
TEMPLATE = ("templates", "Dockerfile.dependencies")


@dataclass(frozen=True)
class Dependencies:
    image: str  # workbench/<name>/dependencies:<digest>
    folder: Path  # .workbench/dependencies: its Dockerfile and lock (the wheels while built)
    wheels: tuple[Path, ...]
    project_id: str


def plan(
    manifest: Manifest,
    base_image: str,
    base_image_id: str,
    wheels: list[Path],
    drop_venv_tools: str,
) -> Dependencies:
    """The dependency image for this lock, its wheels and base image; its Dockerfile and lock
    are written to .workbench/dependencies/ (what it is built from, to read)."""
    lock = manifest.root / LOCK_NAME
    labels = {
        f"{LABEL_PREFIX}.project": manifest.name,
        f"{LABEL_PREFIX}.project-id": manifest.project_id,
        ROLE_LABEL: ROLE,
        "org.opencontainers.image.source": source_url(manifest.root),
    }
    dockerfile = (
        asset(*TEMPLATE)
        .read_text()
        .format(
            base_image=base_image,
            drop_venv_tools=drop_venv_tools,
            labels=" \\\n      ".join(f"{k}={json.dumps(v)}" for k, v in labels.items()),
        )
    )
    folder = scratch_dir(manifest.root, ROLE, what="the dependency image's build context")
    shutil.rmtree(folder / "wheels", ignore_errors=True)
    (folder / "Dockerfile").write_text(dockerfile)
    # The copy the image is built from is the one hashed: a snapshot rewriting the lock
    # meanwhile can never give an image of one lock the tag of another. Its pins only: the
    # comments saying why each is there differ between projects with the same pins (a
    # TorchScript and a torch.export model), and would have made the engine install the same
    # wheels again instead of reusing the layers.
    pins = pins_only(lock_text(lock), str(lock))
    (folder / LOCK_NAME).write_text(pins, encoding="utf-8")
    digest = hashlib.sha256()
    for part in (
        base_image_id,
        hashlib.sha256(pins.encode("utf-8")).hexdigest(),  # the written file's sha256
        dockerfile,
        *sorted(f"{w.name}={sha256_stored(w)}" for w in wheels),  # (cached: see build)
    ):
        digest.update(part.encode() + b"\0")
    return Dependencies(
        image=f"workbench/{manifest.name}/{ROLE}:{digest.hexdigest()[:24]}",
        folder=folder,
        wheels=tuple(wheels),
        project_id=manifest.project_id,
    )


def copy_source(client: Any, dependencies: Dependencies) -> str:
    """What the image's build copies /opt/venv from: the dependency image's parent, the
    layer before its labels, which every project with the same lock shares (the engine then
    reuses the venv's checksum instead of reading a new image's venv whole: seconds for
    scikit-learn's, more for torch's); the tagged image where the engine records no parent."""
    parent = client.images.get(dependencies.image).attrs.get("Parent") or ""
    return parent if parent.startswith("sha256:") else dependencies.image


def present(client: Any, dependencies: Dependencies) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(dependencies.image)
    except ImageNotFound:
        return False
    return True


def ensure(
    client: Any,
    dependencies: Dependencies,
    build: Any,
    *,
    cancel: threading.Event | None,
    nocache: bool,
) -> Iterator[Any]:
    """Build the dependency image unless the engine has it (always with `nocache`), through
    `build(path, tag, cancel, nocache)`, a generator of the engine's log lines; says which."""
    if not nocache and present(client, dependencies):
        yield BuildLog(f"dependencies: {dependencies.image}, already on the engine")
        return
    yield BuildLog(
        f"dependencies: building {dependencies.image} from {len(dependencies.wheels)} wheels "
        f"(Dockerfile in {dependencies.folder})"
    )
    wheels = dependencies.folder / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    try:
        for wheel in dependencies.wheels:
            copy_into(wheel, wheels / wheel.name)
        with commands.running(f"docker build --tag {dependencies.image} {dependencies.folder}"):
            yield from build(dependencies.folder, dependencies.image, cancel, nocache)
    finally:
        shutil.rmtree(wheels, ignore_errors=True)  # they are in the image now
    _remove_older(client, dependencies)


def _remove_older(client: Any, dependencies: Dependencies) -> None:
    """This project's other dependency images (an older lock's): by the project's id and the
    role, never another project's. One still in use (a container) is left, and all are
    while another build uses the engine's layers (it could be building on theirs: another
    project with that older lock): they go when the project next builds a dependency image."""
    try:
        with engine_layers("the removal of older dependency images", removing=True, wait=0):
            _remove_listed(client, dependencies)
    except Busy:
        return


def _remove_listed(client: Any, dependencies: Dependencies) -> None:
    from docker.errors import APIError  # the SDK only when used (import cost)

    try:
        listed = client.api.images(
            filters={
                "label": [
                    f"{LABEL_PREFIX}.project-id={dependencies.project_id}",
                    f"{ROLE_LABEL}={ROLE}",
                ]
            }
        )
    except APIError:
        return
    for image in listed:
        if dependencies.image in (image.get("RepoTags") or []):
            continue
        try:
            client.api.remove_image(image["Id"], force=False, noprune=False)
        except APIError:
            continue
