"""`workbench status`: every deployed channel (or a list of URLs), read from each replica,
refreshed every few seconds with a short history; `--json` for one reading."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from commands.options import ProjectOption
from commands.output import console

app = typer.Typer()
HISTORY = 30  # readings kept for the sparklines


def _number(value: float | None, form: str) -> str:
    return "-" if value is None else format(value, form)


def _as_json(figures: Any) -> dict[str, Any]:
    document = asdict(figures)
    document["drift"] = [
        {"what": d.what, "psi": round(d.psi, 4), "n": d.n, "verdict": d.verdict, "said": d.said}
        for d in figures.drift
    ]
    return document


def _table(all_figures: list[Any], history: dict[str, dict[str, deque[float | None]]]) -> Table:
    from workbench.steps.push.status import sparkline

    table = Table(title=f"workbench status ({time.strftime('%H:%M:%S')})", expand=False)
    for column in ("channel", "replica", "version", "state", "rps", "5xx", "p50 ms", "p99 ms"):
        table.add_column(column)
    table.add_column("drift / history")
    for f in all_figures:
        past = history[f.name]
        colour = "green" if f.healthy >= f.desired else "red"
        worst = sorted(f.drift, key=lambda d: -d.psi)[:3]
        table.add_row(
            f"[bold]{escape(f.channel)}[/]",
            f"[{colour}]{f.healthy}/{f.desired} healthy[/]",
            escape(f"{f.version} {f.digest[:19]}"),
            "",
            _number(f.rps, ".1f") + f"  {sparkline(list(past['rps']))}",
            _number(f.error_rate, ".1%") + f"  {sparkline(list(past['errors']))}",
            _number(f.p50_ms, ".1f"),
            _number(f.p99_ms, ".1f") + f"  {sparkline(list(past['p99']))}",
            escape(", ".join(f"{d.what} {d.psi:.2f} {d.said}" for d in worst) or "no reference"),
        )
        for r in f.replicas:
            style = "" if r.answering else "red"
            table.add_row(
                "",
                r.replica,
                escape(r.version or ""),
                f"[{style}]{escape(r.state if r.answering else r.said)}[/]" if style else r.state,
                _number(r.rps, ".1f"),
                _number(r.error_rate, ".1%"),
                _number(r.p50_ms, ".1f"),
                _number(r.p99_ms, ".1f"),
                "",
            )
    return table


@app.command("status")
def status(
    urls: Annotated[
        list[str] | None, typer.Argument(help="replicas to read instead of the swarm channels")
    ] = None,
    channel: Annotated[
        list[str] | None, typer.Option("--channel", "-c", help="only this channel (repeat)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one reading, machine-readable")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.5, help="seconds between readings")
    ] = 2.0,
    count: Annotated[
        int, typer.Option("--count", min=1, help="readings before it stops (live view)")
    ] = 1800,
    min_observations: Annotated[
        int, typer.Option("--min-observations", min=1, help="no drift verdict with fewer")
    ] = 100,
    project: ProjectOption = Path("."),
) -> None:
    """How each deployed channel is doing, read from every replica's /metrics, /monitoring
    and /metadata: version and digest, replicas healthy of desired, requests per second,
    5xx share, p50/p99, drift per field; refreshed every --interval seconds with a short
    history (Ctrl-C stops). With URLs, those replicas instead of the swarm's. --json exits 1
    when a channel has fewer healthy replicas than desired."""
    from workbench.steps.push import status as reading
    from workbench.steps.serve.drift import Thresholds

    if urls:
        channels = [reading.url_channel(urls)]
    else:
        from workbench.project.manifest import load_manifest

        channels = reading.swarm_channels(load_manifest(project), channel)
        if not channels:
            console.print("no channel is deployed to a swarm (`workbench deploy --channel C`).")
            raise typer.Exit(1)
    thresholds = Thresholds(min_observations=min_observations)
    before = {c.name: c.read() for c in channels}
    if as_json:
        time.sleep(interval)
        out = [_as_json(reading.figures(c, before[c.name], c.read(), thresholds)) for c in channels]
        console.print_json(json.dumps({"interval": interval, "channels": out}))
        if any(c["healthy"] < c["desired"] for c in out):
            raise typer.Exit(1)  # for CI: a channel short of healthy replicas
        return
    _live(channels, before, thresholds, interval, count)


def _live(
    channels: list[Any], before: dict[str, Any], thresholds: Any, interval: float, count: int
) -> None:
    from rich.live import Live

    from workbench.steps.push import status as reading

    history = {
        c.name: {k: deque[float | None](maxlen=HISTORY) for k in ("rps", "errors", "p99")}
        for c in channels
    }
    with Live(console=console, auto_refresh=False) as live:
        for _ in range(count):  # bounded: --count readings, or Ctrl-C
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                break
            shown = []
            for c in channels:
                after = c.read()
                figures = reading.figures(c, before[c.name], after, thresholds)
                before[c.name] = after
                past = history[c.name]
                past["rps"].append(figures.rps)
                past["errors"].append(figures.error_rate)
                past["p99"].append(figures.p99_ms)
                shown.append(figures)
            live.update(_table(shown, history), refresh=True)
