"""The release history of a project: which versions exist, their manifests, their channels.

A version is a release when its manifest `releases/<version>.yaml` exists. Git
tags with the project's prefix but no manifest (a project's own older tags) are
not ours: they are listed as such, never taken for a release.
"""

from __future__ import annotations

from pathlib import Path

from workbench.kernel import git
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.project.records import Channel, ReleaseRecord, read_record, write_record
from workbench.project.semver import SemVer

RELEASES = "releases"
CHANNELS = "channels.yaml"


def release_path(manifest: Manifest, version: SemVer | str) -> Path:
    return manifest.root / RELEASES / f"{version}.yaml"


def tag_name(manifest: Manifest, version: SemVer | str) -> str:
    return f"{manifest.release.tag_prefix}{version}"


def releases(manifest: Manifest) -> list[SemVer]:
    """Released versions, lowest first: those with a release manifest in releases/."""
    found = set()
    folder = manifest.root / RELEASES
    for path in folder.glob("*.yaml") if folder.is_dir() else []:
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
        path, record, header=f"Release {record.version} of {manifest.name}, written by workbench."
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
    )
    return path
