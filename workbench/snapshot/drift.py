"""Drift: the lock against the last release's (releases/<version>.lock) or a given file."""

from __future__ import annotations

from pathlib import Path

from packaging.version import InvalidVersion, Version

from workbench.manifest import Manifest
from workbench.snapshot.lockfile import LockEntry, read_lock


def last_release_lock(manifest: Manifest) -> Path | None:
    """The lock kept with the highest release in releases/ (written by the Tag step)."""
    folder = manifest.root / "releases"
    if not folder.is_dir():
        return None
    versions = []
    for path in folder.glob("*.lock"):
        try:
            versions.append((Version(path.stem), path))
        except InvalidVersion:
            continue
    return max(versions)[1] if versions else None


def baseline_lock(
    manifest: Manifest, old: Path | None = None
) -> tuple[str, dict[str, LockEntry] | None]:
    if old is not None:
        return str(old), read_lock(old)
    last = last_release_lock(manifest)
    if last is None:
        return "no release yet", None
    return f"release {last.stem}", read_lock(last)
