"""A tick while the checklist reloads costs what it costs alone: the reload measures inputs
(git, Docker, files) outside the engine's lock, the tick runs in a worker and answers with
a new standing. Both are measured and printed (`pytest -s`); no timed assertion, since the
machines are shared: what is asserted is that the tick lands, on disk and on screen, and
that the reload begun before it does not take it back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from screens.app import WorkbenchApp
from screens.step import StepScreen
from tests.tui.test_app import SIZE, make_app, select, settle
from workbench.checklist.checks import AutoCheck, CheckContext, Status
from workbench.checklist.state import load_state
from workbench.steps import all_checks

pytestmark = pytest.mark.tui
MEASURING = 0.04  # per auto item: a reload measures every one (about 2 s in all)


def slow_inputs(check: AutoCheck) -> AutoCheck:
    """The same check, its inputs slow to measure, as asking git and Docker is."""

    def inputs(ctx: CheckContext) -> Any:
        time.sleep(MEASURING)
        return check.inputs(ctx)

    return AutoCheck(check.id, check.run, inputs)


def reloading(app: WorkbenchApp) -> bool:
    return any(w.group == "load" and w.is_running for w in app.workers)


async def answer(pilot: Pilot[None], item_id: str) -> StepScreen:
    """Select `item_id`, answer yes and write a note: the dialog waits for Enter."""
    screen = await select(pilot, item_id)
    await pilot.press("y")
    await pilot.pause()
    await pilot.press(*"rehearsed-on-staging")
    return screen


async def enter(pilot: Pilot[None], screen: StepScreen, item_id: str) -> float:
    """Press Enter on the answer; seconds until the app's standing and the row show it."""
    app = pilot.app
    assert isinstance(app, WorkbenchApp)
    table = screen.query_one("#items", DataTable)
    began = time.monotonic()
    await pilot.press("enter")
    for _ in range(2000):
        view = app.views.get(item_id)
        shown = str(table.get_cell(item_id, "status"))
        if view is not None and view.status is Status.PASS and "pass" in shown:
            return time.monotonic() - began
        await pilot.pause(0.002)
    raise AssertionError(f"the tick of {item_id} never showed")


async def test_a_tick_lands_alone_and_while_a_reload_runs(example_project: Path) -> None:
    checks = {i: slow_inputs(c) for i, c in all_checks().items()}
    app = make_app(example_project, checks=checks)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("5")  # Push: the question a person answers there
        await settle(pilot)
        assert isinstance(app.screen, StepScreen)
        screen = await answer(pilot, "push.rollback-known")
        alone = await enter(pilot, screen, "push.rollback-known")
        await settle(pilot)

        await pilot.press("4")  # Tag: the release note, another question a person answers
        await settle(pilot)
        assert isinstance(app.screen, StepScreen)
        screen = await answer(pilot, "tag.release-note")
        loaded_before = app.standing.serial
        app.reload_checklist()
        for _ in range(500):
            if reloading(app):
                break
            await pilot.pause(0.002)
        assert reloading(app)
        await pilot.pause(0.1)  # well into measuring the inputs
        during = await enter(pilot, screen, "tag.release-note")
        reload_still_running = reloading(app)
        await settle(pilot)  # the reload ends: its standing must keep the tick
        print(
            f"\ntick alone: {alone * 1000:.0f} ms; tick while a reload runs: "
            f"{during * 1000:.0f} ms (the reload was "
            f"{'still' if reload_still_running else 'no longer'} running when it showed)"
        )
        assert app.standing.serial > loaded_before
        for item_id in ("push.rollback-known", "tag.release-note"):
            assert app.views[item_id].status is Status.PASS
        ticks = load_state(example_project).ticks
    assert {i: ticks[i].answer for i in ("push.rollback-known", "tag.release-note")} == {
        "push.rollback-known": "yes",
        "tag.release-note": "yes",
    }
