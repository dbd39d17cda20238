"""A step screen whose actions (tag, push, promote, roll back, deploy) run one at a time in
a worker: each outcome lands in the log and in a notice, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.markup import escape
from textual import on

from screens.context import tones
from screens.messages import ReleaseDone
from screens.step import StepScreen
from workbench.kernel.errors import WorkbenchError


class ActionStepScreen(StepScreen):
    """Shared by Tag and Push: a release action's outcome lands in the log."""

    @on(ReleaseDone)
    def _release_done(self, message: ReleaseDone) -> None:
        self.running = False
        palette = tones(self)
        self.log_line(f"[{palette.ok if message.ok else palette.bad}]{escape(message.text)}[/]")
        self.notify(message.text, severity="information" if message.ok else "error", timeout=10)
        self.start_checks(self.checklist.auto_ids(self.step))

    def report(self, work_fn: Callable[[], str]) -> None:
        """Run `work_fn` here (a worker thread); its error becomes a notice, not a crash."""
        try:
            text = work_fn()
        except WorkbenchError as exc:
            self.post_message(ReleaseDone(exc.paragraph, ok=False))
        else:
            self.post_message(ReleaseDone(text))

    def _channels_then(self, then: Callable[[dict[str, Any]], object]) -> None:
        from workbench.project.releases import load_channels

        try:
            channels = load_channels(self.checklist.manifest)
        except WorkbenchError as exc:
            self.notify(exc.paragraph, severity="error", timeout=10)
            return
        then(channels)
