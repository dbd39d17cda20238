"""The detail pane of a checklist item: what it asks, why, its evidence, how to fix it, and
the picture of its figures (built from the immutable view the app holds)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.text import Text
from textual.widgets import Static

from screens import shown
from screens.pictures import picture
from screens.theme import Palette
from workbench.checklist.engine import ItemView
from workbench.checklist.symbols import ICON


def item_detail(
    view: ItemView, tones: Palette, *, cancelled: bool, memory_bytes: int
) -> RenderableType:
    """`cancelled`: the last run stopped before it answered this item."""
    item = view.item
    status = view.status.value
    stopped = (
        [
            f"[{tones.warn}]⊘ cancelled: this run stopped before it answered; the "
            "result below is the last one stored (r runs it again).[/]"
        ]
        if cancelled
        else []
    )
    lines = [
        f"[b]{escape(item.summary)}[/b]",
        f"[dim]{escape(item.id)} · {item.kind}{' · gate' if item.gate else ''}[/]",
        "",
        *stopped,
        f"[{tones.status(status)}]{ICON[status]} {status}[/]  {escape(view.remark)}",
        "",
        f"[b]Question[/b]  {escape(item.question)}",
        f"[b]Why[/b]  {escape(item.why)}",
    ]
    if item.reference:
        lines.append(f"[dim]{escape(item.reference)}[/]")
    if view.evidence:
        lines += ["", "[b]Evidence[/b]", *(f"• {escape(e)}" for e in view.evidence[:20])]
    if view.waiver:
        lines += [
            "",
            f"[{tones.warn} b]Waived[/] by {escape(view.waiver.by)}: " + escape(view.waiver.reason),
        ]
    if status == "fail":  # a fix only for what was found wanting
        lines += ["", f"[b]How to fix[/b]  {escape(item.fix)}"]
    elif status != "pass":
        lines += ["", f"[b]Next[/b]  {escape(view.next_move)}"]
    if item.is_auto:
        lines += ["", "[dim]r runs this check, a runs all of this step's checks.[/]"]
    else:
        lines += ["", "[dim]y / n / x answers yes / no / not applicable.[/]"]
    drawn = picture(item.id, view.result, memory_bytes)
    text = Text.from_markup("\n".join(lines))
    return Group(drawn, text) if drawn else text


def show_detail(
    widget: Static, view: ItemView, tones: Palette, *, cancelled: bool, memory_bytes: int
) -> None:
    """The detail of `view` in `widget`, unless it shows it already (made again only when
    the item's view, the theme or the cancel changed: a redraw of the step at every
    result is otherwise a layout of the screen)."""
    shown.show_made(
        widget,
        (view, tones, cancelled, memory_bytes),
        lambda: item_detail(view, tones, cancelled=cancelled, memory_bytes=memory_bytes),
    )
