"""The `workbench` command: joins the command groups; bare `workbench` opens the TUI.

Heavy libraries (Textual, docker, git) are imported inside the functions that
need them, so `workbench --help` starts fast. The console entry point is
`commands.launch.run`, which opens the TUI without this module when the command
line asks for nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from commands import checklist as checklist_commands
from commands import demo as demo_commands
from commands import deploy as deploy_commands
from commands import init as init_commands
from commands import keys as keys_commands
from commands import monitor as monitor_commands
from commands import push as push_commands
from commands import releases as releases_commands
from commands import replay as replay_commands
from commands import schema as schema_commands
from commands import serve as serve_commands
from commands import snapshot as snapshot_commands
from commands import status as status_commands
from commands import tag as tag_commands
from commands.help_format import StepOrder, flags_without_type
from commands.options import PairOption, ProjectOption, ReviewOption
from commands.output import console
from commands.tui import open_tui
from workbench import version as installed_version

flags_without_type()
app = typer.Typer(
    cls=StepOrder,
    name="workbench",
    help="Take a trained model from your environment to a pushed, versioned container image: "
    "snapshot, schema, serve, tag, push.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(init_commands.app)
app.add_typer(demo_commands.app)
app.add_typer(checklist_commands.app)
app.add_typer(snapshot_commands.app)
app.add_typer(schema_commands.app)
app.add_typer(serve_commands.app)
app.add_typer(monitor_commands.app)
app.add_typer(tag_commands.app)
app.add_typer(push_commands.app)
app.add_typer(deploy_commands.app)
app.add_typer(status_commands.app)
app.add_typer(replay_commands.app)
app.add_typer(releases_commands.app)
app.add_typer(keys_commands.app)


def _version(value: bool) -> None:
    if value:
        console.print(f"workbench {installed_version()}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    project: ProjectOption = Path("."),
    pair: PairOption = None,
    review: ReviewOption = None,
) -> None:
    """Open the workbench on a model project (the TUI), or run one of the commands below."""
    if ctx.invoked_subcommand is None:
        open_tui(project, pair=pair, review=review)


@app.command("tui")
def tui(
    project: ProjectOption = Path("."), pair: PairOption = None, review: ReviewOption = None
) -> None:
    """Open the interactive workbench (the TUI) on a model project."""
    open_tui(project, pair=pair, review=review)
