"""`q` while work runs (a serve test, a build, a push): it asks first; on yes, the work is
cancelled as Escape cancels it (the serve test removes its container) and the app closes
as soon as it has stopped, saying so meanwhile instead of leaving a blank screen."""

from __future__ import annotations

from textual.app import App
from textual.timer import Timer

from screens.context import workbench
from screens.dialogs import Confirm
from screens.step import StepScreen


def running_steps(app: App[None]) -> list[StepScreen]:
    return [s for s in app.screen_stack if isinstance(s, StepScreen) and s.running]


def quit_safely(app: App[None]) -> bool:
    """Ask before quitting over running work; False when nothing runs (quit as usual)."""
    running = running_steps(app)
    if not running:
        return False
    if any(s.cancel_event.is_set() for s in running):
        app.notify("Already stopping the running work; the workbench closes when it has.")
        return True
    what = ", ".join(s.doing or "work" for s in running)

    def answered(yes: bool | None) -> None:
        if not yes:
            return
        workbench(app.screen).quitting = True  # no new work starts (Tag's checks after it)
        for screen in running_steps(app):
            screen.cancel_event.set()
            screen.log_line("cancelling to quit: the workbench closes when the work has stopped")
        app.notify(
            "Cancelling the running work; the workbench closes when it has stopped "
            "(a serve test removes its container first).",
            severity="warning",
            timeout=30,
        )
        # Every 0.1 s until the workers have stopped: bounded by the work's own cancellation
        # (the serve test stops between probes; a build or push is hung up on at once).
        timer: Timer | None = None

        def exit_when_stopped() -> None:
            if not running_steps(app) and timer is not None:
                timer.stop()
                app.exit()

        timer = app.set_interval(0.1, exit_when_stopped)

    app.push_screen(
        Confirm(
            "Quit while work runs?",
            f"Running now: {what}. Quitting cancels it; the container of a serve test is "
            "removed before the workbench closes.",
            yes="Cancel it and quit",
        ),
        answered,
    )
    return True
