"""Where the project stands: one immutable value the interface renders.

Computed off the interface thread (by the reload, or by the worker that ticked, waived
or signed off), handed over whole, never written in place: a screen that shows it
cannot see half of one reload and half of the next. `serial` orders standings: a
standing computed before another one is never shown after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from workbench.checklist.checks import Status
from workbench.checklist.scoring import ItemView, Readiness, StepSummary, readiness, summarise
from workbench.checklist.steps import STEPS


def next_action(summaries: Iterable[StepSummary], latest_release: str | None) -> str:
    """What to do next: the first step's blocker, or its unrun checks and questions."""
    for s in summaries:
        if s.blockers:
            return f"{s.title}: resolve {s.blockers[0]} (a gate item)"
        if s.counts.get(Status.PENDING) or s.counts.get(Status.STALE):
            return f"{s.title}: run its checks and answer its questions"
    if latest_release is None:
        return "Every step is ready: tag the release."
    return (
        f"Release {latest_release} is out and every item passes: ask a reviewer to sign it off "
        "(`workbench signoff`); the next change starts at Snapshot."
    )


@dataclass(frozen=True)
class Standing:
    """Every item's view, every step's summary, readiness and the next action."""

    serial: int = 0  # 0: nothing read yet
    views: Mapping[str, ItemView] = field(default_factory=lambda: MappingProxyType({}))
    summaries: tuple[StepSummary, ...] = ()
    readiness: Readiness = field(default_factory=lambda: Readiness(1.0, None))
    next_action: str = ""

    @classmethod
    def of(cls, serial: int, views: Iterable[ItemView], latest_release: str | None) -> Standing:
        by_id = {v.item.id: v for v in views}
        summaries = tuple(
            summarise(step, (v for v in by_id.values() if v.item.step == step)) for step in STEPS
        )
        return cls(
            serial=serial,
            views=MappingProxyType(by_id),
            summaries=summaries,
            readiness=readiness(summaries),
            next_action=next_action(summaries, latest_release),
        )

    @property
    def loaded(self) -> bool:
        return self.serial > 0

    def newer_than(self, other: Standing) -> bool:
        return self.serial > other.serial
