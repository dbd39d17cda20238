"""The push in a framed panel: every layer the engine reports, its status, a bar, its size
and the speed it goes at, and a total line; fed by the push worker's `LayerUpdate`s
(batched: one per layer replaces the last)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

DONE = ("Pushed", "Layer already exists", "Mounted from")


def megabytes(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


@dataclass
class Layer:
    started: float
    status: str = ""
    current: int = 0
    total: int = 0

    @property
    def done(self) -> bool:
        return self.status.startswith(DONE)

    def speed(self, now: float) -> float:
        elapsed = now - self.started
        return self.current / elapsed if elapsed > 0.2 and self.current else 0.0


class PushPanel(Static):
    DEFAULT_CSS = """
    PushPanel {
        height: auto;
        max-height: 12;
        border: round $primary;
        border-title-align: left;
        padding: 0 1;
        display: none;
    }
    PushPanel.-active {
        display: block;
    }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.pushed_layers: dict[str, Layer] = {}
        self.clock = time.monotonic  # the speeds' clock (a test's own makes them fixed)

    def start(self, title: str) -> None:
        """A new push: no layers yet, the title says what goes where."""
        self.pushed_layers = {}
        self.border_title = title
        self.add_class("-active")
        self.update("[dim]asking the engine to push ...[/]")

    def show(self, layer: str, status: str, current: int, total: int) -> None:
        new = layer not in self.pushed_layers
        entry = self.pushed_layers.get(layer) or self.pushed_layers.setdefault(
            layer, Layer(self.clock())
        )
        entry.status = status
        if total:
            entry.total = total
        entry.current = entry.total if entry.done and entry.total else current
        # A row per layer: the panel grows only with a new layer, the only time the screen
        # is laid out again (progress comes many times a second).
        self.update(self.render_layers(), layout=new)

    def render_layers(self) -> Group:
        now = self.clock()
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True)  # layer
        table.add_column(no_wrap=True, overflow="ellipsis", max_width=22)  # status
        table.add_column(ratio=1, min_width=6)  # bar
        table.add_column(no_wrap=True, justify="right")  # sizes and speed
        for name, entry in self.pushed_layers.items():
            sizes = f"{megabytes(entry.current)} / {megabytes(entry.total)}" if entry.total else ""
            speed = entry.speed(now)
            if speed and not entry.done:
                sizes += f"  {megabytes(speed)}/s"
            bar = ProgressBar(
                total=float(entry.total or 1),
                completed=float(entry.total or 1) if entry.done else float(entry.current),
            )
            table.add_row(name[:12], entry.status, bar, sizes)
        done = sum(entry.done for entry in self.pushed_layers.values())
        sent = sum(entry.current for entry in self.pushed_layers.values())
        total = sum(entry.total for entry in self.pushed_layers.values())
        summary = f"{done} of {len(self.pushed_layers)} layers done"
        if total:
            summary += f" · {megabytes(sent)} of {megabytes(total)}"
        return Group(table, Text(summary, style="dim", no_wrap=True, overflow="ellipsis"))
