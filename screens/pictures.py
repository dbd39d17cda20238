"""Numbers that are better seen: Rich bars (`rich.bar.Bar`) for what the serve test
measured (latency percentiles, memory against its limit, image size) and for the
quality score against its bound, under an item's detail; and a score bar per step card."""

from __future__ import annotations

from rich.bar import Bar
from rich.console import RenderableType
from rich.table import Table

from workbench.checklist.checks import HasDetails
from workbench.kernel.errors import WorkbenchError
from workbench.steps.serve.report import (
    Figures,
    QualityFigures,
    built_image,
    quality_figures,
    serve_figures,
)

WIDTH = 24


def _table() -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(width=WIDTH)
    table.add_column(no_wrap=True)
    return table


def picture(item_id: str, result: HasDetails | None, memory_bytes: int) -> RenderableType | None:
    """A small chart of what an item measured (its typed report), or None when it has none
    to draw; a result that does not read as its report draws nothing (its evidence says
    what it says)."""
    try:
        if item_id == "serve.performance" and (figures := serve_figures(result)):
            return _latency_and_memory(figures, memory_bytes)
        if item_id == "serve.quality" and (quality := quality_figures(result)):
            return _score(quality) if quality.bound is not None else None
        if item_id == "serve.image-built" and (image := built_image(result)) and image.size_mb:
            table = _table()
            size = image.size_mb
            table.add_row("image", Bar(max(size, 1), 0, size, color="blue"), f"{size:.0f} MB")
            return table
    except WorkbenchError:
        return None
    return None


def _latency_and_memory(figures: Figures, memory_bytes: int) -> Table:
    table = _table()
    top = max(figures.p99_ms, 1e-9)
    for name, value in (("p50", figures.p50_ms), ("p95", figures.p95_ms), ("p99", figures.p99_ms)):
        table.add_row(name, Bar(top, 0, value, color="cyan"), f"{value:.2f} ms")
    peak = figures.peak_memory_mb or 0.0
    limit = memory_bytes / 1024**2
    if limit:
        table.add_row("mem", Bar(limit, 0, peak, color="magenta"), f"{peak:.0f} of {limit:.0f} MB")
    return table


def _score(quality: QualityFigures) -> Table:
    assert quality.bound is not None
    table = _table()
    value, bound = quality.value, quality.bound
    top = max(value, bound) * 1.1 or 1.0
    table.add_row("score", Bar(top, 0, value, color="green"), f"{value:.4g}")
    table.add_row("bound", Bar(top, 0, bound, color="yellow"), f"{bound:g}")
    return table


def score_bar(fraction: float, colour: str = "green") -> RenderableType:
    return Bar(1.0, 0, max(0.0, min(1.0, fraction)), width=16, color=colour, bgcolor="grey23")
