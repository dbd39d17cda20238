"""Sign-offs bound to a release: its version, git revision and frozen checklist's hash."""

from __future__ import annotations

from workbench.checklist.frozen import load_frozen
from workbench.checklist.state import Decision, SignOff
from workbench.kernel.clock import now
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.project.releases import last_version, load_release


def bind_signoff(
    manifest: Manifest,
    by: str,
    decision: str,
    note: str | None = None,
    *,
    release: str | None = None,
    despite: str | None = None,
) -> SignOff:
    """A reviewer's decision on a release (default: the latest), bound to its version, git
    revision and the hash of its frozen checklist. Approving a release whose frozen
    checklist has a blocking gate or a stale item needs a written `despite`."""
    if decision not in ("approve", "request-changes"):
        raise WorkbenchError(
            f"`{decision}` is not a decision.", fix="use approve or request-changes."
        )
    decided: Decision = "approve" if decision == "approve" else "request-changes"
    version = release or last_version(manifest)
    if version is None:
        raise WorkbenchError(
            "there is no release to sign off yet: a sign-off approves a release.",
            fix="tag one first (`workbench tag`), then sign it off.",
        )
    record = load_release(manifest, version)
    frozen, digest = load_frozen(manifest, version)
    problems = frozen.approval_problems()
    reason = (despite or "").strip() or None
    if decision == "approve" and problems and reason is None:
        raise WorkbenchError(
            f"cannot approve release {version}: " + "; ".join(problems) + ".",
            fix="fix them and release again, or approve anyway with "
            '`--despite "why it is acceptable"` (recorded with the sign-off).',
        )
    return SignOff(
        by=by,
        at=now(),
        decision=decided,
        readiness=frozen.readiness.fraction,
        note=(note or "").strip() or None,
        release=version,
        revision=record.git.revision,
        checklist_sha256=digest,
        despite=reason,
    )
