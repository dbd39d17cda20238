"""The gate port: "may I release?" asked of the checklist, answered by a frozen report.

A step that performs an irreversible action (Tag) does not drive the checklist engine
through its drawers (views, summaries, waivers, its state): it asks a `Gatekeeper` for a
`GateReport` of the steps that gate it, records the results it measured itself (the
release candidate's serve test) and freezes the report into the release. The engine
implements the protocol; the composition root (`workbench.steps`) hands it over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from workbench import __version__
from workbench.checklist.checks import CheckResult
from workbench.checklist.definitions import STEPS
from workbench.checklist.frozen import (
    FrozenChecklist,
    ItemRecord,
    ReadinessRecord,
    ReleaseFacts,
    StepRecord,
)
from workbench.checklist.scoring import ItemView, Readiness, StepSummary, readiness, summarise
from workbench.checklist.state import Waiver
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest


@dataclass(frozen=True)
class GateReport:
    """The checklist of `steps` as it stood when asked: immutable, safe to keep and pass."""

    project: str
    steps: tuple[str, ...]
    views: tuple[ItemView, ...]  # the items of `steps`, in checklist order
    summaries: tuple[StepSummary, ...]  # one per step of `steps`
    readiness: Readiness  # the lowest of those steps' fractions
    waivers: Mapping[str, Waiver]  # every waiver of the project (they go into the release)
    driver: str
    navigator: str | None = None

    @classmethod
    def of(
        cls,
        project: str,
        steps: tuple[str, ...],
        views: list[ItemView],
        waivers: Mapping[str, Waiver],
        people: tuple[str, str | None],
    ) -> GateReport:
        views = [v for v in views if v.item.step in steps]
        summaries = tuple(
            summarise(step, (v for v in views if v.item.step == step))
            for step in STEPS
            if step in steps
        )
        return cls(
            project=project,
            steps=steps,
            views=tuple(views),
            summaries=summaries,
            readiness=readiness(summaries),
            waivers=MappingProxyType(dict(waivers)),
            driver=people[0],
            navigator=people[1],
        )

    @property
    def blockers(self) -> tuple[ItemView, ...]:
        """Gate items that are not fresh and passing, and not waived."""
        return tuple(v for v in self.views if v.blocks)

    def view(self, item_id: str) -> ItemView | None:
        return next((v for v in self.views if v.item.id == item_id), None)

    def waiver(self, item_id: str) -> Waiver | None:
        return self.waivers.get(item_id)

    def require(self, action: str) -> GateReport:
        """This report, unless a gate item blocks `action`: then the refusal, naming them."""
        if self.blockers:
            listed = "; ".join(f"{v.item.id} is {v.status.value}" for v in self.blockers)
            raise WorkbenchError(
                f"cannot {action}: gate items are not passing: {listed}.",
                fix="run `workbench check`, fix what fails, or waive an item with "
                "`workbench waive ITEM --reason '...'`.",
            )
        return self

    @property
    def by(self) -> str:
        return self.driver + (f" with {self.navigator}" if self.navigator else "")

    def freeze(self, release: ReleaseFacts) -> FrozenChecklist:
        """The record committed with the release: this report, read the same forever."""
        return FrozenChecklist(
            project=self.project,
            release=release,
            generated_at=release.created,
            workbench=__version__,
            scope=list(self.steps),
            readiness=ReadinessRecord.of(self.readiness),
            steps=[StepRecord.of(s) for s in self.summaries],
            items=[ItemRecord.of(v) for v in self.views],
            waivers=dict(self.waivers),
        )


class Gatekeeper(Protocol):
    """What a step that releases may ask of the checklist, and nothing more."""

    @property
    def manifest(self) -> Manifest: ...

    def gate_report(self, steps: tuple[str, ...]) -> GateReport:
        """The report of `steps` on the checklist as it is on disk now (re-read, inputs
        measured again)."""
        ...

    def record(self, results: dict[str, CheckResult]) -> list[ItemView]:
        """Store results measured outside the checklist's own runs (the release candidate's
        serve test), each stamped with its item's inputs as they are now."""
        ...

    def require(self, steps: tuple[str, ...], action: str) -> GateReport:
        """The report of `steps` as the checklist holds it now (after `record`), or the
        refusal of `action` when a gate item of theirs blocks."""
        ...
