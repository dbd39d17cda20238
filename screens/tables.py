"""Tables that move like lazygit's and k9s's lists: `j` / `k` down and up, `g` / `G` to
the first and the last row (the arrows, Home and End still work). The checklist of every
step and the releases table are these."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

LIST_KEYS = (("j / k", "down / up in a list (lazygit keys)"), ("g / G", "first / last row"))


class ListTable(DataTable[str]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", id="list.down", show=False),
        Binding("k", "cursor_up", "Up", id="list.up", show=False),
        Binding("g", "scroll_top", "First row", id="list.first", show=False),
        Binding("G", "scroll_bottom", "Last row", id="list.last", show=False),
    ]
