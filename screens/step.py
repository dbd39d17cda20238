"""A step as an interactive checklist: items, their detail, running checks, ticking.

One generic screen for every step; later steps specialise it. Checks run in a
thread worker (the interface never freezes) and Escape cancels them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ClassVar

from rich.console import Group
from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, RichLog, Static
from textual.worker import Worker, WorkerState

from screens.answer import open_answer
from screens.context import Workbench, tones, workbench
from screens.dialogs import TextPrompt
from screens.messages import CheckFinished, CheckLog, ChecksDone, CheckStarted, StandingChanged
from screens.pictures import picture
from screens.progress import LogBatcher
from screens.tables import ListTable
from screens.theme import Palette
from workbench.checklist.checks import CheckContext
from workbench.checklist.definitions import STEP_TITLES
from workbench.checklist.engine import Checklist, ItemFinished, ItemStarted, ItemView, RunCancelled
from workbench.checklist.symbols import ICON


class StepScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back_or_cancel", "Back", id="step.back"),
        Binding("r", "run_selected", "Run", id="step.run", show=False),
        Binding("a", "run_all", "Run all", id="step.run_all"),
        Binding("y", "tick_yes", "Yes", id="step.yes"),
        Binding("n", "tick_no", "No", id="step.no"),
        # Shown in help (? / F1), not in the footer: it must fit 80 columns.
        Binding("x", "tick_na", "N/A", id="step.na", show=False),
        Binding("w", "waive", "Waive", id="step.waive", show=False),
        Binding("c", "confirm", "Confirm", id="step.confirm"),
        Binding("s", "sign_off", "Sign off", id="step.signoff"),
    ]
    # Actions that change the project: disabled in review mode. Steps add their own.
    EDITING_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"run_selected", "run_all", "tick_yes", "tick_no", "tick_na", "waive", "confirm"}
    )

    def __init__(self, step: str) -> None:
        super().__init__(name=step)
        self.step = step
        self.cancel_event = threading.Event()
        self.running = False
        # What runs now, for the progress line: the item, the phase (the last line the check
        # logged; set from the worker thread) and when the action began.
        self.current_item = ""
        self.phase = ""
        self.began = 0.0
        self.run_ids: list[str] = []
        self.finished_ids: set[str] = set()
        self.cancelled_ids: set[str] = set()  # the last run's unfinished items, until the next

    @property
    def workbench(self) -> Workbench:
        return workbench(self)

    @property
    def checklist(self) -> Checklist:
        return self.workbench.checklist

    @property
    def tones(self) -> Palette:
        return tones(self)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="step-body"):
            yield ListTable(id="items", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="detail-pane"):
                yield Static("", id="detail")
        yield Static("", id="progress")
        yield RichLog(id="log", max_lines=2000, markup=True, wrap=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.title = f"workbench · {STEP_TITLES[self.step]}"
        table = self.query_one("#items", DataTable)
        table.add_column("", key="icon", width=1)
        table.add_column("item", key="item")
        table.add_column("status", key="status", width=8)
        table.add_column("score", key="score", width=5)
        table.loading = True
        table.focus()
        self.query_one("#log", RichLog).border_title = "log"
        self.query_one("#progress", Static).display = False
        self.set_interval(0.5, self._show_progress)
        if self.workbench.loaded:
            self.update_from_checklist()

    def _show_progress(self) -> None:
        line = self.query_one("#progress", Static)
        line.display = self.running
        if self.running:
            what = " · ".join(p for p in (self.current_item, self.phase[:80]) if p)
            elapsed = time.monotonic() - self.began
            cancelling = "cancelling…" if self.cancel_event.is_set() else "Esc cancels"
            # The time and the way out first: a long phase (a path) is cut at the edge, never
            # the hint a person needs to stop it.
            busy = f"[b {self.tones.busy}]⟳[/]"
            line.update(f"{busy} {elapsed:.0f} s · {cancelling} · {escape(what)}")

    # --- showing ---------------------------------------------------------------------------

    def update_from_checklist(self) -> None:
        views = self.workbench.views
        table = self.query_one("#items", DataTable)
        table.loading = False
        if table.row_count == 0:
            for item in self.checklist.items:
                if item.step == self.step:
                    gate = " ⛨" if item.gate else ""
                    table.add_row("…", f"{item.id}{gate}", "…", "", key=item.id)
        for view in views.values():
            if view.item.step == self.step and not self._running_now(view.item.id):
                self._show_row(view)
        self._show_detail()

    def _running_now(self, item_id: str) -> bool:
        """The check running now keeps its mark while standings arrive for earlier ones."""
        running = self.running and item_id == self.current_item
        return running and item_id in self.run_ids and item_id not in self.finished_ids

    def _show_row(self, view: ItemView) -> None:
        table = self.query_one("#items", DataTable)
        if view.item.id in self.cancelled_ids:
            table.update_cell(view.item.id, "icon", f"[{self.tones.warn}]⊘[/]")
            table.update_cell(view.item.id, "status", f"[{self.tones.warn}]cancelled[/]")
            return
        status = view.status.value
        style = self.tones.status(status)
        table.update_cell(view.item.id, "icon", f"[{style}]{ICON[status]}[/]")
        label = f"[{style}]{status}[/]" + (f" [{self.tones.warn}]waived[/]" if view.waiver else "")
        table.update_cell(view.item.id, "status", label)
        table.update_cell(view.item.id, "score", f"{view.score:g}" if view.counted else "-")

    def selected_id(self) -> str | None:
        table = self.query_one("#items", DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value)

    def _show_detail(self) -> None:
        item_id = self.selected_id()
        views = self.workbench.views
        if item_id is None or item_id not in views:
            return
        view = views[item_id]
        item = view.item
        status = view.status.value
        cancelled = (
            [
                f"[{self.tones.warn}]⊘ cancelled: this run stopped before it answered; the "
                "result below is the last one stored (r runs it again).[/]"
            ]
            if item.id in self.cancelled_ids
            else []
        )
        lines = [
            f"[b]{escape(item.summary)}[/b]",
            f"[dim]{escape(item.id)} · {item.kind}{' · gate' if item.gate else ''}[/]",
            "",
            *cancelled,
            f"[{self.tones.status(status)}]{ICON[status]} {status}[/]  {escape(view.remark)}",
            "",
            f"[b]Question[/b]  {escape(item.question)}",
            f"[b]Why[/b]  {escape(item.why)}",
        ]
        if item.reference:
            lines.append(f"[dim]{escape(item.reference)}[/]")
        if view.evidence:
            lines += ["", "[b]Evidence[/b]", *(f"• {escape(e)}" for e in view.evidence[:20])]
        if view.waiver:
            lines += [
                "",
                f"[{self.tones.warn} b]Waived[/] by {escape(view.waiver.by)}: "
                + escape(view.waiver.reason),
            ]
        if view.status.value == "fail":  # a fix only for what was found wanting
            lines += ["", f"[b]How to fix[/b]  {escape(item.fix)}"]
        elif view.status.value != "pass":
            lines += ["", f"[b]Next[/b]  {escape(view.next_move)}"]
        if item.is_auto:
            lines += ["", "[dim]r runs this check, a runs all of this step's checks.[/]"]
        else:
            lines += ["", "[dim]y / n / x answers yes / no / not applicable.[/]"]
        drawn = picture(item.id, view.result, self.checklist.manifest.serve.memory_bytes)
        text = Text.from_markup("\n".join(lines))
        self.query_one("#detail", Static).update(Group(drawn, text) if drawn else text)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def log_line(self, text: str) -> None:
        self.query_one("#log", RichLog).write(text)

    # --- which actions apply ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action != "back_or_cancel" and not self.workbench.loaded:
            return None
        review = self.workbench.reviewer is not None
        if action in self.EDITING_ACTIONS and review:
            return False
        if action == "sign_off":
            return review
        if action == "confirm":
            return self.checklist.navigator is not None
        return True

    # --- running checks --------------------------------------------------------------------

    def action_run_selected(self) -> None:
        item_id = self.selected_id()
        if item_id is None:
            return
        if not self.checklist.item(item_id).is_auto:
            self.notify("This item is answered by a person: y, n or x.", severity="warning")
            return
        self.start_checks([item_id])

    def action_run_all(self) -> None:
        self.start_checks(self.checklist.auto_ids(self.step))

    def begin(self, text: str) -> bool:
        """Start one long action (checks, snapshot, release, push) unless one is running."""
        if self.running:
            self.notify("Something is already running; Escape cancels it.", severity="warning")
            return False
        self.cancel_event = threading.Event()
        self.running = True
        self.began = time.monotonic()
        self.current_item, self.phase = text, ""
        self.log_line(f"[b]{text}[/b]")
        self._show_progress()
        return True

    def start_checks(self, ids: list[str]) -> None:
        if not ids:
            self.notify("This step has no automatic checks.")
            return
        if self.begin(f"running {len(ids)} check{'s' if len(ids) > 1 else ''}"):
            self.run_ids, self.finished_ids = list(ids), set()
            previously_cancelled, self.cancelled_ids = self.cancelled_ids, set()
            for view in self.workbench.views.values():
                if view.item.id in previously_cancelled:
                    self._show_row(view)
            self.run_checks(ids)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="checks",
        description="running checks",
    )
    def run_checks(self, ids: list[str]) -> None:
        batcher = LogBatcher(self)

        def log(line: str) -> None:
            self.phase = line  # the check's own lines are its phases (tools' output is detail)
            batcher(line)

        ctx = CheckContext(
            self.checklist.manifest, cancel=self.cancel_event, log=log, detail=batcher
        )
        cancelled = False
        for event in self.checklist.run(ids, ctx):
            batcher.flush()
            if isinstance(event, ItemStarted):
                self.post_message(CheckStarted(event.item_id))
            elif isinstance(event, ItemFinished):
                self.post_message(CheckFinished(event.item_id, event.view))
                self.app.post_message(StandingChanged(self.checklist.standing()))
            elif isinstance(event, RunCancelled):
                cancelled = True
        batcher.flush()
        self.post_message(ChecksDone(cancelled))

    @on(CheckStarted)
    def _started(self, message: CheckStarted) -> None:
        self.current_item, self.phase = message.item_id, ""
        table = self.query_one("#items", DataTable)
        table.update_cell(message.item_id, "icon", f"[{self.tones.busy}]⟳[/]")
        table.update_cell(message.item_id, "status", f"[{self.tones.busy}]running[/]")
        self.log_line(f"→ {message.item_id}")

    @on(CheckLog)
    def _log(self, message: CheckLog) -> None:
        for line in message.lines:
            self.log_line(f"  [dim]{escape(line)}[/]")

    @on(CheckFinished)
    def _finished(self, message: CheckFinished) -> None:
        self.finished_ids.add(message.item_id)
        self._show_row(message.view)  # the app's standing follows (StandingChanged)
        status = message.view.status.value
        self.log_line(f"[{self.tones.status(status)}]{ICON[status]} {message.item_id}: {status}[/]")
        self._show_detail()

    @on(ChecksDone)
    def _done(self, message: ChecksDone) -> None:
        self.running = False
        self._show_progress()
        if message.cancelled:
            # What this run did not answer says so, instead of showing the last result as if
            # this run had made it.
            self.cancelled_ids = {i for i in self.run_ids if i not in self.finished_ids}
            self.log_line(
                f"[{self.tones.warn}]cancelled after {time.monotonic() - self.began:.1f} s: "
                f"{len(self.cancelled_ids)} item(s) not answered[/]"
            )
            for view in self.workbench.views.values():
                if view.item.id in self.cancelled_ids:
                    self._show_row(view)
            self._show_detail()
        self.workbench.reload_checklist()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        # Worker messages do not bubble: hand failures to the app's one handler.
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.running = False
        if event.state == WorkerState.ERROR:
            self.workbench.worker_failed(event.worker, self)

    def show_failure(self, text: str) -> None:
        """The app's failure handler writes a failed worker's error into this step's log."""
        self.log_line(f"[{self.tones.bad}]error: {escape(text)}[/]")

    def action_back_or_cancel(self) -> None:
        if self.running:
            self.cancel_event.set()
            self.log_line(f"[{self.tones.warn}]cancelling: the running check finishes its step[/]")
            self.notify("Cancelling the running checks.", severity="warning")
            return
        self.app.pop_screen()

    # --- people's answers ------------------------------------------------------------------

    def _manual_selected(self) -> str | None:
        item_id = self.selected_id()
        if item_id is None:
            return None
        if self.checklist.item(item_id).is_auto:
            self.notify("The tool checks this item: r runs it (w waives it).", severity="warning")
            return None
        return item_id

    def action_answer(self, answer: str | None = None) -> None:
        """The answer dialog; `answer` is the one a key chose (None, from Space: none)."""
        item_id = self._manual_selected()
        if item_id is None:
            return

        def done(answered: tuple[str, str] | None) -> None:
            if answered is not None:
                self._apply(lambda c: c.tick(item_id, *answered))

        view = self.workbench.views.get(item_id)
        open_answer(self, self.checklist, view, item_id, answer, done)

    def action_tick_yes(self) -> None:
        self.action_answer("yes")

    def action_tick_no(self) -> None:
        self.action_answer("no")

    def action_tick_na(self) -> None:
        self.action_answer("n/a")

    def action_waive(self) -> None:
        item_id = self.selected_id()
        if item_id is None:
            return

        def done(reason: str | None) -> None:
            if reason:
                self._apply(lambda c: c.waive(item_id, reason))

        self.app.push_screen(
            TextPrompt(
                f"Waive {item_id}: why is it safe to go on without it?",
                "the reason goes into the release manifest",
                min_length=10,
            ),
            done,
        )

    def action_confirm(self) -> None:
        item_id = self._manual_selected()
        navigator = self.checklist.navigator
        if item_id is not None and navigator:
            self._apply(lambda c: c.confirm(item_id, navigator))

    def action_sign_off(self) -> None:
        self.workbench.action_sign_off()

    def _apply(self, change: Callable[[Checklist], object]) -> None:
        """Tick, waive or confirm in a worker; the app redraws with the standing it answers."""
        self.workbench.change_checklist(change)
