"""How an item and a step score, and what readiness means (after the ML Test Score).

An item scores 1 when the tool verified it (a warning scores 0.5), 0.5 when a
person ticked it with a note, 0 otherwise; skipped and not-applicable items
leave the step's maximum. Steps have different numbers of items (8 to 17), so
raw sums cannot be compared: a step scores the fraction of its maximum, and
readiness is the lowest step fraction, named with the step that limits it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workbench.checklist.checks import Status
from workbench.checklist.definitions import STEP_TITLES, Item
from workbench.checklist.state import ManualTick, StoredResult, Waiver

PASSING = (Status.PASS, Status.WARN, Status.SKIPPED)


@dataclass(frozen=True)
class ItemView:
    """An item as it stands now: definition, status, score and what backs it."""

    item: Item
    status: Status
    score: float
    counted: bool
    evidence: list[str]
    remark: str = ""
    result: StoredResult | None = None
    tick: ManualTick | None = None
    waiver: Waiver | None = None

    @property
    def shown(self) -> str:
        """What a reader is shown: `waived` for a waived item that does not pass (its
        check's or answer's own status stays in `status`), else the status."""
        if self.waiver is not None and (self.status not in PASSING or self.unverified):
            return "waived"
        return self.status.value

    @property
    def next_move(self) -> str:
        """What to do about an item that does not pass: its fix only when it fails; a stale
        or pending item has not been found wanting, it needs running (or answering)."""
        if self.status is Status.FAIL:
            return self.item.fix
        if self.status is Status.STALE and not self.item.is_auto:
            return f"{self.remark}: answer again (`workbench tick {self.item.id} ...`)"
        if self.status is Status.STALE:
            return f"{self.remark}: run `workbench check --step {self.item.step}`"
        if self.unverified:
            return (
                "not tried here (its evidence says why): try it where it can run, then "
                f"`workbench waive {self.item.id} --reason 'what was tried, where'`"
            )
        if not self.item.is_auto:
            if self.tick is not None:  # ticked, awaiting the navigator's confirmation
                return self.remark
            return f"not answered yet: `workbench tick {self.item.id} yes|no|n/a --note ...`"
        return f"not run yet: run `workbench check --step {self.item.step}`"

    @property
    def unverified(self) -> bool:
        """Skipped because it could not be tried here (not because it does not apply)."""
        return self.status is Status.SKIPPED and bool(self.result and self.result.unverified)

    @property
    def blocks(self) -> bool:
        """A gate item that is not fresh and passing (a gate skipped as not tried here is
        not passing), and not waived."""
        failing = self.status not in PASSING or self.unverified
        return self.item.gate and failing and self.waiver is None


@dataclass(frozen=True)
class StepSummary:
    step: str
    score: float
    max_score: int
    counts: dict[Status, int]
    blockers: list[str]

    @property
    def title(self) -> str:
        return STEP_TITLES[self.step]

    @property
    def fraction(self) -> float:
        """The share of the step's maximum reached (1.0 for a step with nothing counted)."""
        return self.score / self.max_score if self.max_score else 1.0

    @property
    def status(self) -> Status:
        for status in (Status.FAIL, Status.STALE, Status.PENDING, Status.WARN):
            if self.counts.get(status):
                return status
        if self.blockers:  # only a gate skipped as not tried here: a person must waive it
            return Status.PENDING
        return Status.PASS


def summarise(step: str, views: Iterable[ItemView]) -> StepSummary:
    views = list(views)
    counts: dict[Status, int] = {}
    for v in views:
        counts[v.status] = counts.get(v.status, 0) + 1
    return StepSummary(
        step=step,
        score=sum(v.score for v in views),
        max_score=sum(1 for v in views if v.counted),
        counts=counts,
        blockers=[v.item.id for v in views if v.blocks],
    )


@dataclass(frozen=True)
class Readiness:
    """The lowest step fraction, and the step that sets it."""

    fraction: float
    limited_by: str | None

    @property
    def percent(self) -> int:
        return int(self.fraction * 100 + 1e-9)  # floor: 99.9% is not ready

    def __str__(self) -> str:
        if self.limited_by is None:
            return f"{self.percent}%"
        return f"{self.percent}% (limited by {STEP_TITLES.get(self.limited_by, self.limited_by)})"


def readiness(summaries: Iterable[StepSummary]) -> Readiness:
    """Lowest fraction wins; on a tie, the earliest step (what to work on first)."""
    lowest: StepSummary | None = None
    for summary in summaries:
        if lowest is None or summary.fraction < lowest.fraction:
            lowest = summary
    if lowest is None:
        return Readiness(1.0, None)
    return Readiness(lowest.fraction, lowest.step if lowest.fraction < 1.0 else None)
