"""A step as an interactive checklist: items, their detail, running checks, ticking.

One generic screen for every step; later steps specialise it. Checks run in a
thread worker (the interface never freezes) and Escape cancels them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, RichLog, Static
from textual.worker import Worker, WorkerState

from screens import shown
from screens.answering import AnsweringScreen
from screens.command_log import CommandPane
from screens.context import tones
from screens.item_detail import show_detail
from screens.item_filter import FilterBox, matches
from screens.messages import (
    CheckFinished,
    CheckLog,
    ChecksDone,
    CheckStarted,
    PhaseStarted,
    StandingChanged,
)
from screens.progress import LogBatcher
from screens.tables import ListTable
from screens.theme import Palette
from workbench.checklist.checks import CheckContext
from workbench.checklist.definitions import STEP_TITLES
from workbench.checklist.engine import ItemFinished, ItemStarted, ItemView, RunCancelled
from workbench.checklist.symbols import ICON


class StepScreen(AnsweringScreen):
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
        Binding("slash", "filter", "Filter", id="step.filter", show=False),
    ]
    AUTO_FOCUS = "#items"  # the checklist takes the keys, never the hidden filter field
    # Actions that change the project: disabled in review mode. Steps add their own.
    EDITING_ACTIONS: ClassVar[frozenset[str]] = frozenset(
        {"run_selected", "run_all", "tick_yes", "tick_no", "tick_na", "waive", "confirm"}
    )

    def __init__(self, step: str) -> None:
        super().__init__(name=step)
        self.step = step
        self.cancel_event = threading.Event()
        self.running = False
        # What runs now, for the progress line: the action, the item (or stage) it is at, the
        # phase (the last line the check logged; set from the worker thread), when it began.
        self.doing = ""
        self.current_item = ""
        self.phase = ""
        self.began = 0.0
        self.run_ids: list[str] = []
        self.finished_ids: set[str] = set()
        # Items a long check (the serve test) answered on its way, stored when it ends.
        self.answered_ids: set[str] = set()
        self.item_filter = ""  # `/`: the words an item must hold to be listed
        self.cancelled_ids: set[str] = set()  # the last run's unfinished items, until the next

    @property
    def tones(self) -> Palette:
        return tones(self)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="step-body"):
            with Vertical(id="items-pane"):
                yield FilterBox(id="filter-box")
                yield ListTable(id="items", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="detail-pane"):
                yield Static("", id="detail")
        yield Static("", id="progress")
        yield RichLog(id="log", max_lines=2000, markup=True, wrap=True)
        yield CommandPane(id="commands")  # `L` swaps it for the log
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
        self.query_one(FilterBox).shown(False)
        self.set_interval(0.5, self._show_progress)
        if self.workbench.loaded:
            self.update_from_checklist()

    def _show_progress(self) -> None:
        line = self.query_one("#progress", Static)
        line.display = self.running
        if self.running:
            said = (self.doing, self.current_item, self.phase[:80])
            what = " · ".join(p for p in dict.fromkeys(said) if p)
            elapsed = f"{time.monotonic() - self.began:.0f} s"
            cancelling = "cancelling…" if self.cancel_event.is_set() else "Esc cancels"
            # The time and the way out first: a long phase (a path) is cut at the edge, never
            # the hint a person needs to stop it. One line high: no layout of the screen.
            said_now = f"[b {self.tones.busy}]⟳[/] {elapsed} · {cancelling} · {escape(what)}"
            shown.show(line, said_now, layout=False)

    # --- showing ---------------------------------------------------------------------------

    def update_from_checklist(self) -> None:
        table = next(iter(self.query("#items").results(DataTable)), None)
        if table is None or not table.columns:
            return  # a redraw before this screen set its table up: its on_mount draws it
        table.loading = False
        if table.row_count == 0:
            self._fill_rows()
        for view in self.workbench.views.values():
            if view.item.step == self.step and not self._running_now(view.item.id):
                self._show_row(view)
        self._show_detail()

    def _fill_rows(self) -> None:
        """The step's items that pass the filter (`/`), in order; the cursor keeps its item."""
        table = self.query_one("#items", DataTable)
        kept = self.selected_id()
        table.clear()
        views = self.workbench.views
        for item in self.checklist.items:
            if item.step == self.step and matches(item, views.get(item.id), self.item_filter):
                gate = " ⛨" if item.gate else ""
                table.add_row("…", f"{item.id}{gate}", "…", "", key=item.id)
        if kept is not None and kept in table.rows:
            table.move_cursor(row=table.get_row_index(kept))

    def select_item(self, item_id: str) -> None:
        """Put the cursor on an item, clearing a filter that hides it."""
        table = self.query_one("#items", DataTable)
        if item_id not in table.rows:
            self._set_filter("")
        if item_id in table.rows:
            table.move_cursor(row=table.get_row_index(item_id))

    def action_filter(self) -> None:
        self.query_one(FilterBox).shown(True)
        self.query_one("#item-filter", Input).focus()

    def _set_filter(self, typed: str) -> None:
        self.item_filter = typed
        box = self.query_one("#item-filter", Input)
        if not typed:
            self.query_one(FilterBox).shown(False)
            with box.prevent(Input.Changed):
                box.value = ""
        self._fill_rows()
        for view in self.workbench.views.values():
            if view.item.step == self.step:  # rows filtered out are skipped
                self._show_row(view)
        for item_id in self.answered_ids - self.finished_ids:
            self._mark(item_id, "…", "dim", "answered")
        if self._running_now(self.current_item):
            self._mark(self.current_item, "⟳", self.tones.busy, "running")
        self._show_detail()

    @on(Input.Changed, "#item-filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        self._set_filter(event.value)
        self.query_one(FilterBox).shown(True)  # emptied, it stays until Esc or Enter

    @on(Input.Submitted, "#item-filter")
    def _filter_kept(self, _: Input.Submitted) -> None:
        if not self.item_filter:
            self.query_one(FilterBox).shown(False)
        self.query_one("#items", DataTable).focus()

    def _running_now(self, item_id: str) -> bool:
        """The check running now (and what a long one answered on its way) keeps its mark while
        standings arrive for earlier ones."""
        marked = item_id == self.current_item or item_id in self.answered_ids
        ours = item_id in self.run_ids and item_id not in self.finished_ids
        return self.running and marked and ours

    def _show_row(self, view: ItemView) -> None:
        table = self.query_one("#items", DataTable)
        if view.item.id not in table.rows:
            return  # filtered out (`/`)
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
        show_detail(
            self.query_one("#detail", Static),
            views[item_id],
            self.tones,
            cancelled=item_id in self.cancelled_ids,
            memory_bytes=self.checklist.manifest.serve.memory_bytes,
        )

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
        """Start one long action (checks, snapshot, release, push) unless one is running, or
        the app is quitting."""
        if self.workbench.quitting:
            return False
        if self.running:
            self.notify("Something is already running; Escape cancels it.", severity="warning")
            return False
        self.cancel_event = threading.Event()
        self.running = True
        self.began = time.monotonic()
        self.doing, self.current_item, self.phase = text, "", ""
        self.log_line(f"[b]{text}[/b]")
        self._show_progress()
        return True

    def start_checks(self, ids: list[str]) -> None:
        if not ids:
            self.notify("This step has no automatic checks.")
            return
        if self.begin(f"running {len(ids)} check{'s' if len(ids) > 1 else ''}"):
            self.run_ids, self.finished_ids, self.answered_ids = list(ids), set(), set()
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
        ctx = CheckContext(
            self.checklist.manifest,
            cancel=self.cancel_event,
            log=self.phase_log(batcher),
            detail=batcher,
            phase=self.phase_started,
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

    def phase_started(self, what: str) -> None:
        """From a worker: the long action is at `what` now (an item id, or a stage)."""
        self.post_message(PhaseStarted(what))

    def phase_log(self, batcher: LogBatcher) -> Callable[[str], None]:
        """A worker's log: each line is the running row's phase (tools' output is detail)."""

        def log(line: str) -> None:
            self.phase = line
            batcher(line)

        return log

    @on(CheckStarted)
    def _started(self, message: CheckStarted) -> None:
        self.current_item, self.phase = message.item_id, ""
        self._mark(message.item_id, "⟳", self.tones.busy, "running")
        self.log_line(f"→ {message.item_id}")

    @on(PhaseStarted)
    def _phase_started(self, message: PhaseStarted) -> None:
        """A long check moved on: the running row is the item it answers now; the one it
        left is answered (stored with the others when the check ends)."""
        left, self.current_item, self.phase = self.current_item, message.said, ""
        if left != message.what and left in self.run_ids and left not in self.finished_ids:
            self.answered_ids.add(left)
            self._mark(left, "…", "dim", "answered")
        if message.what in self.run_ids and message.what not in self.finished_ids:
            self._mark(message.what, "⟳", self.tones.busy, "running")
        self._show_progress()

    def _mark(self, item_id: str, icon: str, style: str, status: str) -> None:
        table = self.query_one("#items", DataTable)
        if item_id not in table.rows:
            return  # filtered out (`/`)
        table.update_cell(item_id, "icon", f"[{style}]{icon}[/]")
        table.update_cell(item_id, "status", f"[{style}]{status}[/]")

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
        if self.query_one(FilterBox).display:  # Esc first clears the filter
            self._set_filter("")
            self.query_one("#items", DataTable).focus()
            return
        if self.running:
            self.cancel_event.set()
            self.log_line(f"[{self.tones.warn}]cancelling: the running check finishes its step[/]")
            self.notify("Cancelling the running checks.", severity="warning")
            return
        self.app.pop_screen()
