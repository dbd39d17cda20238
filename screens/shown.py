"""What a widget shows, updated only when it changes.

A Static's update lays its whole screen out again (about 25 ms of CPU at 100x30), and the
app redraws every screen of the stack at each change of the checklist: during a serve test
or a push most of those redraws showed what was already shown, and laying them out took a
quarter of a core from the build beside it (measured in the TUI's tag-and-push test)."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from textual.visual import VisualType
from textual.widgets import Static

_SHOWN: WeakKeyDictionary[Static, object] = WeakKeyDictionary()
_NOTHING = object()


def is_new(widget: Static, key: object) -> bool:
    """Whether `key` (what the widget's content is made from, compared by ==) differs from
    what it was last made from; it is kept as the widget's from now on."""
    if _SHOWN.get(widget, _NOTHING) == key:
        return False
    _SHOWN[widget] = key
    return True


def show(widget: Static, content: VisualType, key: object = None, *, layout: bool = True) -> bool:
    """Show `content` in `widget` unless it already shows it: `key` is what the content was
    made from when it is not a string, and `layout=False` is for a widget whose size cannot
    change with its content. Whether it was updated."""
    if not is_new(widget, content if key is None else key):
        return False
    widget.update(content, layout=layout)
    return True
