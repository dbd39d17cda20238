"""Messages shared between the app and its screens (small dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from workbench.checklist.engine import ItemView
    from workbench.checklist.standing import Standing


@dataclass
class ChecklistLoaded(Message):
    """The checklist read again, off the interface thread: the standing, the releases."""

    standing: Standing
    release_line: str = ""
    release_rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class StandingChanged(Message):
    """A worker changed the checklist (a tick, a waiver, a check's result): where it stands
    now, computed in that worker."""

    standing: Standing


@dataclass
class CheckStarted(Message):
    item_id: str


@dataclass
class CheckFinished(Message):
    item_id: str
    view: ItemView


# The stages a long action names that answer no item of their own (CheckContext.phase).
STAGES = {
    "start": "starting the container",
    "attest": "reading the bill of materials, writing the provenance",
    "commit": "committing the release, tagging git and the image",
}


@dataclass
class PhaseStarted(Message):
    """A long action moved on: `what` is the item it answers now, or a stage of STAGES."""

    what: str

    @property
    def said(self) -> str:
        return STAGES.get(self.what, self.what)


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


@dataclass
class ReleaseDone(Message):
    """A tag, push, promote or rollback finished; `text` says what happened."""

    text: str
    ok: bool = True


@dataclass
class LayerUpdate(Message):
    """Progress of one layer of a push."""

    layer: str
    status: str
    current: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LayerUpdate) and message.layer == self.layer
