"""`workbench init`: start a project's manifest, or copy an example project."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from commands.output import console

if TYPE_CHECKING:
    from workbench.project.scaffold import Guess

app = typer.Typer()


@app.command("init")
def init(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="The model project folder (default: here; with --from-notebook, where the "
            "notebook's export_project puts it)."
        ),
    ] = None,
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
    from_notebook: Annotated[
        Path | None,
        typer.Option(
            "--from-notebook",
            help="Run this notebook in the model's kernel; its export_project call saves the "
            "project (into DIRECTORY when given).",
            dir_okay=False,
        ),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            help="With --from-notebook: the model environment's interpreter (default: the "
            ".venv of DIRECTORY, else of the notebook's folder).",
        ),
    ] = None,
) -> None:
    """Write a starter workbench.yaml (guessing the model file and .venv), copy an example,
    or make a project from a notebook."""
    from workbench.project import scaffold as project_init

    if from_notebook is not None:
        _from_notebook(from_notebook, directory, python)
        return
    directory = directory or Path(".")
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
    _say_guessed(target, guess)


def _from_notebook(notebook: Path, directory: Path | None, python: str | None) -> None:
    """Run the notebook in the model's kernel, then infer the contract of what it saved."""
    from commands.schema import infer
    from workbench.project.manifest import load_manifest
    from workbench.project.notebook import notebook_interpreter, run_notebook

    interpreter = notebook_interpreter(notebook, directory, python)
    with console.status(f"Running {notebook.name} in {interpreter} ..."):
        exported = run_notebook(notebook, interpreter, directory)
    console.print(f"The notebook saved its model and held-out data into {exported.project}.")
    manifest = load_manifest(exported.project)
    if manifest.resolve(manifest.schema.request).exists():
        console.print("  schemas kept as they are (`workbench schema infer --force` re-infers)")
    else:
        infer(project=exported.project, sample=exported.sample, target=exported.target)
    console.print(
        f"Next: [bold]cd {exported.project} && git init && git add . && git commit -m model "
        "&& workbench snapshot && workbench serve --test[/]"
    )


def _say_guessed(target: Path, guess: Guess) -> None:
    console.print(f"Wrote {target}.")
    console.print(f"  name      {guess.name}")
    console.print(
        f"  model     {escape(guess.artifact or '(none found: set model.artifact)')} "
        f"{escape(f'[{guess.flavor}]')}"
    )
    if guess.predictor:
        also = f", with {', '.join(guess.code)}" if guess.code else ""
        console.print(f"  predictor {escape(guess.predictor + also)} (found in its code)")
    if guess.payload:
        console.print(
            f"  examples  {guess.payload} ({len(guess.payload_records)} record(s)) copied "
            "into schema/examples"
        )
    for passed in guess.not_models:
        taken, _, why = passed.partition(": ")
        if taken == guess.artifact:  # no candidate loads: the first is taken all the same
            console.print(
                f"  [yellow]warning[/]: {escape(taken)} does not load in {guess.python}: "
                f"{escape(why.removeprefix('does not load: '))}. Fix: make it load there (or "
                "set model.artifact to the file that does), then `workbench snapshot`."
            )
        else:
            console.print(f"  [dim]passed over {escape(passed)}[/]")
    if guess.gitignored:
        console.print(
            f"  .gitignore  added {escape(', '.join(guess.gitignored))} (the workbench's "
            "scratch, environments and caches: never part of a release)"
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
