"""The Snapshot step: the generic checklist plus taking the snapshot itself."""

from __future__ import annotations

from textual import on, work
from textual.binding import Binding

from screens.context import tones
from screens.messages import SnapshotTaken
from screens.progress import LogBatcher
from screens.step import StepScreen
from workbench.kernel.cancel import Cancelled
from workbench.steps.snapshot.take import Detail, Log, SnapshotResult, Stage, take_snapshot


class SnapshotScreen(StepScreen):
    BINDINGS = [Binding("t", "take_snapshot", "Take snapshot", id="snapshot.take")]
    EDITING_ACTIONS = StepScreen.EDITING_ACTIONS | {"take_snapshot"}

    def action_take_snapshot(self) -> None:
        if self.begin("taking the snapshot"):
            self._take()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="snapshot",
        description="taking the snapshot",
    )
    def _take(self) -> None:
        batcher = LogBatcher(self)
        try:
            for event in take_snapshot(self.checklist.manifest, cancel=self.cancel_event):
                if isinstance(event, Stage):
                    batcher.flush()
                    batcher(f"· {event.text}")
                    batcher.flush()
                elif isinstance(event, Log | Detail):
                    batcher(event.text)
                elif isinstance(event, SnapshotResult):
                    batcher.flush()
                    self.post_message(SnapshotTaken(len(event.runtime), len(event.serving)))
        except Cancelled:
            batcher.flush()
            self.post_message(SnapshotTaken(0, 0, cancelled=True))

    @on(SnapshotTaken)
    def _taken(self, message: SnapshotTaken) -> None:
        self.running = False
        if message.cancelled:
            self.log_line(f"[{tones(self).warn}]snapshot cancelled; nothing was written[/]")
            return
        self.log_line(
            f"[{tones(self).ok}]snapshot written:[/] {message.runtime} runtime packages + "
            f"{message.serving} for the serving runtime; running the checks"
        )
        self.start_checks(self.checklist.auto_ids(self.step))
