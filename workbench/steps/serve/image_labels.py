"""The image's labels: OCI annotations (revision, created, source, base) and the
workbench's own hashes, which a release checks against what it was built from."""

from __future__ import annotations

import re
from pathlib import Path

from workbench.checklist.state import STATE_NAME
from workbench.kernel import git
from workbench.project.lockfile import LOCK_NAME, SNAPSHOT_NAME
from workbench.project.manifest import Manifest
from workbench.project.releases import BOOKKEEPING

LABEL_PREFIX = "io.workbench"

WORKBENCH_WRITES = (STATE_NAME, SNAPSHOT_NAME, LOCK_NAME, *BOOKKEEPING)  # the release commits


def git_revision(root: Path) -> str:
    """HEAD, `-dirty` when the project's own files have uncommitted changes: the workbench's
    (snapshot, lock, checklist) do not count, the release commits them on top of HEAD."""
    revision = git.output(root, "rev-parse", "HEAD")
    if not revision:
        return "unknown"
    prefix = git.prefix(root)
    status = git.git(root, "status", "--porcelain", "--untracked-files=no", strip=False)
    for line in status.splitlines():
        path = line[3:].strip().strip('"')
        relative = path[len(prefix) :] if prefix and path.startswith(prefix) else path
        if not relative.startswith(WORKBENCH_WRITES):
            return revision + "-dirty"
    return revision


def image_labels(
    manifest: Manifest,
    version: str,
    revision: str,
    created: str,
    base_image: str,
    hashes: dict[str, str],
) -> dict[str, str]:
    """The image's OCI labels and the workbench's own (the hashes a release checks)."""
    return {
        "org.opencontainers.image.title": manifest.name,
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.created": created,
        "org.opencontainers.image.source": source_url(manifest.root),
        "org.opencontainers.image.base.name": base_image,
        f"{LABEL_PREFIX}.project": manifest.name,
        f"{LABEL_PREFIX}.lock-sha256": hashes["lock"],
        f"{LABEL_PREFIX}.request-schema-sha256": hashes["request_schema"],
        f"{LABEL_PREFIX}.response-schema-sha256": hashes["response_schema"],
        f"{LABEL_PREFIX}.model-sha256": hashes["model"],
    }


def source_url(root: Path) -> str:
    url = git.output(root, "remote", "get-url", "origin")
    # Never put credentials embedded in a remote URL into a label.
    return re.sub(r"//[^/@]+@", "//", url) if url else str(root)
