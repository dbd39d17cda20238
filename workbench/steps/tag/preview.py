"""What `workbench tag --dry-run` can say before the release candidate exists.

A real tag builds the release candidate image and runs the whole serve test on it,
then compares its quality with the previous release's: those verdicts are not known
before that, and a preview that said "all clear" about them would be a promise it
cannot keep (a worse model was "cleared", then refused after a 32 s build). So the
preview says three things apart: what blocks now (with a fix only for what fails),
what is waived (and goes into the release manifest), and what it cannot know yet,
with what the last serve test measured where that is a hint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.checklist.checks import Status
from workbench.checklist.engine import Checklist
from workbench.project.releases import latest_release
from workbench.steps.serve.session import SESSION_ITEMS
from workbench.steps.tag.regression import quality_from, regression, waived_since
from workbench.steps.tag.release import GATED_STEPS

NOT_KNOWN = "not known until the candidate image is tested"


@dataclass
class Preview:
    blocking: list[str] = field(default_factory=list)  # "id is status: what to do"
    waived: list[str] = field(default_factory=list)  # "id (its check: fail) waived by ...: why"
    unknown: list[str] = field(default_factory=list)  # "id: not known until ... (hint)"

    @property
    def refused(self) -> bool:
        return bool(self.blocking)


def preview(checklist: Checklist) -> Preview:
    checklist.refresh()
    out = Preview()
    for view in checklist.views():
        if view.item.step not in GATED_STEPS:
            continue
        if view.blocks:
            out.blocking.append(f"{view.item.id} is {view.status.value}: {view.next_move}")
        elif view.shown == "waived" and view.waiver is not None:
            out.waived.append(
                f"{view.item.id} (its {'check' if view.item.is_auto else 'answer'}: "
                f"{view.status.value}) waived by {view.waiver.by}: {view.waiver.reason}"
            )
    gates = [i.id for i in checklist.items if i.id in SESSION_ITEMS and i.gate]
    out.unknown.append(
        f"{len(gates)} serve gates of the release candidate ({', '.join(gates[:4])}"
        f"{', ...' if len(gates) > 4 else ''}): {NOT_KNOWN}; `workbench tag` builds it and "
        "runs the whole serve test on it, and refuses it if one fails"
    )
    regression_line = _no_regression(checklist)
    if regression_line is not None:
        line, refuses = regression_line
        (out.blocking if refuses else out.unknown).append(line)
    return out


def _no_regression(checklist: Checklist) -> tuple[str, bool] | None:
    """tag.no-regression of the candidate: unknown, with what the last serve test measured;
    a refusal when that measurement is fresh (same inputs) and worse beyond the tolerance,
    unless waived since the previous release."""
    manifest = checklist.manifest
    latest = latest_release(manifest)
    if manifest.evaluation is None or latest is None or latest[1].quality is None:
        return None
    version, record = latest
    before = record.quality
    assert before is not None
    head = (
        f"tag.no-regression: the candidate's {before.metric} against {version}'s "
        f"{before.value:.4g} (tolerance {manifest.evaluation.tolerance:g})"
    )
    view = checklist.view("serve.quality")
    measured = quality_from(view.result)
    if measured is None or view.status is Status.STALE:
        return f"{head}: {NOT_KNOWN}", False
    why = regression(manifest, before, measured, str(version))
    if why is None:
        return (
            f"{head}: {NOT_KNOWN}; the last serve test measured {measured.value:.4g}, "
            "within the tolerance",
            False,
        )
    waiver = checklist.state.waivers.get("tag.no-regression")
    if waived_since(record, waiver.at if waiver else None):
        return f"{head}: {why} (the last serve test), waived", False
    return (
        f"tag.no-regression would refuse it: the last serve test (of these same inputs) "
        f"measured {why}; improve the model, or waive with a reason "
        '(`workbench waive tag.no-regression --reason "why"`)',
        True,
    )
