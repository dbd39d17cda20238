"""The project's dependency image: the lock installed from its wheels into /opt/venv.

A lock's wheels weigh tens of MB (scikit-learn's stack) to GB (torch). Sent in every build's
context, the engine received and hashed them all again even when every layer was cached:
most of a cached build's cost. They are installed once, by a container of the base image
with no network (`install.sh`, the lock and the wheels put in /build), committed as one
layer: the venv image, labelled with the digest of everything that went into it (the base
image's id, the lock's pins, the commands, the wheels) and shared by every project with
those. The project's dependency image is the venv image with the project's labels, tagged
by that digest and the labels; the image's own build starts FROM the venv image and is sent
no wheels. (Built by `docker build`, the wheels were a layer of their own and the venv was
copied again into each image's first build: 12 CPU-s for scikit-learn's, more for torch's.)
A lock, wheel or base image that changes gives another tag, so an image is never reused for
other inputs; the project's older dependency images are removed.
"""

from __future__ import annotations

import collections
import hashlib
import json
import shutil
import tarfile
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.kernel import commands
from workbench.kernel.docker import cancellable_stream
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import sha256_stored
from workbench.kernel.lock import Busy, Waiting, cache_lock, engine_layers
from workbench.kernel.paths import asset, scratch_dir
from workbench.project.lockfile import LOCK_NAME, lock_text, pins_only
from workbench.project.manifest import Manifest
from workbench.steps.serve.building import BUILD_WAIT, BuildLog
from workbench.steps.serve.image_labels import LABEL_PREFIX, source_url
from workbench.steps.serve.run import PROJECT_ID_LABEL

ROLE_LABEL = f"{LABEL_PREFIX}.role"
ROLE = "dependencies"
VENV_LABEL = f"{LABEL_PREFIX}.venv"  # on the shared venv image (its children set it empty)
MAKER_LABEL = f"{LABEL_PREFIX}.venv-of"  # the project whose build made the venv image
TEMPLATE = ("templates", "dependencies.sh")
SCRIPT = "install.sh"


@dataclass(frozen=True)
class Dependencies:
    image: str  # workbench/<name>/dependencies:<digest>
    folder: Path  # .workbench/dependencies: install.sh, the lock, the labels' Dockerfile
    wheels: tuple[Path, ...]
    project_id: str
    base_image: str = ""  # its name, as the manifest says it
    base_id: str = ""  # the image the venv is installed on (the one hashed)
    venv: str = ""  # the venv image's digest (its VENV_LABEL): base, pins, commands, wheels
    labels: str = ""  # the project's labels, as the Dockerfile's LABEL writes them
    script: str = ""  # install.sh (the one hashed)

    def commands(self) -> str:
        """install.sh's commands, one `sh -c` line (what the venv layer's history says)."""
        lines = [line for line in self.script.splitlines() if line and line[0] != "#"]
        return " && ".join(lines)


def plan(
    manifest: Manifest,
    base_image: str,
    base_image_id: str,
    wheels: list[Path],
    drop_venv_tools: str,
) -> Dependencies:
    """The dependency image for this lock, its wheels and base image; its commands and lock
    are written to .workbench/dependencies/ (what it is made from, to read)."""
    lock = manifest.root / LOCK_NAME
    labels = {
        f"{LABEL_PREFIX}.project": manifest.name,
        PROJECT_ID_LABEL: manifest.project_id,
        ROLE_LABEL: ROLE,
        "org.opencontainers.image.source": source_url(manifest.root),
        VENV_LABEL: "",  # the venv image's own labels are not its children's
        MAKER_LABEL: "",
    }
    script = asset(*TEMPLATE).read_text().format(drop_venv_tools=drop_venv_tools)
    folder = scratch_dir(manifest.root, ROLE, what="the dependency image's build context")
    shutil.rmtree(folder / "wheels", ignore_errors=True)  # (an older workbench's context)
    (folder / "build.tar").unlink(missing_ok=True)  # (an install stopped mid-way)
    (folder / SCRIPT).write_text(script)
    # The copy the image is made from is the one hashed: a snapshot rewriting the lock
    # meanwhile can never give an image of one lock the tag of another. Its pins only: the
    # comments saying why each is there differ between projects with the same pins (a
    # TorchScript and a torch.export model), and would have made the engine install the same
    # wheels again instead of sharing the venv.
    pins = pins_only(lock_text(lock), str(lock))
    (folder / LOCK_NAME).write_text(pins, encoding="utf-8")
    venv = _digest(
        base_image_id,
        hashlib.sha256(pins.encode("utf-8")).hexdigest(),  # the written file's sha256
        script,
        *sorted(f"{w.name}={sha256_stored(w)}" for w in wheels),  # (cached: see build)
    )
    label_text = " \\\n      ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
    return Dependencies(
        image=f"workbench/{manifest.name}/{ROLE}:{_digest(venv, label_text)[:24]}",
        folder=folder,
        wheels=tuple(wheels),
        project_id=manifest.project_id,
        base_image=base_image,
        base_id=base_image_id,
        venv=venv,
        labels=label_text,
        script=script,
    )


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def copy_source(client: Any, dependencies: Dependencies) -> str:
    """What the image's build starts FROM: the dependency image's parent, the venv image
    before the project's labels, which every project with the same lock shares; the
    tagged image where the engine records no parent."""
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
    """Make the dependency image unless the engine has it (always with `nocache`): the venv
    image installed (unless another project's is there), then the project's labels on it
    through `build(path, tag, cancel, nocache)`, a generator of the engine's log lines."""
    if not nocache and present(client, dependencies):
        yield BuildLog(f"dependencies: {dependencies.image}, already on the engine")
        return
    made: list[str] = []
    try:
        # One install per venv at a time (two projects with one lock building at once: the
        # second finds the first's); the engine's layers shared from the venv image found
        # (or made) to its child built: no removal of images takes it from under the build.
        with (
            cache_lock(
                f"venv-{dependencies.venv[:16]}",
                f"installing the venv {dependencies.venv[:12]}",
                wait=BUILD_WAIT,
                waiting=Waiting(cancel=cancel),
            ),
            engine_layers(
                f"the build of {dependencies.image}",
                removing=False,
                wait=BUILD_WAIT,
                cancel=cancel,
            ),
        ):
            yield from _made(client, dependencies, build, cancel, nocache, made)
    except BaseException:
        for venv in made:  # committed but never labelled: nothing else would remove it
            _forget(client, venv)
        raise
    _remove_older(client, dependencies)


