"""No silent regression between releases: the release candidate's quality against the
previous release's, within `evaluation.tolerance`."""

from __future__ import annotations

from collections.abc import Mapping

from workbench.checklist.checks import HasDetails, Status
from workbench.checklist.scoring import ItemView
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.project.records import QualityInfo, ReleaseRecord
from workbench.project.releases import load_release, releases
from workbench.project.semver import SemVer
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
        data_rows_sha256=measured.data_rows_sha256,
    )


def held_to(
    manifest: Manifest, upto: SemVer | None = None
) -> tuple[str, QualityInfo, ReleaseRecord] | None:
    """What a release is held to: the best score (by the metric, on the data, of the newest
    release before `upto`, or of all) among the releases since the last one that accepted a
    drop (its tag.no-regression waived after the release before it): small drops within
    the tolerance no longer add up unseen (0.958, 0.942, 0.933 with a tolerance of 0.02:
    a new user's trial). With the newest release's record, whose time a waiver must follow."""
    try:
        known = [v for v in releases(manifest) if upto is None or v < upto]
        records = [(str(v), load_release(manifest, v)) for v in known]
    except WorkbenchError:
        return None
    if not records or records[-1][1].quality is None:
        return None
    newest = records[-1][1]
    best_version, best = records[-1][0], newest.quality
    assert best is not None
    lower = manifest.evaluation is not None and manifest.evaluation.lower_is_better
    for index in range(len(records) - 1, -1, -1):
        version, record = records[index]
        quality = record.quality
        comparable = quality is not None and quality.metric == best.metric
        if comparable and quality is not None and same_data(quality, best):
            better = quality.value < best.value if lower else quality.value > best.value
            best_version, best = (version, quality) if better else (best_version, best)
        earlier = records[index - 1][1] if index > 0 else None
        waiver = record.waivers.get("tag.no-regression")
        if waiver is not None and (earlier is None or waiver.at > earlier.created):
            break  # this release accepted a drop: what came before holds it no more
    return best_version, best, newest


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
    if not same_data(before, now):
        # Easier rows score better: a worse model on other data passed as "within the
        # tolerance" (a new user's trial: rmse 14.8 on new rows, 37.1 on the old ones).
        return (
            f"{previous} was scored on other held-out data ({before.data}, "
            f"{_short(before)}, {before.n} records) than this one ({now.data}, {_short(now)}, "
            f"{now.n} records): {now.metric} {now.value:.4g} against {before.value:.4g} "
            "compares the data as much as the models, so a regression cannot be ruled out"
        )
    lower = evaluation.lower_is_better
    drop = (now.value - before.value) if lower else (before.value - now.value)
    if drop <= evaluation.tolerance + 1e-12:
        return None
    return (
        f"{now.metric} {now.value:.4g} against {before.value:.4g} for {previous}: "
        f"{'higher' if lower else 'lower'} by {drop:.4g}, over the tolerance "
        f"{evaluation.tolerance:g}"
    )


def same_data(before: QualityInfo, now: QualityInfo) -> bool:
    """Both scored on the same held-out data: the same records and true answers read (the
    file saved again with other quoting, line endings, column or row order is the same; the
    same file read with another target or request schema is not); for a release recorded
    before rows were hashed, the same file. One recorded before either compares as the
    same."""
    if before.data_rows_sha256 and now.data_rows_sha256:
        return before.data_rows_sha256 == now.data_rows_sha256
    return not before.data_sha256 or before.data_sha256 == now.data_sha256


def _short(quality: QualityInfo) -> str:
    rows = quality.data_rows_sha256.removeprefix("sha256:")[:12]
    return f"file {quality.data_sha256.removeprefix('sha256:')[:12]}" + (
        f", rows {rows}" if rows else ""
    )


def waived_since(record: ReleaseRecord | None, waiver_at: str | None) -> bool:
    """A waiver counts for the release after `record` only if written after it: a reason
    given for one regression never lets a later one through."""
    return waiver_at is not None and (record is None or waiver_at > record.created)


def refusal(manifest: Manifest, views: Mapping[str, ItemView]) -> str | None:
    """Why `workbench tag` would refuse the tested change for a regression already: the last
    serve test (fresh) scored worse than the releases hold it to beyond the tolerance, or on
    other data or by another metric, and no waiver was written since the latest release.
    None when it would not, or cannot be known."""
    held = held_to(manifest)
    if manifest.evaluation is None or held is None:
        return None
    version, before, record = held
    view = views.get("serve.quality")
    if view is None or view.status is Status.STALE or view.result is None:
        return None
    measured = quality_from(view.result)
    if measured is None:
        return None
    why = regression(manifest, before, measured, version)
    waiver = views["tag.no-regression"].waiver if "tag.no-regression" in views else None
    if why is None or waived_since(record, waiver.at if waiver else None):
        return None
    return (
        f"tag.no-regression would refuse the tested change: {why}; improve the model, or "
        "waive it with a reason"
    )
