"""Drift: the lock against the last release's (the lock at its git tag) or a given file.

When the latest release was made from exactly this lock, the comparison is with the
release before it: releasing never changes what drift says about the released state."""

from __future__ import annotations

import re
from pathlib import Path

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import file_digest
from workbench.project.lockfile import LOCK_NAME, LockEntry, parse_lock, read_lock
from workbench.project.manifest import Manifest
from workbench.project.releases import (
    baseline_version,
    file_at_release,
    last_version,
    tag_name,
)

SEMVER = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?")


def baseline_lock(
    manifest: Manifest, old: Path | None = None
) -> tuple[str, dict[str, LockEntry] | None]:
    if old is not None and not old.exists() and SEMVER.fullmatch(str(old)):
        text = file_at_release(manifest, str(old), LOCK_NAME)  # a release, by its version
        if text is None:
            raise WorkbenchError(
                f"{old} is neither a lock file nor a release with a lock at its tag.",
                fix="give a lock file's path, or a released version (`workbench releases`).",
            )
        return f"release {old}", parse_lock(text, f"{tag_name(manifest, str(old))}:{LOCK_NAME}")
    if old is not None:
        return str(old), read_lock(old)
    current = file_digest(manifest.root / LOCK_NAME)
    version = baseline_version(manifest, lambda r: r.hashes.lock == current)
    if version is None:
        first = last_version(manifest)
        if first is None:
            return "no release yet", None
        return f"no release before {first}, which was made from this lock", None
    text = file_at_release(manifest, version, LOCK_NAME)
    if text is None:
        return f"release {version} (no lock at its tag)", None
    return f"release {version}", parse_lock(text, f"{tag_name(manifest, version)}:{LOCK_NAME}")
