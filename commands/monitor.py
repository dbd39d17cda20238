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
) -> None:
    """Drift of a running image: each input field's and the predictions' distribution since
    it started, against the reference its build recorded (PSI; above 0.25 drifted, exit 1)."""
    import json

    from workbench.steps.serve.drift import MODERATE, bars
    from workbench.steps.serve.drift import monitor as read_drift

    document, drifts = read_drift(url)
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {"what": d.what, "psi": round(d.psi, 4), "n": d.n, "verdict": d.verdict}
                    for d in drifts
                ]
            )
        )
    else:
        reference = document["reference"]
        console.print(
            f"reference: {reference.get('source')} ({reference.get('n')} records); "
            f"PSI above {MODERATE:g} moderate, above 0.25 drifted"
        )
        if not drifts:
            console.print("nothing answered yet: no traffic to compare.")
        for d in drifts:
            colour = {"stable": "green", "moderate": "yellow", "drifted": "red"}[d.verdict]
            console.print(
                f"[{colour}]{d.verdict:>8}[/] {escape(d.what):<24} PSI {d.psi:6.3f}  "
                f"n={d.n}  now {bars(d.actual)}  ref {bars(d.expected)}"
            )
    if any(d.verdict == "drifted" for d in drifts):
        raise typer.Exit(1)
