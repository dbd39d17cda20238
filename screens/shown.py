"""What a widget shows, updated only when it changes.

A Static's update lays its whole screen out again, and the app redraws every screen of the
stack at each change of the checklist: during a serve test or a push most of those redraws
showed what was already shown. In the TUI's tag-and-push test at 120x36, under the profiler,
662 layouts took 16.9 s of its 75 s (about 25 ms each), a fifth of a core beside the build;
361 with this."""

from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

from textual.visual import VisualType
from textual.widgets import Static

_SHOWN: WeakKeyDictionary[Static, object] = WeakKeyDictionary()
_NOTHING = object()


def show_made(
    widget: Static, key: object, make: Callable[[], VisualType], *, layout: bool = True
) -> bool:
    """Show what `make()` makes in `widget` unless it was last made from an equal `key`
    (what the content is made from, compared by ==): `make` is called only then. The key is
    kept once the update is done, so one that failed is tried again at the next redraw.
    `layout=False` is for a widget whose size cannot change with its content. Whether it was
    updated."""
    if _SHOWN.get(widget, _NOTHING) == key:
        return False
    _SHOWN.pop(widget, None)
    widget.update(make(), layout=layout)
    _SHOWN[widget] = key
    return True


def show(widget: Static, content: VisualType, *, layout: bool = True) -> bool:
    """Show `content` (a string or anything compared by ==) unless it shows it already."""
    return show_made(widget, content, lambda: content, layout=layout)
