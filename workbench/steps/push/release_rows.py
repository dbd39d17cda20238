"""The rows of the release panel and `workbench releases`: every release, newest first, with
what its manifest records: tagged, pushed, signed, attested (and how: the referrers API or
the fallback tags), the advisory verdict it was tagged under, digest, channels, quality."""

from __future__ import annotations

from typing import Any

from workbench.kernel import git
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.project.records import AdvisoriesAtRelease, ReleaseRecord
from workbench.project.releases import load_channels, load_release, releases
from workbench.steps.tag.advisories import STALE_DAYS


def advisories_verdict(advisories: AdvisoriesAtRelease | None) -> str | None:
    """`tag.vulnerabilities` as the release was tagged: how many advisories were read and
    how many named a locked version (only under a waiver), or that none were configured;
    None for a release tagged before the verdict was recorded."""
    if advisories is None:
        return None
    if advisories.source is None:
        return "none configured"
    if advisories.unread is not None:
        return "not read, waived"
    count = advisories.advisories
    if advisories.named:
        return f"{len(advisories.named)} of {count} apply, waived"
    age = advisories.age_days
    old = " (old)" if age is None or age > STALE_DAYS else ""
    return f"none of {count}{old}"


def release_table(manifest: Manifest) -> list[dict[str, Any]]:
    channels = load_channels(manifest)
    rows = []
    tags = set(git.tags(manifest.root, f"{manifest.release.tag_prefix}*"))
    for version in reversed(releases(manifest)):
        try:
            record: ReleaseRecord | None = load_release(manifest, str(version))
        except WorkbenchError:
            record = None
        rows.append(
            {
                "version": str(version),
                "tagged": f"{manifest.release.tag_prefix}{version}" in tags,
                "pushed": bool(record and record.push.pushed),
                "signed": bool(record and record.push.signed),
                "attested": bool(record and record.push.attestations),
                "attached_by": record.push.attached_by if record else None,
                "advisories": advisories_verdict(record.advisories) if record else None,
                "digest": record.push.digest if record else None,
                "channels": sorted(c for c, e in channels.items() if e.current == str(version)),
                "created": record.created if record else None,
                "by": record.released_by.driver if record else None,
                "quality": (
                    f"{record.quality.metric} {record.quality.value:.4g}"
                    if record and record.quality
                    else None
                ),
            }
        )
    return rows
