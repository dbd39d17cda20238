"""The running row says what runs now (issue #25): during the serve test, the item each part
answers (the build, the container's start, each probe) as it happens, not the first item of
the run for the whole of it; the items it left say they are answered."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from screens.step import StepScreen
from tests.tui.test_app import make_app, settle
from workbench.checklist.checks import AutoCheck, CheckResult
from workbench.kernel.cancel import Cancelled
from workbench.steps import all_checks
from workbench.steps.serve import session as serve_sessions  # the serve checks import it on call
from workbench.steps.serve.items import SESSION_ITEMS
from workbench.steps.serve.session import Session

pytestmark = pytest.mark.tui
STAGES = ("serve.secrets-free", "serve.image-built", "start", "serve.examples-parity")


class PacedSession:
    """A serve test that stops at each stage until the test lets it go on."""

    def __init__(self) -> None:
        self.reached: list[str] = []
        self.go = threading.Event()
        self.stopped = False  # cancelled, and every part of it ended (its container removed)

    def __call__(self, manifest: Any, *, log: Any, cancel: Any, phase: Any, **_: Any) -> Session:
        for stage in STAGES:
            phase(stage)
            log(f"working at {stage}")
            self.reached.append(stage)
            for _ in range(200):  # bounded: a test that stops answering fails, never hangs
                if self.go.wait(0.05) or cancel.is_set():
                    break
            self.go.clear()
            if cancel.is_set():
                self.stopped = True
                raise Cancelled()
        return Session(results={i: CheckResult.passed(f"{i} ok") for i in SESSION_ITEMS})


async def at_stage(pilot: Pilot[None], reached: list[str], stage: str) -> str:
    """Wait until the long action stands at `stage`; the progress line then."""
    for _ in range(300):
        if stage in reached:
            break
        await pilot.pause(0.02)
    assert stage in reached
    screen = pilot.app.screen
    assert isinstance(screen, StepScreen)
    for _ in range(50):  # the PhaseStarted message and the line's redraw
        await pilot.pause(0.02)
        line = str(screen.query_one("#progress", Static).render())
        if stage.removeprefix("serve.") in line or "container" in line:
            break
    return line


def status_of(screen: StepScreen, item_id: str) -> str:
    return str(screen.query_one("#items", DataTable).get_cell(item_id, "status"))


async def test_the_running_row_follows_the_serve_test_build_start_each_check(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = PacedSession()
    monkeypatch.setattr(serve_sessions, "serve_session", session)
    here = AutoCheck("serve.base-image", lambda _: CheckResult.passed("present"), lambda _: {})
    app = make_app(example_project, checks={**all_checks(), "serve.base-image": here})
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("3", "a")
        screen = app.screen
        assert isinstance(screen, StepScreen) and screen.step == "serve"

        line = await at_stage(pilot, session.reached, "serve.secrets-free")
        assert "serve.secrets-free" in line
        assert "running" in status_of(screen, "serve.secrets-free")

        session.go.set()
        line = await at_stage(pilot, session.reached, "serve.image-built")
        assert "serve.image-built" in line and "serve.secrets-free" not in line
        assert "running" in status_of(screen, "serve.image-built")
        assert "answered" in status_of(screen, "serve.secrets-free")

        session.go.set()
        line = await at_stage(pilot, session.reached, "start")
        assert "starting the container" in line and "serve.image-built" not in line
        assert "answered" in status_of(screen, "serve.image-built")

        session.go.set()
        line = await at_stage(pilot, session.reached, "serve.examples-parity")
        assert "serve.examples-parity" in line
        assert "running" in status_of(screen, "serve.examples-parity")
        assert "answered" in status_of(screen, "serve.image-built")  # kept while others land

        session.go.set()
        await settle(pilot)
        assert not screen.running
        assert "pass" in status_of(screen, "serve.secrets-free")
        assert "pass" in status_of(screen, "serve.examples-parity")


async def test_the_tag_screen_names_the_release_and_the_serve_tests_stage_during_its_build(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.steps.tag import release

    reached: list[str] = []
    go = threading.Event()

    def create_release(_gate: Any, version: str, *, phase: Any, log: Any, **_: Any) -> Any:
        for stage in ("serve.image-built", "commit"):
            phase(stage)
            log(f"working at {stage}")
            reached.append(stage)
            go.wait(10)
            go.clear()
        raise release.WorkbenchError("stopped here by the test")

    monkeypatch.setattr(release, "create_release", create_release)
    monkeypatch.setattr(release, "suggest", lambda _m: _suggestion())
    app = make_app(example_project)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("4")
        tag_screen = app.screen
        await pilot.press("t")
        await settle(pilot)
        line = str(tag_screen.query_one("#progress", Static).render())
        assert "working out the next version" in line  # while it is worked out, and no longer
        await pilot.press("enter")  # the suggested version

        line = await at_stage(pilot, reached, "serve.image-built")
        assert "releasing 1.0.0" in line and "serve.image-built" in line
        assert "next version" not in line
        go.set()
        line = await at_stage(pilot, reached, "commit")
        assert "committing the release" in line
        go.set()
        await settle(pilot)


def _suggestion() -> Any:
    from workbench.project.semver import SemVer
    from workbench.steps.tag.version import Suggestion

    return Suggestion(None, SemVer(1, 0, 0), "major", "the first release")
