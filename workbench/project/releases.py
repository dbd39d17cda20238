"""The release history of a project: which versions exist, their manifests, their channels.

A version is a release when its manifest `releases/<version>.yaml` exists. Git
tags with the project's prefix but no manifest (a project's own older tags) are
not ours: they are listed as such, never taken for a release.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.kernel import git
from workbench.kernel.confine import check_inside, read_bounded
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import MAX_OWN_BYTES
from workbench.project.manifest import Manifest
from workbench.project.records import (
    Channel,
    Deployment,
    ReleaseRecord,
    read_record,
    write_record,
)
from workbench.project.semver import SemVer
from workbench.project.transaction import in_progress_version

RELEASES = "releases"
CHANNELS = "channels.yaml"
DEPLOYMENTS = "deployments.yaml"
# The workbench's own bookkeeping: never an input of a check, never "a change".
BOOKKEEPING = ("checklist.yaml", f"{RELEASES}/", ".workbench/")


def release_path(manifest: Manifest, version: SemVer | str) -> Path:
    return manifest.root / RELEASES / f"{version}.yaml"


def frozen_checklist_path(manifest: Manifest, version: SemVer | str) -> Path:
    """The checklist as it stood when `version` was tagged (JSON: hashed byte for byte)."""
    return manifest.root / RELEASES / f"{version}.checklist.json"


def read_frozen_checklist(manifest: Manifest, version: SemVer | str) -> tuple[dict[str, Any], str]:
    """The frozen checklist of a release and the sha256 of its bytes; it must match the hash
    the release manifest recorded, or it was edited since."""
    record = load_release(manifest, version)
    path = frozen_checklist_path(manifest, version)
    try:
        data = read_bounded(
            check_inside(manifest.root, path, what="the frozen checklist"),
            limit=MAX_OWN_BYTES,
            what="frozen checklist",
        )
    except FileNotFoundError:
        raise WorkbenchError(
            f"release {version} has no frozen checklist ({path} does not exist).",
            fix="releases tagged by older workbench versions have none; tag a new release.",
        ) from None
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if record.checklist.frozen_sha256 and digest != record.checklist.frozen_sha256:
        raise WorkbenchError(
            f"{path} was changed after release {version} was tagged (its sha256 is {digest}, "
            f"the release recorded {record.checklist.frozen_sha256}).",
            fix=f"restore it: `git checkout {tag_name(manifest, version)} -- {path.name}`.",
        )
    return json.loads(data), digest


def tag_name(manifest: Manifest, version: SemVer | str) -> str:
    return f"{manifest.release.tag_prefix}{version}"


def releases(manifest: Manifest) -> list[SemVer]:
    """Released versions, lowest first: those with a release manifest in releases/."""
    found = set()
    folder = manifest.root / RELEASES
    unfinished = in_progress_version(manifest.root)  # written, not yet committed and tagged
    for path in folder.glob("*.yaml") if folder.is_dir() else []:
        if path.stem == unfinished:
            continue
        try:
            found.add(SemVer.parse(path.stem))
        except WorkbenchError:
            continue  # channels.yaml, a frozen checklist, anything else
    return sorted(found)


def foreign_tags(manifest: Manifest) -> list[str]:
    """Git tags with the release prefix that have no release manifest: not the workbench's."""
    ours = {tag_name(manifest, v) for v in releases(manifest)}
    return [t for t in git.tags(manifest.root, f"{manifest.release.tag_prefix}*") if t not in ours]


def load_release(manifest: Manifest, version: SemVer | str) -> ReleaseRecord:
    path = release_path(manifest, version)
    if not path.exists():
        raise WorkbenchError(
            f"there is no release {version} ({path} does not exist).",
            fix="list releases with `workbench releases`.",
        )
    return read_record(path, ReleaseRecord, what="release manifest")


def save_release(manifest: Manifest, record: ReleaseRecord) -> Path:
    path = release_path(manifest, record.version)
    write_record(
        path,
        record,
        header=f"Release {record.version} of {manifest.name}, written by workbench.",
        within=manifest.root,
        what=f"the manifest of release {record.version}",
    )
    return path


def latest_release(manifest: Manifest) -> tuple[SemVer, ReleaseRecord] | None:
    """The highest release and its manifest, or None before the first release."""
    known = releases(manifest)
    if not known:
        return None
    return known[-1], load_release(manifest, known[-1])


def last_version(manifest: Manifest) -> str | None:
    known = releases(manifest)
    return str(known[-1]) if known else None


def changed_since(manifest: Manifest, version: SemVer | str) -> list[str]:
    """Project files changed since a release's tag (committed or not), bookkeeping left out."""
    tag = tag_name(manifest, version)
    changed: set[str] = set()
    for args in (
        ("diff", "--name-only", "--relative", tag, "--", "."),
        ("ls-files", "--others", "--exclude-standard"),
    ):
        result = git.run(manifest.root, *args)
        if result.ok:
            changed.update(line.strip() for line in result.stdout.splitlines() if line.strip())
    return sorted(c for c in changed if not c.startswith(BOOKKEEPING))


def baseline_version(manifest: Manifest, is_current: Callable[[ReleaseRecord], bool]) -> str | None:
    """The release to compare the working state with: the latest, unless the latest was made
    from exactly the current inputs (`is_current`): then the one before it, so that
    releasing never changes what the comparison says about the released state."""
    known = releases(manifest)
    if not known:
        return None
    latest = load_release(manifest, known[-1])
    return latest.previous if is_current(latest) else str(known[-1])


def file_at_release(manifest: Manifest, version: SemVer | str, relative: str) -> str | None:
    """A project file as it was at a release's git tag (None if absent)."""
    return git.show(manifest.root, tag_name(manifest, version), relative)


# --- channels ----------------------------------------------------------------------------------


def channels_path(manifest: Manifest) -> Path:
    return manifest.root / RELEASES / CHANNELS


def load_channels(manifest: Manifest) -> dict[str, Channel]:
    path = channels_path(manifest)
    if not path.exists():
        return {}
    return read_record(path, dict[str, Channel], what="channels file")


def save_channels(manifest: Manifest, channels: dict[str, Channel]) -> Path:
    path = channels_path(manifest)
    write_record(
        path,
        channels,
        header="Channel tags and their history, written by `workbench promote` and "
        "`workbench rollback`.",
        within=manifest.root,
        what="the channel history",
    )
    return path


def deployments_path(manifest: Manifest) -> Path:
    return manifest.root / RELEASES / DEPLOYMENTS


def load_deployments(manifest: Manifest) -> list[Deployment]:
    path = deployments_path(manifest)
    if not path.exists():
        return []
    return read_record(path, list[Deployment], what="deployments file")


def save_deployments(manifest: Manifest, history: list[Deployment]) -> Path:
    """Written atomically and committed on its own, like the channel history beside it."""
    path = deployments_path(manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_record(
        path,
        history,
        header="Deployments of the channels, written by `workbench deploy`: who, when, "
        "which digest, what happened.",
        within=manifest.root,
        what="the deployment history",
    )
    relative = str(path.relative_to(manifest.root))
    if git.is_repository(manifest.root):
        git.git(manifest.root, "add", "--", relative)
        git.git(
            manifest.root, "commit", "--quiet", "-m", f"deploy record: {relative}", "--", relative
        )
    return path
