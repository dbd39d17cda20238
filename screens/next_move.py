"""Space: do what comes next, from anywhere. The move is the domain's
(`workbench.checklist.moves.decide`, the same the CLI prints as "next"): the gates of steps
1-3 in order (take the snapshot, run or re-test a step's checks, answer its first blocking
question), then tag, push and promote the release, again for every tested change the
latest release does not hold, then what limits readiness. It opens the step and starts
the action there, so a person sees the same screens, prompts and confirmations as by hand,
one key fewer each time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.checklist.moves import Move

if TYPE_CHECKING:
    from screens.app import WorkbenchApp

__all__ = ["Move", "next_move", "perform"]


def next_move(app: WorkbenchApp) -> Move:
    return app.standing.move


def perform(app: WorkbenchApp, move: Move) -> None:
    """Open the move's step and start its action once the screen is up."""
    if move.action == "none":
        said = app.standing.headline or "Nothing left to do"
        app.notify(f"{said}. Nothing blocks and nothing is left to run or answer.", timeout=8)
        return
    app.notify(f"Next: {move.says}", timeout=4)
    app.open_step(move.step)
    screen: Any = app.screen

    def start() -> None:
        if not screen.is_mounted or not app.loaded:
            app.call_after_refresh(start)
            return
        if any(w.group == "load" and not w.is_finished for w in app.workers):
            # A read of the checklist and the releases is under way (after a push, say):
            # act on what it reads, not on the release rows from before it.
            app.set_timer(0.05, start)
            return
        if move.action in ("tick", "show") and move.item is not None:
            screen.select_item(move.item)  # a filter (`/`) that hides it is cleared
            if move.action == "tick":
                screen.action_answer()  # the evidence in view, no answer chosen for them
            return
        actions = {
            "take": "action_take_snapshot",
            "run": "action_run_all",
            "tag": "action_tag_release",
            "push": "action_push_release",
            "promote": "action_promote",
        }
        if move.action in ("push", "promote"):
            screen.select_newest_release()  # the move is about the latest release
        getattr(screen, actions[move.action])()

    app.call_after_refresh(start)
