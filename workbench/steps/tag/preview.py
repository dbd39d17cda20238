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
from workbench.checklist.gate import Gatekeeper, GateReport
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.steps.serve.items import SESSION_ITEMS
from workbench.steps.tag.files import commit_problem
from workbench.steps.tag.record import GATED_STEPS
from workbench.steps.tag.regression import held_to, quality_from, regression, waived_since

NOT_KNOWN = "not known until the candidate image is tested"


@dataclass
class Preview:
    blocking: list[str] = field(default_factory=list)  # "id is status: what to do"
    waived: list[str] = field(default_factory=list)  # "id (its check: fail) waived by ...: why"
    unknown: list[str] = field(default_factory=list)  # "id: not known until ... (hint)"

    @property
    def refused(self) -> bool:
        return bool(self.blocking)


def preview(gate: Gatekeeper) -> Preview:
    """What `workbench tag` would say now, from the same gate report it asks for first."""
    report = gate.gate_report(GATED_STEPS)
    out = Preview()
    try:  # refused by `tag` before anything is built; no repository at all is one too
        uncommitted = commit_problem(gate.manifest)
    except WorkbenchError as exc:
        uncommitted = exc
    if uncommitted is not None:
        out.blocking.append(f"git: {uncommitted.paragraph}")
    for view in report.views:
        if view.blocks:
            out.blocking.append(f"{view.item.id} is {view.status.value}: {view.next_move}")
        elif view.shown == "waived" and view.waiver is not None:
            out.waived.append(
                f"{view.item.id} (its {'check' if view.item.is_auto else 'answer'}: "
                f"{view.status.value}) waived by {view.waiver.by}: {view.waiver.reason}"
            )
    gates = [v.item.id for v in report.views if v.item.id in SESSION_ITEMS and v.item.gate]
    out.unknown.append(
        f"{len(gates)} serve gates of the release candidate ({', '.join(gates[:4])}"
        f"{', ...' if len(gates) > 4 else ''}): {NOT_KNOWN}; `workbench tag` builds it and "
        "runs the whole serve test on it, and refuses it if one fails"
    )
    regression_line = _no_regression(gate.manifest, report)
    if regression_line is not None:
        line, refuses = regression_line
        (out.blocking if refuses else out.unknown).append(line)
    return out


def _no_regression(manifest: Manifest, report: GateReport) -> tuple[str, bool] | None:
    """tag.no-regression of the candidate: unknown, with what the last serve test measured;
    a refusal when that measurement is fresh (same inputs) and worse beyond the tolerance,
    unless waived since the previous release."""
    held = held_to(manifest)
    if manifest.evaluation is None or held is None:
        return None
    version, before, record = held  # the best since the last accepted drop
    head = (
        f"tag.no-regression: the candidate's {before.metric} against {version}'s "
        f"{before.value:.4g} (tolerance {manifest.evaluation.tolerance:g})"
    )
    view = report.view("serve.quality")
    result = view.result if view is not None else None
    measured = quality_from(result) if result is not None else None
    if view is None or measured is None or view.status is Status.STALE:
        return f"{head}: {NOT_KNOWN}", False
    why = regression(manifest, before, measured, str(version))
    if why is None:
        return (
            f"{head}: {NOT_KNOWN}; the last serve test measured {measured.value:.4g}, "
            "within the tolerance",
            False,
        )
    waiver = report.waiver("tag.no-regression")
    if waived_since(record, waiver.at if waiver else None):
        return f"{head}: {why} (the last serve test), waived", False
    return (
        f"tag.no-regression would refuse it: the last serve test (of these same inputs) "
        f"measured {why}; improve the model, or waive with a reason "
        '(`workbench waive tag.no-regression --reason "why"`)',
        True,
    )
