"""`/` in a step: the checklist narrowed to the items whose id, summary or status hold every
word typed (`fail`, `gate`, `serve.lat`), as lazygit and k9s filter their lists."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label

from workbench.checklist.definitions import Item
from workbench.checklist.engine import ItemView

PLACEHOLDER = "words of the id, summary or status (Enter keeps it, Esc clears it)"


def matches(item: Item, view: ItemView | None, typed: str) -> bool:
    """Every word typed is in the item's id, summary, kind, status or `gate`."""
    status = view.status.value if view is not None else "pending"
    gate = "gate" if item.gate else ""
    said = f"{item.id} {item.summary} {item.kind} {status} {gate}".lower()
    return all(word in said for word in typed.lower().split())


class FilterBox(Horizontal):
    """The filter's line above the checklist: `/` and the words typed."""

    DEFAULT_CSS = """
    FilterBox { height: 1; margin-bottom: 1; }
    FilterBox > Label { width: auto; padding-right: 1; color: $accent; text-style: bold; }
    FilterBox > Input { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Label("/ filter")
        # Disabled while hidden: a hidden field must never take the keys meant for the list
        # (a terminal's first focus found it, and `a` typed a filter instead of running).
        yield Input(placeholder=PLACEHOLDER, id="item-filter", compact=True, disabled=True)

    def shown(self, shown: bool) -> None:
        self.display = shown
        self.query_one(Input).disabled = not shown
