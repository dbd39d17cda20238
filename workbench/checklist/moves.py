"""What to do next, what limits readiness, and what a finished release is: one decision
that the CLI (`workbench check`), the demo and the TUI (home, and Space, which does it)
all show, so that "next" never contradicts what limits readiness.

The order: the gates of steps 1-3 (take the snapshot, run a step's checks, answer its
gate question); then the release (tag what passed, push it, promote it; a tested change
the latest release does not hold is released again); then the gates of Tag and Push; then
what holds the step that limits readiness below its maximum (checks not run, questions
not answered, a failing item); then nothing. Answers by hand and warnings count half (the
ML Test Score), so readiness can stay under 100% with nothing left to do: the limit then
says so, and "next" is empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workbench.checklist.checks import Status
from workbench.checklist.scoring import ItemView, StepSummary, readiness
from workbench.checklist.steps import STEP_TITLES
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest

GATED = ("snapshot", "schema", "serve")
LATER = ("tag", "push")
NOTHING_LEFT = "nothing left"
UNRUN = (Status.PENDING, Status.STALE)


@dataclass(frozen=True)
class ReleaseFacts:
    """The latest release as the next move needs it."""

    version: str
    pushed: bool
    channels: tuple[str, ...] = ()  # channels that point at this release
    others: tuple[tuple[str, str], ...] = ()  # (channel, version) for channels on another one
    changed: tuple[str, ...] = ()  # gate items tested on inputs the release does not hold
    refused: str = ""  # why `workbench tag` would refuse that change already, if it would


@dataclass(frozen=True)
class Move:
    """The next thing to do: the step, the action Space starts there, what it says, and the
    command that does it from a shell."""

    step: str  # "" when nothing is left to do
    action: str  # take | run | tick | tag | push | promote | show | none
    says: str
    item: str | None = None
    command: str = ""

    @property
    def line(self) -> str:
        """`says`, with the command when there is one (for the CLI)."""
        return f"{self.says} (`{self.command}`)" if self.command else self.says


NONE = Move("", "none", NOTHING_LEFT)


def release_facts(manifest: Manifest, views: Mapping[str, ItemView]) -> ReleaseFacts | None:
    """The latest release, where its channels are, and which gate items of steps 1-3 passed
    on inputs other than those frozen when it was tagged (a tested, unreleased change)."""
    from workbench.project.releases import latest_release, load_channels, read_frozen_checklist

    try:
        latest = latest_release(manifest)
    except WorkbenchError:
        return None  # a broken release file: the release line and the checks say so
    if latest is None:
        return None
    version, record = str(latest[0]), latest[1]
    try:
        channels = load_channels(manifest)
    except WorkbenchError:
        channels = {}
    on = tuple(sorted(c for c, e in channels.items() if e.current == version))
    others = tuple(
        sorted((c, e.current) for c, e in channels.items() if e.current and e.current != version)
    )
    try:
        frozen = {i["id"]: i for i in read_frozen_checklist(manifest, version)[0]["items"]}
    except (WorkbenchError, KeyError, TypeError):
        frozen = {}
    changed = tuple(
        v.item.id
        for v in views.values()
        if v.item.step in GATED
        and v.item.is_auto
        and v.item.gate
        and v.status is Status.PASS
        and v.result is not None
        and v.item.id in frozen
        and frozen[v.item.id].get("fingerprint") not in (None, v.result.fingerprint)
    )
    return ReleaseFacts(version, record.push.pushed, on, others, changed)


def questions_left(views: Mapping[str, ItemView]) -> list[str]:
    """Manual items no person has answered yet (waived ones left out)."""
    return [
        v.item.id
        for v in views.values()
        if not v.item.is_auto and v.status in UNRUN and v.waiver is None
    ]


def _gate_move(step: str, first: ItemView, release: ReleaseFacts | None) -> Move:
    title, item_id = STEP_TITLES[step], first.item.id
    if not first.item.is_auto:
        return Move(
            step, "tick", f"{title}: answer {item_id} (a gate question)", item_id,
            f"workbench tick {item_id} yes|no|n/a -m ...",
        )  # fmt: skip
    if step == "snapshot":
        return Move(step, "take", "Snapshot: take the snapshot", command="workbench snapshot")
    again = f"re-test the change since {release.version}" if release else "run its checks"
    command = "workbench serve --test" if step == "serve" else f"workbench check --step {step}"
    return Move(step, "run", f"{title}: {again} ({item_id} is {first.shown})", item_id, command)


def _release_move(release: ReleaseFacts | None) -> Move | None:
    if release is None:
        return Move("tag", "tag", "Tag: release what passed the gates", command="workbench tag")
    version = release.version
    if release.changed and release.refused:
        return Move(
            "tag", "show", f"Tag: {release.refused}", "tag.no-regression",
            'workbench waive tag.no-regression --reason "why"',
        )  # fmt: skip
    if release.changed:
        return Move(
            "tag", "tag",
            f"Tag: release the tested change since {version} "
            f"({', '.join(release.changed[:3])}{' ...' if len(release.changed) > 3 else ''} "
            "tested on other inputs)",
            command="workbench tag",
        )  # fmt: skip
    if not release.pushed:
        return Move("push", "push", f"Push: push {version}", command=f"workbench push {version}")
    if not release.channels:
        return Move(
            "push", "promote", f"Push: promote {version} to a channel",
            command=f"workbench promote {version} --channel production",
        )  # fmt: skip
    return None


def _left_in(summary: StepSummary, views: Sequence[ItemView]) -> Move | None:
    """What can still be done in a step: checks to run, questions to answer, a failure."""
    title, step = summary.title, summary.step
    mine = [v for v in views if v.item.step == step and v.counted and v.waiver is None]
    unrun = [v for v in mine if v.item.is_auto and v.status in (Status.PENDING, Status.STALE)]
    if unrun:
        return Move(
            step, "run", f"{title}: run its checks ({unrun[0].item.id} is {unrun[0].shown})",
            unrun[0].item.id, f"workbench check --step {step}",
        )  # fmt: skip
    asked = [v.item.id for v in mine if not v.item.is_auto and v.status is Status.PENDING]
    if asked:
        return Move(
            step, "tick", f"{title}: answer {', '.join(asked)}", asked[0],
            f"workbench tick {asked[0]} yes|no|n/a -m ...",
        )  # fmt: skip
    failing = [v for v in mine if v.status is Status.FAIL]
    if failing:
        first = failing[0]
        return Move(
            step, "show", f"{title}: {first.item.id} fails: {first.next_move}", first.item.id
        )
    return None


def decide(
    views: Mapping[str, ItemView],
    summaries: Sequence[StepSummary],
    release: ReleaseFacts | None,
) -> Move:
    """The next move (see the module's docstring for the order)."""
    by_step = {s.step: s for s in summaries}
    for step in GATED:
        summary = by_step.get(step)
        if summary is not None and summary.blockers:
            return _gate_move(step, views[summary.blockers[0]], release)
    move = _release_move(release)
    if move is not None:
        return move
    for step in LATER:
        summary = by_step.get(step)
        if summary is not None and summary.blockers:
            return _gate_move(step, views[summary.blockers[0]], None)
    limited_by = readiness(summaries).limited_by
    ordered = sorted(summaries, key=lambda s: s.step != limited_by)  # the limiting step first
    for summary in ordered:
        found = _left_in(summary, list(views.values()))
        if found is not None:
            return found
    return NONE


def limit_reason(summaries: Sequence[StepSummary], views: Mapping[str, ItemView]) -> str:
    """Why the lowest step is below its maximum, counted: e.g. `Push: 3 questions not
    answered`; empty at 100%."""
    limited_by = readiness(summaries).limited_by
    if limited_by is None:
        return ""
    mine = [v for v in views.values() if v.item.step == limited_by and v.counted]
    auto = [v for v in mine if v.item.is_auto]
    asked = [v for v in mine if not v.item.is_auto]
    counts = (
        ("check", "checks", "not run or stale", sum(v.status in UNRUN for v in auto)),
        ("question", "questions", "not answered", sum(v.status in UNRUN for v in asked)),
        ("item", "items", "failing", sum(v.status is Status.FAIL for v in mine)),
        ("warning", "warnings", "(count half)", sum(v.status is Status.WARN for v in mine)),
        ("answer by a person", "answers by a person", "(count half)",
         sum(v.status is Status.PASS and v.score == 0.5 for v in asked)),
        ("answer without a note", "answers without a note", "(count 0)",
         sum(v.status is Status.PASS and v.score == 0 for v in asked)),
    )  # fmt: skip
    said = ", ".join(f"{n} {one if n == 1 else many} {how}" for one, many, how, n in counts if n)
    return f"{STEP_TITLES[limited_by]}: {said}" if said else STEP_TITLES[limited_by]


def headline(release: ReleaseFacts | None, views: Mapping[str, ItemView]) -> str:
    """What a finished release is, said plainly: `1.0.0 pushed and on production; 2
    questions for a person left: a, b`. Empty while the release is not finished: not
    pushed, on no channel, or a change since it (tested or not) on its way."""
    if release is None or not release.pushed or not release.channels or release.changed:
        return ""
    if any(v.blocks for v in views.values() if v.item.step in GATED):
        return ""
    asked = questions_left(views)
    # Checks of Tag and Push not passing now (a promote makes the channel's items stale):
    # never "nothing left" above a "Next" that runs them.
    unrun = [
        v.item.id
        for v in views.values()
        if v.item.is_auto and v.item.step not in GATED and v.counted and v.waiver is None
        and v.status in (Status.PENDING, Status.STALE, Status.FAIL)
    ]  # fmt: skip
    said = [
        f"{len(unrun)} check{'s' if len(unrun) != 1 else ''} to run again: " + ", ".join(unrun)
        if unrun
        else "",
        f"{len(asked)} question{'s' if len(asked) != 1 else ''} for a person left: "
        + ", ".join(asked)
        if asked
        else "",
    ]
    left = "; ".join(s for s in said if s) or NOTHING_LEFT
    return f"{release.version} pushed and on {', '.join(release.channels)}; {left}"