def _made(
    client: Any,
    dependencies: Dependencies,
    build: Any,
    cancel: threading.Event | None,
    nocache: bool,
    made: list[str],
) -> Iterator[Any]:
    venv = None if nocache else shared_venv(client, dependencies)
    if venv is None:
        yield BuildLog(
            f"dependencies: building {dependencies.image}: installing "
            f"{len(dependencies.wheels)} wheels in a container of {dependencies.base_image} "
            f"({dependencies.folder / SCRIPT})"
        )
        venv = yield from _install(client, dependencies, cancel)
        made.append(venv)
    else:
        yield BuildLog(
            f"dependencies: building {dependencies.image} on the venv of this lock already "
            f"on the engine ({venv[:19]}, another project's or an earlier build's)"
        )
    (dependencies.folder / "Dockerfile").write_text(
        "# Written by `workbench serve`: the project's dependency image, the venv image made\n"
        f"# by {SCRIPT} (shared by every project with this lock) with the project's labels.\n"
        f"FROM {venv}\nLABEL {dependencies.labels}\n"
    )
    with commands.running(f"docker build --tag {dependencies.image} {dependencies.folder}"):
        yield from build(dependencies.folder, dependencies.image, cancel, False)


def shared_venv(client: Any, dependencies: Dependencies) -> str | None:
    """The venv image of these inputs already on the engine (any project's), or None.

    Its children inherit its labels until they set their own (a dependency image's LABEL;
    an image's build steps before its LABEL, the USER step's included): a venv image is one
    whose parent is not one of them, one layer on the base image's, with no user and no
    project. The newest such (a `--no-cache` build makes another)."""
    from docker.errors import APIError  # the SDK only when used (import cost)

    try:
        listed = client.api.images(
            all=True,
            filters={"label": [f"{VENV_LABEL}={dependencies.venv}", f"{ROLE_LABEL}=venv"]},
        )
        ids = {image["Id"] for image in listed}
        roots = [image for image in listed if image.get("ParentId") not in ids]
        base = client.api.inspect_image(dependencies.base_id)
        for root in sorted(roots, key=lambda image: image.get("Created") or 0, reverse=True)[:50]:
            if _is_venv_image(client.api.inspect_image(root["Id"]), base):
                return str(root["Id"])
    except (APIError, KeyError):
        return None
    return None


def _is_venv_image(found: dict[str, Any], base: dict[str, Any]) -> bool:
    layers = (found.get("RootFS") or {}).get("Layers") or []
    base_layers = (base.get("RootFS") or {}).get("Layers") or []
    config = found.get("Config") or {}
    return (
        layers[:-1] == base_layers
        and len(layers) == len(base_layers) + 1
        and config.get("User") == (base.get("Config") or {}).get("User")
        and not (config.get("Labels") or {}).get(PROJECT_ID_LABEL)
    )


