"""`workbench init`: start a project's manifest, or copy an example project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from commands.output import console

app = typer.Typer()


@app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="The model project folder.")] = Path("."),
    example: Annotated[
        str | None,
        typer.Option(
            "--example", help="Copy a complete example project (e.g. iris) into DIRECTORY."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing manifest.")] = False,
    registry: Annotated[
        str | None,
        typer.Option("--registry", help="The image repository to push to, host[:port]/path."),
    ] = None,
    venv: Annotated[
        bool,
        typer.Option(
            "--venv/--no-venv",
            help="With --example: also create the example's own .venv from its requirements.txt.",
        ),
    ] = False,
) -> None:
    """Write a starter workbench.yaml (guessing the model file and .venv), or copy an example."""
    from workbench.project import scaffold as project_init

    if example is not None:
        dest = project_init.copy_example(example, directory, force=force)
        if registry:
            project_init.set_registry(dest, registry)
        console.print(f"Copied the [bold]{example}[/] example to {dest}.")
        if venv:
            with console.status("Creating the example's environment (.venv) ..."):
                interpreter = project_init.make_example_env(dest)
            console.print(f"Environment ready: {interpreter}")
        console.print(f"Next: [bold]cd {dest} && workbench[/]")
        return
    if registry and not force and (directory / "workbench.yaml").exists():
        # An existing project: only where it pushes changes (the rest stays as written).
        project_init.set_registry(directory, registry)
        console.print(f"{directory / 'workbench.yaml'}: registry: {registry}")
        console.print("Commit it with the project's other changes; `workbench push` uses it.")
        return
    target, guess = project_init.init_project(directory, force=force)
    if registry:
        project_init.set_registry(target.parent, registry)
    console.print(f"Wrote {target}.")
    console.print(f"  name      {guess.name}")
    console.print(
        f"  model     {guess.artifact or '(none found: set model.artifact)'} [{guess.flavor}]"
    )
    if guess.python:
        console.print(f"  python    {guess.python}")
    else:
        console.print(
            "  [yellow]python    no environment found[/] (no .venv/bin/python): create the "
            "model's environment (`python -m venv .venv`, then install its requirements) or "
            "set `python:`; the snapshot refuses until then"
        )
    console.print("Check it with [bold]workbench check[/] once you have edited it.")
