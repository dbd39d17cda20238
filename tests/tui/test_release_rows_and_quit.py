"""Acting on the selected release row in the Push step (push, promote, roll back that
release, each after a confirmation), and `q` during a serve test: it asks, cancels the test
(its container removed by the session), and the app closes once the test has stopped
(issue #25)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Select

from screens.dialogs import Confirm, MoveChannel, PickChannel
from screens.push import PushScreen
from screens.release_panel import ReleaseTable
from screens.step import StepScreen
from tests.tui.test_app import make_app, settle
from tests.tui.test_running_row import PacedSession, at_stage
from tests.tui.test_snapshots import RELEASES
from workbench.checklist.checks import AutoCheck, CheckResult
from workbench.project import releases
from workbench.project.records import Channel, ChannelMove
from workbench.steps import all_checks
from workbench.steps.serve import session as serve_sessions  # the serve checks import it on call

pytestmark = pytest.mark.tui


def moves(*versions: str) -> list[ChannelMove]:
    return [
        ChannelMove(
            version=v, digest=f"sha256:{v}", action="promote", at="2026-11-24T10:00:00Z", by="Ana"
        )
        for v in versions
    ]


CHANNELS = {  # 1.1.0 on staging (1.0.0 before it), 1.0.0 on production (0.9.0 before it)
    "staging": Channel(current="1.1.0", digest="sha256:b", history=moves("1.0.0", "1.1.0")),
    "production": Channel(current="1.0.0", digest="sha256:a", history=moves("0.9.0", "1.0.0")),
}


async def open_push(pilot: Any, project: Path, monkeypatch: pytest.MonkeyPatch) -> PushScreen:
    monkeypatch.setattr(releases, "load_channels", lambda _manifest: CHANNELS)
    app = pilot.app
    await settle(pilot)
    await pilot.press("5")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, PushScreen)
    app.release_rows = RELEASES
    screen.update_from_checklist()
    screen.query_one(ReleaseTable).focus()
    await pilot.pause()
    return screen


async def test_push_promote_and_roll_back_act_on_the_selected_release_row(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(example_project)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await open_push(pilot, example_project, monkeypatch)
        row = screen.selected_release()
        assert row is not None and row["version"] == "1.1.0"  # the newest, until moved
        await pilot.press("j")  # the older release: production's
        row = screen.selected_release()
        assert row is not None and row["version"] == "1.0.0"
        app.release_rows = [{**RELEASES[0], "version": "1.2.0"}, *RELEASES]  # a new release
        screen.update_from_checklist()  # the table filled again: the chosen row stays chosen
        await pilot.pause()
        row = screen.selected_release()
        assert row is not None and row["version"] == "1.0.0"
        app.release_rows = RELEASES
        screen.update_from_checklist()
        await pilot.pause()

        await pilot.press("p")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, Confirm) and dialog.title_text == "Push 1.0.0"
        assert "iris-classifier:1.0.0 ->" in dialog.body
        await pilot.press("n")  # nothing pushed
        await pilot.pause()
        assert app.screen is screen and not screen.running

        await pilot.press("o")
        await pilot.pause()
        promote = app.screen
        assert isinstance(promote, MoveChannel)
        assert promote.query_one("#version", Select).value == "1.0.0"
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("b")
        await pilot.pause()
        rollback = app.screen
        assert isinstance(rollback, PickChannel)
        assert rollback.summaries == {"production": "1.0.0 -> 0.9.0"}  # its channel only
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("k", "b")  # the newest again: staging's
        await pilot.pause()
        rollback = app.screen
        assert isinstance(rollback, PickChannel)
        assert rollback.summaries == {"staging": "1.1.0 -> 1.0.0"}
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and not screen.running


async def test_promote_refuses_a_selected_release_that_is_not_pushed(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(example_project)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await open_push(pilot, example_project, monkeypatch)
        app.release_rows = [{**RELEASES[0], "version": "1.2.0", "pushed": False}, *RELEASES]
        screen.update_from_checklist()
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        assert app.screen is screen
        assert any("1.2.0 is not pushed" in n.message for n in app._notifications)


async def test_q_during_the_serve_test_asks_then_cancels_it_and_quits_once_stopped(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = PacedSession()
    monkeypatch.setattr(serve_sessions, "serve_session", session)
    here = AutoCheck("serve.base-image", lambda _: CheckResult.passed("present"), lambda _: {})
    app = make_app(example_project, checks={**all_checks(), "serve.base-image": here})
    exits: list[bool] = []  # whether the serve test had stopped when the app closed
    real_exit = app.exit
    monkeypatch.setattr(app, "exit", lambda *a, **k: (exits.append(session.stopped), real_exit()))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("3", "a")
        await at_stage(pilot, session.reached, "serve.secrets-free")
        screen = app.screen
        assert isinstance(screen, StepScreen) and screen.running

        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, Confirm) and "Running now" in app.screen.body
        await pilot.press("n")  # keep working: nothing cancelled, nothing closed
        await pilot.pause()
        assert screen.running and not screen.cancel_event.is_set() and exits == []

        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        for _ in range(200):
            if exits:
                break
            await pilot.pause(0.02)
    assert exits == [True]  # closed, and only after the serve test had stopped
    assert session.reached == ["serve.secrets-free"]  # it went no further
    assert any("closes when it has stopped" in n.message for n in app._notifications)


async def test_the_release_table_on_home_opens_push_on_the_selected_release_and_acts_on_it(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Home's release table: Enter opens the Push step on the selected row, and p / o / b
    act on that release there (its confirmation first), as in the Push step (#25)."""
    from screens.home import HomeReleases, HomeScreen

    monkeypatch.setattr(releases, "load_channels", lambda _manifest: CHANNELS)
    app = make_app(example_project)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        home = app.screen
        assert isinstance(home, HomeScreen)
        app.release_rows = RELEASES
        home.update_from_checklist()
        table = home.query_one(HomeReleases)
        table.focus()
        await pilot.pause()
        await pilot.press("j", "o")  # production's 1.0.0, promoted from home
        await settle(pilot)
        promote = app.screen
        assert isinstance(promote, MoveChannel)
        assert promote.query_one("#version", Select).value == "1.0.0"
        await pilot.press("escape")
        await pilot.pause()
        push = app.screen
        assert isinstance(push, PushScreen)
        row = push.selected_release()
        assert row is not None and row["version"] == "1.0.0"  # the row chosen on home

        await pilot.press("h")
        await settle(pilot)
        assert app.screen is home
        table.focus()
        await pilot.press("g", "enter")  # the newest: opened in Push, nothing started
        await settle(pilot)
        push = app.screen
        assert isinstance(push, PushScreen) and not push.running
        row = push.selected_release()
        assert row is not None and row["version"] == "1.1.0"
        assert push.focused is push.query_one(ReleaseTable)
