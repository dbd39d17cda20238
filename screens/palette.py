"""The command palette's own entries (Ctrl+P), offered where they make sense: open a step,
run its checks, pair and review mode, sign off, the report, monitoring, commit; each with
the key that does the same."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.screen import Screen

from workbench.checklist.steps import STEP_TITLES, STEPS

if TYPE_CHECKING:
    from screens.app import WorkbenchApp


def workbench_commands(app: WorkbenchApp, screen: Screen[object]) -> Iterable[SystemCommand]:
    from screens.step import StepScreen

    for number, step in enumerate(STEPS, start=1):
        yield SystemCommand(
            f"Open step: {STEP_TITLES[step]}",
            f"Show the {STEP_TITLES[step]} checklist ({number})",
            lambda step=step: app.open_step(step),
        )
    if isinstance(screen, StepScreen) and app.reviewer is None and app.loaded:
        yield SystemCommand(
            "Run all checks of this step", "Run its automatic checks (a)", screen.action_run_all
        )
        yield SystemCommand(
            "Run the selected check", "Run the highlighted item (r)", screen.action_run_selected
        )
    if isinstance(screen, StepScreen):
        yield SystemCommand(
            "Filter the checklist",
            "Only the items holding the words typed (/)",
            screen.action_filter,
        )
        yield SystemCommand(
            "Command log",
            "The commands run and how they ended, or back to the log (L)",
            app.action_commands,
        )
    yield SystemCommand("Pair mode", "Record a driver and a navigator", app.action_pair_mode)
    if app.pair:
        yield SystemCommand("Swap pair roles", "The navigator drives", app.action_swap_roles)
    if app.reviewer is None:
        yield SystemCommand(
            "Review mode", "Read-only, with a recorded sign-off", app.action_review_mode
        )
        yield SystemCommand(
            "Commit changes",
            "What changed, the workbench's own files named, a message (C)",
            app.action_commit,
        )
    else:
        yield SystemCommand("Sign off", "Record your review decision (s)", app.action_sign_off)
    yield SystemCommand(
        "Write report", "Markdown report in .workbench/report.md", app.action_write_report
    )
    yield SystemCommand(
        "Monitor a running image",
        "Drift of its inputs and predictions against the build's reference (PSI) (m)",
        app.action_monitor,
    )
    yield SystemCommand(
        "Deployed channels",
        "Every replica of each channel, live: rps, 5xx, p99, drift, with history (o)",
        app.action_channels,
    )
