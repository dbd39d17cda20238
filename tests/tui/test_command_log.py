"""The command-log pane (issue #25): `L` in a step swaps the log for the commands the
workbench ran (git here), each with how it ended; a command run while it is open appears
at once, from the worker thread that ran it; `L` again brings the log back."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.widgets import RichLog

from screens.command_log import CommandPane
from tests.tui.test_app import make_app, settle
from workbench.kernel import git

pytestmark = pytest.mark.tui


def text_of(pane: RichLog) -> str:
    return "\n".join(str(line.text) for line in pane.lines)


async def test_l_shows_the_commands_run_with_their_outcome_live(example_project: Path) -> None:
    git.run(example_project, "rev-parse", "HEAD")  # not a repository: exit 128
    app = make_app(example_project)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        pane = app.screen.query_one(CommandPane)
        log = app.screen.query_one("#log", RichLog)
        assert not pane.display and log.display
        await pilot.press("L")
        await pilot.pause()
        assert pane.display and not log.display
        shown = text_of(pane)
        assert "✘" in shown and "git rev-parse HEAD" in shown and "exit 128" in shown

        worker = threading.Thread(target=git.run, args=(example_project, "--version"))
        worker.start()  # a command from another thread, as a worker runs one
        worker.join()
        for _ in range(50):
            await pilot.pause(0.02)
            if "git --version" in text_of(pane):
                break
        assert "✔" in text_of(pane) and "git --version" in text_of(pane)

        await pilot.press("L")
        await pilot.pause()
        assert not pane.display and log.display
