"""`workbench monitor`: the drift of a running image's traffic against its reference."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from commands.output import console

app = typer.Typer()


@app.command("monitor")
def monitor(
    url: Annotated[str, typer.Argument(help="the running image, e.g. http://127.0.0.1:8080")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    min_observations: Annotated[
        int, typer.Option("--min-observations", min=1, help="no verdict with fewer answered")
    ] = 100,
    watch: Annotated[float, typer.Option("--watch", min=0, help="PSI above it: watch")] = 0.1,
    drifted: Annotated[
        float, typer.Option("--drifted", min=0, help="PSI above it: drifted (exit 1)")
    ] = 0.25,
) -> None:
    """Drift of a running image: each input field's and the predictions' distribution since
    it started, against the reference its build recorded (PSI; above 0.25 drifted, exit 1;
    no verdict below 100 answered records)."""
    import json

    from commands.output import fail
    from workbench.steps.serve.drift import Thresholds, bars, window
    from workbench.steps.serve.drift import monitor as read_drift

    if watch >= drifted:
        fail(f"--watch ({watch:g}) must be below --drifted ({drifted:g}). Fix: e.g. 0.1 and 0.25.")
    thresholds = Thresholds(min_observations, watch, drifted)
    document, drifts = read_drift(url, thresholds)
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "window": window(document),
                    "thresholds": thresholds.__dict__,
                    "drift": [
                        {"what": d.what, "psi": round(d.psi, 4), "n": d.n, "verdict": d.verdict}
                        for d in drifts
                    ],
                }
            )
        )
    else:
        reference = document["reference"]
        console.print(
            f"reference: {reference.get('source')} ({reference.get('n')} records); "
            f"{thresholds.said()}"
        )
        console.print(f"window: {window(document)}")
        if not drifts:
            console.print("nothing answered yet: no traffic to compare.")
        colours = {"too few": "dim", "stable": "green", "watch": "yellow", "drifted": "red"}
        for d in drifts:
            console.print(
                f"[{colours[d.verdict]}]{d.verdict:>8}[/] {escape(d.what):<24} PSI {d.psi:6.3f}  "
                f"n={d.n}  now {bars(d.actual)}  ref {bars(d.expected)}"
                + (f"  ({d.said})" if d.verdict == "too few" else "")
            )
    if any(d.verdict == "drifted" for d in drifts):
        raise typer.Exit(1)
