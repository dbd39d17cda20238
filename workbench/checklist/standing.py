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

from workbench.checklist.moves import NONE, Move, ReleaseFacts, decide, headline, limit_reason
from workbench.checklist.scoring import ItemView, Readiness, StepSummary, readiness, summarise
from workbench.checklist.steps import STEPS


@dataclass(frozen=True)
class Standing:
    """Every item's view, every step's summary, readiness, what limits it, the latest
    release, the next move (`workbench.checklist.moves`) and, once a release is pushed and
    on a channel, the line that says so."""

    serial: int = 0  # 0: nothing read yet
    views: Mapping[str, ItemView] = field(default_factory=lambda: MappingProxyType({}))
    summaries: tuple[StepSummary, ...] = ()
    readiness: Readiness = field(default_factory=lambda: Readiness(1.0, None))
    move: Move = NONE
    limits: str = ""  # why the lowest step is below its maximum
    release: ReleaseFacts | None = None
    headline: str = ""  # "1.0.0 pushed and on production; ..." (empty until then)

    @classmethod
    def of(cls, serial: int, views: Iterable[ItemView], release: ReleaseFacts | None) -> Standing:
        by_id = {v.item.id: v for v in views}
        summaries = tuple(
            summarise(step, (v for v in by_id.values() if v.item.step == step)) for step in STEPS
        )
        move = decide(by_id, summaries, release)
        return cls(
            serial=serial,
            views=MappingProxyType(by_id),
            summaries=summaries,
            readiness=readiness(summaries),
            move=move,
            limits=limit_reason(summaries, by_id),
            release=release,
            headline=headline(release, by_id),
        )

    @property
    def next_action(self) -> str:
        return self.move.says

    @property
    def readiness_said(self) -> str:
        """`50% (limited by Push: 3 questions not answered)`, or `100%`."""
        return (
            f"{self.readiness.percent}% (limited by {self.limits})"
            if self.limits
            else (str(self.readiness))
        )

    @property
    def loaded(self) -> bool:
        return self.serial > 0

    def newer_than(self, other: Standing) -> bool:
        return self.serial > other.serial
