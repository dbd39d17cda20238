"""Drift of a running image, in the TUI: each input field's and the predictions'
distribution since it started against the build's reference, with its PSI and a small
picture of both (the same reading as `workbench monitor URL`)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label

from screens.context import tones
from workbench.kernel.errors import WorkbenchError

TONES = {"too few": "muted", "stable": "ok", "watch": "warn", "drifted": "bad"}


class MonitorScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss_screen", "Close", id="monitor.close"),
        Binding("f5", "read", "Read again", id="monitor.read"),
    ]

    def __init__(self, url: str = "http://127.0.0.1:8080") -> None:
        super().__init__()
        self.url = url

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="monitor"):
            yield Label("Drift of a running image", classes="dialog-title")
            yield Input(value=self.url, id="monitor-url")
            yield Label("Enter reads it; F5 again; Escape closes.", id="monitor-said")
            yield DataTable(id="monitor-table", cursor_type="row")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Read", variant="primary", id="ok")
                yield Button("Close", id="cancel")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("", "field", "PSI", "n", "now", "at build")
        self.query_one(Input).focus()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.action_read()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_read()
        else:
            self.dismiss(None)

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)

    def action_read(self) -> None:
        self.url = self.query_one(Input).value.strip()
        self.query_one("#monitor-said", Label).update(f"reading {self.url} …")
        self._read(self.url)

    @work(thread=True, exclusive=True, exit_on_error=False, group="monitor")
    def _read(self, url: str) -> None:
        from workbench.steps.serve.drift import Thresholds, bars, monitor, window

        try:
            document, drifts = monitor(url)
        except WorkbenchError as exc:
            self.app.call_from_thread(self._said, exc.paragraph, [])
            return
        reference = document["reference"]
        said = (
            f"reference: {reference.get('source')} ({reference.get('n')} records); "
            f"{Thresholds().said()}; {window(document)}"
            if drifts
            else "nothing answered yet: no traffic to compare"
        )
        rows = [
            (
                f"[{getattr(tones(self), TONES[d.verdict])}]{escape(d.said)}[/]",
                d.what,
                f"{d.psi:.3f}",
                str(d.n),
                bars(d.actual),
                bars(d.expected),
            )
            for d in drifts
        ]
        self.app.call_from_thread(self._said, said, rows)

    def _said(self, text: str, rows: list[tuple[Any, ...]]) -> None:
        self.query_one("#monitor-said", Label).update(text)
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(*row)
