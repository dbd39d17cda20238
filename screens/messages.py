"""Messages shared between the app and its screens (small dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from workbench.checklist import ItemView, StepSummary


@dataclass
class ChecklistLoaded(Message):
    """Fresh statuses of every item, computed off the interface thread."""

    summaries: list[StepSummary]
    views: dict[str, ItemView]


@dataclass
class CheckStarted(Message):
    item_id: str


@dataclass
class CheckFinished(Message):
    item_id: str
    view: ItemView


@dataclass
class CheckLog(Message):
    """Lines a running check logged, batched so a flood cannot swamp the interface."""

    lines: list[str]


@dataclass
class ChecksDone(Message):
    cancelled: bool


@dataclass
class SnapshotTaken(Message):
    """The snapshot finished: how many packages, or cancelled."""

    runtime: int
    serving: int
    cancelled: bool = False
