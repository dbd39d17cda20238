"""`workbench demo`: the iris example through all five steps, on real parts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

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
    """The iris example through snapshot, schema, serve, tag and push (TUI or headless)."""
    from workbench.demo import parts
    from workbench.demo import tour as demo_steps

    manifest = demo_steps.prepare(directory, lambda text: console.print(f"[dim]· {text}[/]"))
    if headless is None:
        headless = not (sys.stdin.isatty() and sys.stdout.isatty())
    with parts.registry() as registry:
        console.print(f"[dim]· a registry for this run at {registry.host}[/]")
        manifest = demo_steps.use_registry(manifest, registry)
        if not headless:
            from commands.tui import open_tui

            open_tui(manifest.root)
            return
        for line in demo_steps.run_headless(manifest):
            console.print(escape(line))
    console.print(
        f"The project is in {manifest.root}; open it with [bold]workbench -p {manifest.root}[/]."
    )
