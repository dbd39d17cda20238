"""`/` filters a step's checklist (issue #25): rows narrowed to the words typed, the cursor
kept on its item, Enter keeps the filter and returns to the list, Esc clears it before it
ever leaves the step; results arriving meanwhile never touch a hidden row."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input

from screens.item_filter import FilterBox
from screens.step import StepScreen
from tests.tui.test_app import make_app, settle

pytestmark = pytest.mark.tui


def rows(screen: StepScreen) -> list[str]:
    return [str(key.value) for key in screen.query_one("#items", DataTable).rows]


async def test_slash_filters_the_checklist_enter_keeps_it_escape_clears_it(
    example_project: Path,
) -> None:
    app = make_app(example_project)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StepScreen)
        everything = rows(screen)
        assert len(everything) > 5
        # Hidden, the field takes no keys (a terminal's first focus found it once, and `a`
        # typed a filter instead of running the checks).
        assert not screen.query_one("#item-filter", Input).focusable
        assert app.focused is screen.query_one("#items", DataTable)

        await pilot.press("slash")
        box = screen.query_one(FilterBox)
        assert box.display and app.focused is screen.query_one("#item-filter", Input)
        await pilot.press(*"examples")  # words of ids and summaries; keys typed, not actions
        await pilot.pause()
        shown = rows(screen)
        assert shown and len(shown) < len(everything)
        assert all(
            "example" in i or "example" in screen.checklist.item(i).summary.lower() for i in shown
        )
        assert not screen.running  # `a` and `e` typed into the box ran nothing

        await pilot.press("enter")  # keep the filter, back to the list
        assert app.focused is screen.query_one("#items", DataTable)
        assert rows(screen) == shown and box.display
        await pilot.press("a")  # run the step's checks: results land on shown rows only
        await settle(pilot)
        assert rows(screen) == shown

        await pilot.press("escape")  # clears the filter; the step stays open
        await pilot.pause()
        assert isinstance(app.screen, StepScreen) and not box.display
        assert rows(screen) == everything
        await pilot.press("escape")  # now back home
        await pilot.pause()
        assert not isinstance(app.screen, StepScreen)


async def test_a_filter_by_status_and_select_item_clears_a_filter_that_hides_it(
    example_project: Path,
) -> None:
    app = make_app(example_project)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StepScreen)
        await pilot.press("slash", *"gate pending")
        await pilot.pause()
        shown = rows(screen)
        assert shown and all(screen.checklist.item(i).gate for i in shown)
        hidden = next(i for i in screen.checklist.auto_ids("schema") if i not in shown)
        screen.select_item(hidden)  # Space does this to open an item's answer
        await pilot.pause()
        assert screen.selected_id() == hidden and hidden in rows(screen)
