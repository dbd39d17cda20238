"""`workbench demo`: the iris example through the workbench, on real parts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from commands.output import console

app = typer.Typer()


@app.command("demo")
def demo(
    directory: Annotated[Path, typer.Argument(help="Where to put the example project.")] = Path(
        "iris-demo"
    ),
    headless: Annotated[
        bool | None,
        typer.Option(
            "--headless/--tui",
            help="Run the steps without the TUI (default: when there is no terminal).",
        ),
    ] = None,
) -> None:
    """Run the iris example through the workbench (TUI with a terminal, headless without)."""
    from workbench import demo as demo_steps

    manifest = demo_steps.prepare(directory, lambda text: console.print(f"[dim]· {text}[/]"))
    if headless is None:
        headless = not (sys.stdin.isatty() and sys.stdout.isatty())
    if not headless:
        from commands.main import open_tui

        open_tui(manifest.root)
        return
    for line in demo_steps.run_headless(manifest):
        console.print(line)
