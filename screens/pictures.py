"""Numbers that are better seen: Rich bars (`rich.bar.Bar`) for what the serve test
measured (latency percentiles, memory against its limit, image size) and for the
quality score against its bound, under an item's detail; and a score bar per step card."""

from __future__ import annotations

from typing import Any

from rich.bar import Bar
from rich.console import RenderableType
from rich.table import Table

WIDTH = 24


def _table() -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(width=WIDTH)
    table.add_column(no_wrap=True)
    return table


def picture(item_id: str, details: dict[str, Any], memory_bytes: int) -> RenderableType | None:
    """A small chart of an item's measured details, or None when it has none to draw."""
    if item_id == "serve.performance" and "p99_ms" in details:
        table = _table()
        top = max(float(details.get("p99_ms") or 0), 1e-9)
        for name in ("p50_ms", "p95_ms", "p99_ms"):
            value = float(details.get(name) or 0)
            table.add_row(name[:3], Bar(top, 0, value, color="cyan"), f"{value:.2f} ms")
        peak = float(details.get("peak_memory_mb") or 0)
        limit = memory_bytes / 1024**2
        if limit:
            table.add_row(
                "mem", Bar(limit, 0, peak, color="magenta"), f"{peak:.0f} of {limit:.0f} MB"
            )
        return table
    if item_id == "serve.quality" and "value" in details and details.get("bound") is not None:
        table = _table()
        value, bound = float(details["value"]), float(details["bound"])
        top = max(value, bound) * 1.1 or 1.0
        table.add_row("score", Bar(top, 0, value, color="green"), f"{value:.4g}")
        table.add_row("bound", Bar(top, 0, bound, color="yellow"), f"{bound:g}")
        return table
    if item_id == "serve.image-built" and details.get("size_bytes"):
        table = _table()
        size = float(details["size_bytes"]) / 1e6
        table.add_row("image", Bar(max(size, 1), 0, size, color="blue"), f"{size:.0f} MB")
        return table
    return None


def score_bar(fraction: float, colour: str = "green") -> RenderableType:
    return Bar(1.0, 0, max(0.0, min(1.0, fraction)), width=16, color=colour, bgcolor="grey23")
