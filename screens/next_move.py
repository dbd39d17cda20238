"""Space: do what blocks next, from anywhere. The gates of steps 1-3 in order (take the
snapshot, run a step's checks, or answer its first blocking question), then tag, push and
promote the release. It opens the step and starts the action there, so a person sees the
same screens, prompts and confirmations as by hand, one key fewer each time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.checklist.steps import STEP_TITLES

if TYPE_CHECKING:
    from screens.app import WorkbenchApp

GATED = ("snapshot", "schema", "serve")


@dataclass(frozen=True)
class Move:
    step: str  # "" when nothing is left to do
    action: str  # take | run | tick | tag | push | promote | none
    says: str
    item: str | None = None


def next_move(app: WorkbenchApp) -> Move:
    summaries = {s.step: s for s in app.summaries}
    for step in GATED:
        summary = summaries.get(step)
        if summary is None or not summary.blockers:
            continue
        first = app.views[summary.blockers[0]]
        title = STEP_TITLES[step]
        if not first.item.is_auto:
            return Move(step, "tick", f"{title}: answer {first.item.id}", first.item.id)
        if step == "snapshot":  # a missing or stale snapshot: take it (its checks follow)
            return Move(step, "take", "Snapshot: take the snapshot")
        return Move(step, "run", f"{title}: run its checks ({first.item.id} blocks)")
    rows: list[dict[str, Any]] = app.release_rows
    if not rows:
        return Move("tag", "tag", "Tag: release what passed the gates")
    latest = rows[0]
    if not latest["pushed"]:
        return Move("push", "push", f"Push: push {latest['version']}")
    if not latest["channels"]:
        return Move("push", "promote", f"Push: promote {latest['version']} to a channel")
    return Move(
        "",
        "none",
        f"Nothing blocks: {latest['version']} is pushed and on "
        f"{', '.join(latest['channels'])}. Ask a reviewer to sign it off.",
    )


def perform(app: WorkbenchApp, move: Move) -> None:
    """Open the move's step and start its action once the screen is up."""
    if move.action == "none":
        app.notify(move.says, timeout=8)
        return
    app.notify(f"Next: {move.says}", timeout=4)
    app.open_step(move.step)
    screen: Any = app.screen

    def start() -> None:
        if not screen.is_mounted or not app.loaded:
            app.call_after_refresh(start)
            return
        if move.action == "tick" and move.item is not None:
            table = screen.query_one("#items")
            table.move_cursor(row=table.get_row_index(move.item))
            screen.action_answer()  # the evidence in view, no answer chosen for the person
            return
        actions = {
            "take": "action_take_snapshot",
            "run": "action_run_all",
            "tag": "action_tag_release",
            "push": "action_push_release",
            "promote": "action_promote",
        }
        getattr(screen, actions[move.action])()

    app.call_after_refresh(start)
