"""No silent regression between releases: the release candidate's quality against the
previous release's, within `evaluation.tolerance`."""

from __future__ import annotations

from workbench.checklist.checks import HasDetails
from workbench.project.manifest import Manifest
from workbench.project.records import QualityInfo, ReleaseRecord
from workbench.steps.serve.report import quality_figures


def quality_from(result: HasDetails | None) -> QualityInfo | None:
    """What serve.quality measured, as the release records it (None when it measured
    nothing)."""
    measured = quality_figures(result)
    if measured is None:
        return None
    return QualityInfo(
        metric=measured.metric,
        value=measured.value,
        n=measured.n,
        data=measured.data,
        data_sha256=measured.data_sha256,
        bound=measured.bound,
    )


def regression(
    manifest: Manifest, before: QualityInfo, now: QualityInfo, previous: str
) -> str | None:
    """Why `now` is worse than `before` beyond the tolerance, or cannot be shown no worse
    (another metric: nothing compared is never "within the tolerance"), or None."""
    evaluation = manifest.evaluation
    if evaluation is None:
        return None
    if before.metric != now.metric:
        return (
            f"{previous} was measured by {before.metric} ({before.value:.4g}) and this one by "
            f"{now.metric} ({now.value:.4g}): the two cannot be compared, so a regression "
            "cannot be ruled out"
        )
    lower = evaluation.lower_is_better
    drop = (now.value - before.value) if lower else (before.value - now.value)
    if drop <= evaluation.tolerance + 1e-12:
        return None
    other = "" if before.data_sha256 == now.data_sha256 else " (measured on other held-out data)"
    return (
        f"{now.metric} {now.value:.4g} against {before.value:.4g} for {previous}: "
        f"{'higher' if lower else 'lower'} by {drop:.4g}, over the tolerance "
        f"{evaluation.tolerance:g}{other}"
    )


def waived_since(record: ReleaseRecord | None, waiver_at: str | None) -> bool:
    """A waiver counts for the release after `record` only if written after it: a reason
    given for one regression never lets a later one through."""
    return waiver_at is not None and (record is None or waiver_at > record.created)
