"""Drift: the lock against the last release's (the lock at its git tag) or a given file."""

from __future__ import annotations

from pathlib import Path

from workbench.project.lockfile import LOCK_NAME, LockEntry, parse_lock, read_lock
from workbench.project.manifest import Manifest
from workbench.project.releases import file_at_release, last_version, tag_name


def baseline_lock(
    manifest: Manifest, old: Path | None = None
) -> tuple[str, dict[str, LockEntry] | None]:
    if old is not None:
        return str(old), read_lock(old)
    version = last_version(manifest)
    if version is None:
        return "no release yet", None
    text = file_at_release(manifest, version, LOCK_NAME)
    if text is None:
        return f"release {version} (no lock at its tag)", None
    return f"release {version}", parse_lock(text, f"{tag_name(manifest, version)}:{LOCK_NAME}")
