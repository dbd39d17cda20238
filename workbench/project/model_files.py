"""The model folder: what of the project the model gets (its artifact, predictor module and
`model.code`), laid out the same in the image's build context and in the local checks, and
how it is copied: nothing from outside the project, no link loops, no devices; caches and
virtual environments left out.

The local checks run the model against a staged copy of that folder (`staged_model`), so
a predictor that reads a file the image will not hold fails here, naming it, instead of
passing locally and failing in the image.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.paths import scratch_dir
from workbench.project.lockfile import read_snapshot
from workbench.project.manifest import Manifest

# Left out when a folder of the model's code is copied into the build context.
NOT_COPIED = ("__pycache__", "*.pyc", ".git", ".venv", ".workbench")
SKIPPED = shutil.ignore_patterns(*NOT_COPIED)


def copy_into(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=SKIPPED, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)


def refuse_unsafe(path: Path, root: Path) -> None:
    """A file of the project sent to the build must stay in the project and be a regular file
    or folder: a symbolic link out of it (to ~/.aws, /etc), a link loop, a device such as
    /dev/zero or a FIFO (whose copy never ends) is refused, naming it."""
    real_root = root.resolve()
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise WorkbenchError(
            f"{shown} is a symbolic link that leads nowhere (or in a loop).",
            fix="remove the link, or replace it with the file it meant.",
        ) from None
    if real != real_root and real_root not in real.parents:
        raise WorkbenchError(
            f"{shown} is a symbolic link to {real}, outside the project: the build sends "
            "nothing from outside the project into the image.",
            fix="copy what the model needs into the project (and commit it), or remove the link.",
        )
    if (
        path.is_symlink()
        and real.is_dir()
        and (real == path.parent.resolve() or real in path.parent.resolve().parents)
    ):
        raise WorkbenchError(
            f"{shown} is a symbolic link to a folder that contains it (a loop).",
            fix="remove the link.",
        )
    if path.is_symlink() and real.is_dir():
        # Copied, it would put files in the image that the release's hashes and git checks
        # never see (they do not follow folder links): refused, named.
        raise WorkbenchError(
            f"{shown} is a symbolic link to the folder {real.relative_to(real_root)}: the "
            "image would hold files the release never hashes.",
            fix="list that folder in model.code itself, or move it where the link is.",
        )
    if not (real.is_file() or real.is_dir()):
        raise WorkbenchError(
            f"{shown} is not a regular file or folder (a device, FIFO or socket): the build "
            "would read it without end.",
            fix="remove it from the model's code, or list only regular files in model.code.",
        )


def copy_project_files(
    source: Path,
    target: Path,
    root: Path,
    copy: Callable[[str, str], object] = shutil.copy2,
) -> None:
    """Copy a file or folder of the project into the build context, refusing (before any
    byte is read) every entry `refuse_unsafe` refuses, at any depth."""
    refuse_unsafe(source, root)

    def checked(folder: str, names: list[str]) -> set[str]:
        skipped = SKIPPED(folder, names)
        for name in names:
            if name not in skipped:
                refuse_unsafe(Path(folder) / name, root)
        return skipped

    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=checked, dirs_exist_ok=True, copy_function=copy)
    else:
        copy(str(source), str(target))


def predictor_module(manifest: Manifest) -> tuple[str, Path | None]:
    """The predictor class's top-level module, and its file or folder at the project's root
    (what the build copies), None when it is not there."""
    module = (manifest.model.predictor or "").split(":")[0].split(".")[0]
    root = manifest.root
    return module, next((c for c in (root / f"{module}.py", root / module) if c.exists()), None)


def model_sources(manifest: Manifest) -> list[tuple[Path, str]]:
    """(source, path under model/) for the predictor code and the artifacts."""
    items: list[tuple[Path, str]] = []
    m = manifest.model
    if m.artifact:
        items.append((manifest.resolve(m.artifact), m.artifact))
    if m.predictor:
        module, found = predictor_module(manifest)
        if found is not None:
            items.append((found, found.name))
        elif not _locked_as_a_wheel(manifest, module):
            raise WorkbenchError(
                f"the predictor module `{module}` (model.predictor in workbench.yaml) is not "
                f"in {manifest.root}.",
                fix="put the module at the project's root.",
            )
    for extra in m.code:
        items.append((manifest.resolve(extra), extra))
    return items


def _locked_as_a_wheel(manifest: Manifest, module: str) -> bool:
    """Whether the predictor's module comes from the project's own package, installed
    editable or from a local path (a src/ layout) and locked as a wheel the snapshot built:
    it goes into the image with the lock, nothing to copy."""
    try:
        snapshot = read_snapshot(manifest.root)
    except WorkbenchError:
        return False
    return any(
        entry.source in ("editable", "local") and any(w.endswith(f"({module})") for w in entry.why)
        for entry in snapshot.runtime.values()
    )


def _link_or_copy(source: str, target: str) -> None:
    """A hard link (instant, whatever the model's size), a copy across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


# Where the image puts the model folder, under its working folder (/app/model).
MODEL_FOLDER = "model"


# A staged folder older than this was left by a killed run (a run lasts minutes at most).
STALE_SECONDS = 3600


def _sweep(scratch: Path) -> None:
    """Remove the staged folders killed runs left (only this workbench's own `app-*`)."""
    now = time.time()
    for old in scratch.glob("app-*"):
        try:
            stale = now - old.lstat().st_mtime > STALE_SECONDS
        except OSError:
            continue
        if stale and old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_model(manifest: Manifest) -> Iterator[Path]:
    """A private working folder laid out as the image's /app: `model/` holding exactly what
    the build copies there (hard links, so a large artifact costs nothing), removed after.
    The local checks load the model from it, with it as the working folder, as the image
    does: `load(dir)` and relative paths see the same files in both places."""
    scratch = scratch_dir(manifest.root, "model-view", what="the staged model folder")
    _sweep(scratch)
    app = Path(tempfile.mkdtemp(prefix="app-", dir=scratch))
    try:
        (app / MODEL_FOLDER).mkdir()
        for source, relative in model_sources(manifest):
            if not source.exists() and not source.is_symlink():
                continue  # the load then fails on it, and the failure names it
            copy_project_files(source, app / MODEL_FOLDER / relative, manifest.root, _link_or_copy)
        yield app
    finally:
        shutil.rmtree(app, ignore_errors=True)
