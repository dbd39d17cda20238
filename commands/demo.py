"""`workbench demo`: the iris example through all five steps, on real parts."""

from __future__ import annotations

import shlex
import shutil
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
    for line in closing_lines(manifest.root, registry.host, installed_as()):
        console.print(line)


def installed_as() -> str:
    """This workbench as a person can type it: `workbench` when that is on PATH and is this
    one, else the path of this environment's script (`.venv/bin/workbench` in a clone)."""
    mine = Path(sys.executable).parent / "workbench"
    found = shutil.which("workbench")
    if found and mine.exists() and Path(found).resolve() == mine.resolve():
        return "workbench"
    if mine.exists():
        return str(mine.absolute())
    return "workbench"


def closing_lines(root: Path, registry: str, command: str) -> list[str]:
    """The demo's last words: where the project is, that this run's registry is gone and the
    command that points the project at yours, and the command that opens it, as typed."""
    where = shlex.quote(str(root.absolute()))
    lines = [
        f"The project is in {escape(where)}. This run's registry ({escape(registry)}) stopped "
        "with the demo; to push from the project again, point it at yours:",
        f"  [bold]{escape(command)} init {escape(where)} --registry HOST[:PORT]/PATH[/]",
    ]
    if command != "workbench":
        lines.append(
            "To type `workbench` alone, install it as a tool from this clone "
            "(`uv tool install --editable .` or `pipx install -e .`) or activate its "
            "environment (`source .venv/bin/activate`)."
        )
    lines.append(f"Open the project: [bold]{escape(command)} -p {escape(where)}[/]")
    return lines
