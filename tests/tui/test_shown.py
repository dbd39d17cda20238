"""A widget is updated only when what it shows changes (`screens/shown.py`): the app redraws
every screen of the stack at each change of the checklist, and a Static's update lays the
whole screen out again. Seen failing: with `is_new` answering True always, the second and
fifth `show` below update again; without the release table's own comparison, a redraw of
the same rows clears and fills it again."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from screens import shown
from screens.release_panel import ReleaseTable

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
        # Content made from inputs: the same inputs show nothing again.
        assert shown.show(line, Text("serve.performance"), key=("pass", 1.0)) is True
        assert shown.show(line, Text("made again"), key=("pass", 1.0)) is False
        assert shown.show(line, Text("serve.performance failed"), key=("fail", 0.0)) is True
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