def _install(
    client: Any, dependencies: Dependencies, cancel: threading.Event | None
) -> Generator[BuildLog, None, str]:
    """install.sh run in a container of the base image, then committed: the venv image
    (the caller holds the engine's layers shared)."""
    from docker.errors import APIError  # the SDK only when used (import cost)

    what = f"the install of {dependencies.image}'s venv"
    labels = {PROJECT_ID_LABEL: dependencies.project_id, ROLE_LABEL: f"{ROLE}-install"}
    try:
        # A killed command's install container (never removed by it): this project's, gone.
        for left in client.api.containers(all=True, filters={"label": _pairs(labels)}):
            client.api.remove_container(left["Id"], force=True)
        base = client.api.inspect_image(dependencies.base_id)["Config"] or {}
        # As a Dockerfile's RUN: by `/bin/sh -c`, never through the base's own entrypoint.
        shell = ["/bin/sh", "-c", dependencies.commands()]
        run = (
            {"entrypoint": shell[:2], "command": shell[2:]}
            if base.get("Entrypoint")
            else {"command": shell}
        )
        created = client.api.create_container(
            dependencies.base_id,
            **run,
            labels=labels,
            # No network (in the container's host config: not kept in the committed image).
            host_config=client.api.create_host_config(network_mode="none"),
        )
    except APIError as exc:
        raise WorkbenchError(f"the Docker engine refused {what}: {exc.explanation}") from None
    container = created["Id"]
    try:
        with commands.running(
            f"docker run --network none {dependencies.base_image} sh -c '<{SCRIPT}>' "
            f"(the lock and {len(dependencies.wheels)} wheels in /build), docker commit"
        ):
            return (yield from _run_and_commit(client, container, dependencies, base, cancel))
    except APIError as exc:
        raise WorkbenchError(f"the Docker engine refused {what}: {exc.explanation}") from None
    finally:
        try:
            client.api.remove_container(container, force=True)
        except APIError:
            pass


def _run_and_commit(
    client: Any,
    container: str,
    dependencies: Dependencies,
    base: dict[str, Any],
    cancel: threading.Event | None,
) -> Generator[BuildLog, None, str]:
    archive = dependencies.folder / "build.tar"
    try:
        with tarfile.open(archive, "w", dereference=True) as tar:  # /build: lock, wheels
            tar.add(dependencies.folder / LOCK_NAME, arcname=f"build/{LOCK_NAME}")
            for wheel in dependencies.wheels:
                tar.add(wheel, arcname=f"build/wheels/{wheel.name}")
        with archive.open("rb") as data:
            client.api.put_archive(container, "/", data)
    finally:
        archive.unlink(missing_ok=True)
    client.api.start(container)
    said: collections.deque[str] = collections.deque(maxlen=8)
    logs = cancellable_stream(
        client, cancel, lambda: client.api.logs(container, stream=True, follow=True)
    )
    pending = ""
    for chunk in logs:
        *lines, pending = (pending + chunk.decode(errors="replace")).split("\n")
        for line in filter(str.strip, lines):
            said.append(line.strip())
            yield BuildLog(line.rstrip())
    if pending.strip():
        said.append(pending.strip())
        yield BuildLog(pending.rstrip())
    code = client.api.wait(container).get("StatusCode")
    if code != 0:
        raise WorkbenchError(
            f"the install of the lock's wheels failed in a container of "
            f"{dependencies.base_image} (exit code {code}): " + " | ".join(said)[-600:],
            fix=f"read {dependencies.folder / SCRIPT} and the log above (a wheel that does "
            "not install on the base image's Python or platform, or a hash that no longer "
            "matches: run `workbench snapshot` again).",
        )
    # Not the install container's labels (a project's, a role of its own) nor its command:
    # the venv image is no project's (its children carry theirs), says which project's build
    # made it (what removes it when it is left without children), and runs what the base
    # image runs.
    changes = [
        f'LABEL {VENV_LABEL}={dependencies.venv} {PROJECT_ID_LABEL}="" {ROLE_LABEL}=venv '
        f"{MAKER_LABEL}={dependencies.project_id}",
        f"CMD {json.dumps(base.get('Cmd') or [])}",
    ]
    if base.get("Entrypoint"):  # (an empty one is not set back by a commit: only a base's)
        changes.append(f"ENTRYPOINT {json.dumps(base['Entrypoint'])}")
    return str(client.api.commit(container, changes=changes)["Id"])


def _pairs(labels: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in labels.items()]


def _forget(client: Any, image: str) -> None:
    from docker.errors import APIError  # the SDK only when used (import cost)

    try:
        with engine_layers("the removal of an unlabelled venv image", removing=True, wait=0):
            client.api.remove_image(image, force=False, noprune=False)
    except (APIError, Busy):
        pass


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
    """The project's older dependency images, and the venv images its builds made that no
    image is built on any more (listed at the top level only when they have no child: a
    removal stopped half-way, or two removals of their last children at once)."""
    from docker.errors import APIError  # the SDK only when used (import cost)

    ours = dependencies.project_id
    try:
        listed = client.api.images(
            filters={"label": [f"{PROJECT_ID_LABEL}={ours}", f"{ROLE_LABEL}={ROLE}"]}
        )
        listed += client.api.images(filters={"label": [f"{MAKER_LABEL}={ours}"]})
    except APIError:
        return
    for image in listed:
        if dependencies.image in (image.get("RepoTags") or []):
            continue
        try:
            client.api.remove_image(image["Id"], force=False, noprune=False)
        except APIError:
            continue
