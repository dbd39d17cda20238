"""The checklist as it stood when a release was tagged: one typed record, read and written.

`releases/<version>.checklist.json` is hashed byte for byte (the release manifest and
every sign-off name its sha256), so it is written once, from this declaration, and read
back through it. The sign-off rule lives here, on the record, and nowhere else: approving
a release whose frozen checklist has a blocking gate item or a stale item needs a written
reason.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from workbench.checklist.scoring import PASSING, ItemView, Readiness, StepSummary
from workbench.checklist.state import ManualTick, Waiver
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.project.releases import read_frozen_checklist
from workbench.project.semver import SemVer


class _Frozen(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Fields without a default are always written; optional ones only when set."""


class ItemRecord(_Frozen, kw_only=True):
    id: str
    step: str
    kind: str
    gate: bool
    summary: str
    question: str
    status: str
    shown: str | None = None  # absent in the frozen checklists of older releases
    score: float
    counted: bool
    evidence: list[str]
    remark: str
    blocks: bool
    checked_at: str | None = None
    fingerprint: str | None = None
    current_fingerprint: str | None = None  # working-state reports only, never frozen
    tick: ManualTick | None = None
    waiver: Waiver | None = None

    @classmethod
    def of(cls, view: ItemView, fingerprint: str | None = None) -> ItemRecord:
        item = view.item
        return cls(  # str(): definitions read from YAML hold str subclasses msgspec refuses
            id=str(item.id),
            step=str(item.step),
            kind=str(item.kind),
            gate=bool(item.gate),
            summary=str(item.summary),
            question=str(item.question),
            status=view.status.value,
            shown=view.shown,
            score=view.score,
            counted=view.counted,
            evidence=[str(e) for e in view.evidence],
            remark=str(view.remark),
            blocks=view.blocks,
            checked_at=view.result.checked_at if view.result else None,
            fingerprint=view.result.fingerprint if view.result else None,
            current_fingerprint=fingerprint,
            tick=view.tick,
            waiver=view.waiver,
        )

    @property
    def seen_as(self) -> str:
        """`waived` for a waived item that does not pass, else its status (worked out for
        records of older releases, which have no `shown`)."""
        if self.shown is not None:
            return self.shown
        passing = {s.value for s in PASSING}
        return "waived" if self.waiver is not None and self.status not in passing else self.status


class ReadinessRecord(_Frozen, kw_only=True):
    percent: int
    fraction: float
    limited_by: str | None
    text: str

    @classmethod
    def of(cls, readiness: Readiness) -> ReadinessRecord:
        return cls(
            percent=readiness.percent,
            fraction=round(readiness.fraction, 4),
            limited_by=readiness.limited_by,
            text=str(readiness),
        )


class StepRecord(_Frozen, kw_only=True):
    step: str
    title: str
    status: str
    score: float
    max_score: int
    percent: int
    counts: dict[str, int]
    blockers: list[str]

    @classmethod
    def of(cls, s: StepSummary) -> StepRecord:
        return cls(
            step=s.step,
            title=s.title,
            status=s.status.value,
            score=s.score,
            max_score=s.max_score,
            percent=int(s.fraction * 100 + 1e-9),
            counts={k.value: v for k, v in s.counts.items()},
            blockers=list(s.blockers),
        )


class ReleaseFacts(_Frozen, kw_only=True):
    """What the frozen checklist says of the release it belongs to."""

    version: str
    created: str
    by: str
    revision: str
    image: str


class FrozenChecklist(_Frozen, kw_only=True):
    project: str
    release: ReleaseFacts
    generated_at: str
    workbench: str
    scope: list[str]
    readiness: ReadinessRecord
    steps: list[StepRecord]
    items: list[ItemRecord]
    waivers: dict[str, Waiver]

    def objections(self) -> list[str]:
        """The items that make an approval need a written reason, in checklist order: a gate
        item that blocked, or an item that was stale, when the release was tagged."""
        return [i.id for i in self.items if i.blocks or i.status == "stale"]

    def approval_problems(self) -> list[str]:
        """Why approving this release needs a reason (`despite`); empty when it needs none."""
        blocking = [i.id for i in self.items if i.blocks]
        stale = [i.id for i in self.items if i.status == "stale"]
        problems = [f"gate items block: {', '.join(blocking)}"] if blocking else []
        return problems + ([f"items are stale: {', '.join(stale)}"] if stale else [])

    def text(self) -> str:
        """The bytes written (and hashed): indented JSON, keys in declaration order."""
        return json.dumps(msgspec.to_builtins(self), indent=1, ensure_ascii=False) + "\n"


def load_frozen(manifest: Manifest, version: SemVer | str) -> tuple[FrozenChecklist, str]:
    """The frozen checklist of release `version`, typed, and the sha256 of its bytes."""
    data, digest = read_frozen_checklist(manifest, version)
    return decode_frozen(data, str(version)), digest


def decode_frozen(data: Any, version: str) -> FrozenChecklist:
    try:
        return msgspec.convert(data, FrozenChecklist)
    except msgspec.ValidationError as exc:
        raise WorkbenchError(
            f"the frozen checklist of release {version} does not read: {exc}.",
            fix="restore it from the release's git tag.",
        ) from None
