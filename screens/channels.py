"""The deployed channels, live (`o`): every replica read every few seconds, the same
figures as `workbench status` (version and digest, replicas healthy of desired, requests
per second, 5xx share, p50/p99, drift), with the last readings as sparklines."""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from screens.context import tones
from workbench.kernel.errors import WorkbenchError

EVERY = 3.0  # seconds between readings
HISTORY = 30


def _figure(value: float | None, form: str) -> str:
    return "-" if value is None else format(value, form)


class ChannelsScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss_screen", "Close", id="channels.close"),
        Binding("f5", "read", "Read now", id="channels.read"),
    ]

    def __init__(self, manifest: Any, channels: list[Any] | None = None) -> None:
        """The swarm's channels of the project; or `channels` (`status.url_channel`)."""
        super().__init__()
        self.manifest = manifest
        self.channels: list[Any] | None = channels
        self.before: dict[str, Any] = {}
        self.history: dict[str, dict[str, deque[float | None]]] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="channels"):
            yield Label("Deployed channels", classes="dialog-title")
            yield Label("reading every replica …", id="channels-said")
            yield DataTable(id="channels-table", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("channel", "replica", "version", "state", "rps", "5xx", "p99 ms")
        table.add_column("drift / history")
        self.action_read()
        self.set_interval(EVERY, self.action_read)

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)

    def action_read(self) -> None:
        self._read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="channels")
    def _read(self) -> None:
        from workbench.steps.push import status
        from workbench.steps.serve.drift import Thresholds

        try:
            if self.channels is None:
                self.channels = status.swarm_channels(self.manifest)
            shown = []
            for channel in self.channels:
                after = channel.read()
                shown.append(
                    status.figures(channel, self.before.get(channel.name, []), after, Thresholds())
                )
                self.before[channel.name] = after
        except WorkbenchError as exc:
            self.app.call_from_thread(self._said, exc.paragraph, [])
            return
        said = (
            f"{len(shown)} channel(s) deployed to the swarm; read every {EVERY:g} s (F5 now)"
            if shown
            else "no channel is deployed to a swarm (`workbench deploy --channel C`)"
        )
        self.app.call_from_thread(self._said, said, self._rows(shown))

    def _rows(self, shown: list[Any]) -> list[tuple[str, ...]]:
        from workbench.steps.push.status import sparkline

        palette, rows = tones(self), list[tuple[str, ...]]()
        for f in shown:
            past = self.history.setdefault(
                f.name, {k: deque[float | None](maxlen=HISTORY) for k in ("rps", "errors", "p99")}
            )
            past["rps"].append(f.rps)
            past["errors"].append(f.error_rate)
            past["p99"].append(f.p99_ms)
            tone = palette.ok if f.healthy >= f.desired else palette.bad
            drift = ", ".join(f"{d.what} {d.said}" for d in sorted(f.drift, key=lambda d: -d.psi))
            rows.append(
                (
                    escape(f.channel),
                    f"[{tone}]{f.healthy}/{f.desired} healthy[/]",
                    escape(f"{f.version} {f.digest[:19]}"),
                    "",
                    f"{_figure(f.rps, '.1f')} {sparkline(list(past['rps']))}",
                    f"{_figure(f.error_rate, '.1%')} {sparkline(list(past['errors']))}",
                    f"{_figure(f.p99_ms, '.1f')} {sparkline(list(past['p99']))}",
                    escape(drift[:80] or "no traffic counted yet"),
                )
            )
            for r in f.replicas:
                state = r.state if r.answering else f"[{palette.bad}]{escape(r.said[:60])}[/]"
                rows.append(
                    (
                        "",
                        r.replica,
                        escape(r.version or ""),
                        state,
                        _figure(r.rps, ".1f"),
                        _figure(r.error_rate, ".1%"),
                        _figure(r.p99_ms, ".1f"),
                        "",
                    )
                )
        return rows

    def _said(self, text: str, rows: list[tuple[str, ...]]) -> None:
        self.query_one("#channels-said", Label).update(escape(text))
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            table.add_row(*row)
