"""A widget is updated only when what it shows changes (`screens/shown.py`): the app redraws
every screen of the stack at each change of the checklist, and a Static's update lays the
whole screen out again. Seen failing: with `show_made` comparing nothing, the second and
fifth `show` below update again; without the release table's own comparison, a redraw of
the same rows clears and fills it again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from screens import shown
from screens.app import WorkbenchApp
from screens.release_panel import ReleaseTable
from tests.tui.test_snapshots import settled
from workbench.project.manifest import load_manifest

pytestmark = pytest.mark.tui


class _One(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("", id="line")
        yield ReleaseTable(id="releases")


def _row(version: str, pushed: bool) -> dict[str, Any]:
    return {"version": version, "channels": [], "pushed": pushed, "tagged": True}


async def test_a_static_is_updated_when_what_it_shows_changes_and_only_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _One()
    async with app.run_test() as pilot:
        line = app.query_one("#line", Static)
        updates: list[tuple[object, bool]] = []
        update = line.update

        def spy(content: Any = "", *, layout: bool = True) -> None:
            updates.append((content, layout))
            update(content, layout=layout)

        monkeypatch.setattr(line, "update", spy)
        assert shown.show(line, "12 s · Esc cancels", layout=False) is True
        assert shown.show(line, "12 s · Esc cancels", layout=False) is False
        assert shown.show(line, "13 s · Esc cancels", layout=False) is True
        # Content made from inputs: made (and shown) again only for other inputs.
        made: list[str] = []

        def make(said: str) -> Any:
            return lambda: made.append(said) or Text(said)

        assert shown.show_made(line, ("pass", 1.0), make("serve.performance")) is True
        assert shown.show_made(line, ("pass", 1.0), make("made again")) is False
        assert shown.show_made(line, ("fail", 0.0), make("serve.performance failed")) is True
        assert made == ["serve.performance", "serve.performance failed"]
        await pilot.pause()
        assert [u[1] for u in updates] == [False, False, True, True]
        assert [str(u[0]) for u in updates] == [
            "12 s · Esc cancels",
            "13 s · Esc cancels",
            "serve.performance",
            "serve.performance failed",
        ]
        assert str(line.render()) == "serve.performance failed"  # what is shown now


async def test_the_release_table_is_filled_again_for_changed_rows_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _One()
    async with app.run_test() as pilot:
        table = app.query_one(ReleaseTable)
        cleared: list[int] = []
        clear = table.clear
        monkeypatch.setattr(table, "clear", lambda *a, **k: cleared.append(1) or clear(*a, **k))
        rows = [_row("1.0.1", False), _row("1.0.0", True)]
        table.show(rows)
        table.move_cursor(row=1, animate=False)
        await pilot.pause()
        table.show([dict(row) for row in rows])  # a redraw: equal rows, new objects
        await pilot.pause()
        assert len(cleared) == 1  # filled once, not again for the same rows
        assert table.cursor_row == 1 and table.selected_version() == "1.0.0"
        table.show([_row("1.0.1", True), _row("1.0.0", True)])  # 1.0.1 pushed since
        await pilot.pause()
        assert len(cleared) == 2 and table.get_row("1.0.1")[2] == "yes"
        assert table.selected_version() == "1.0.0"  # the person's row kept across a change


async def test_an_update_that_failed_is_tried_again_at_the_next_redraw() -> None:
    app = _One()
    async with app.run_test():
        line = app.query_one("#line", Static)

        def broken() -> Any:
            raise ValueError("a renderable that cannot be made")

        with pytest.raises(ValueError):
            shown.show_made(line, ("fail", 0.0), broken)
        assert shown.show_made(line, ("fail", 0.0), lambda: Text("made this time")) is True
        assert str(line.render()) == "made this time"


async def test_a_theme_change_recolours_the_cards_and_a_cancel_shows_in_the_detail(
    example_project: Path,
) -> None:
    """What the keys hold: the palette (a card drawn again in the new theme's colours) and
    the cancel (the same item's detail says it was cancelled). Seen failing with either left
    out of its key: the card kept the old theme's content, the detail no cancel line."""
    app = WorkbenchApp(load_manifest(example_project))
    async with app.run_test(size=(100, 30)) as pilot:
        await settled(pilot)
        card = app.screen.query_one("#card-snapshot", Static)
        before = card.content
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await settled(pilot)
        await pilot.pause()
        assert card.content is not before
        await pilot.press("1")
        await settled(pilot)
        screen = app.screen
        detail = screen.query_one("#detail", Static)
        item_id = screen.selected_id()  # type: ignore[attr-defined]
        assert "cancelled:" not in _plain(detail.content)
        screen.cancelled_ids = {item_id}  # type: ignore[attr-defined]
        screen._show_detail()  # type: ignore[attr-defined]
        assert "cancelled: this run stopped before it answered" in _plain(detail.content)


def _plain(content: Any) -> str:
    parts = getattr(content, "renderables", [content])
    return " ".join(p.plain for p in parts if isinstance(p, Text))
