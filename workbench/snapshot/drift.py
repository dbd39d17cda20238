"""Drift: the lock against the last release's (the lock at its git tag) or a given file."""

from __future__ import annotations

from pathlib import Path

from workbench.manifest import Manifest
from workbench.snapshot.lockfile import LOCK_NAME, LockEntry, parse_lock, read_lock


def last_release(manifest: Manifest) -> str | None:
    from workbench.release.tagging import releases

    known = releases(manifest)
    return str(known[-1]) if known else None


def baseline_lock(
    manifest: Manifest, old: Path | None = None
) -> tuple[str, dict[str, LockEntry] | None]:
    if old is not None:
        return str(old), read_lock(old)
    from workbench.release.tagging import file_at_release, tag_name

    version = last_release(manifest)
    if version is None:
        return "no release yet", None
    text = file_at_release(manifest, version, LOCK_NAME)
    if text is None:
        return f"release {version} (no lock at its tag)", None
    return f"release {version}", parse_lock(text, f"{tag_name(manifest, version)}:{LOCK_NAME}")
