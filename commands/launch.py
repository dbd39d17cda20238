"""The console entry point, and the short road to the TUI.

A bare `workbench [-p DIR] [--pair A,B] [--review NAME]` (or `workbench tui ...`)
opens the app without loading the CLI: Typer and the modules of every command
group cost about a tenth of a second that the first paint would wait for. Any
other command line, including one this module does not fully understand, goes
to the Typer app in `commands.main`, which parses it the usual way.
"""

from __future__ import annotations

import sys
from pathlib import Path

from commands.tui import open_tui
from workbench.kernel.errors import WorkbenchError

# The options of the bare command, as `commands.main` declares them; `tui` takes the same.
_VALUE_OPTIONS = {"-p": "project", "--project": "project", "--pair": "pair", "--review": "review"}


def tui_arguments(argv: list[str]) -> dict[str, str] | None:
    """The TUI's options when `argv` only opens the TUI, else None (let Typer parse it)."""
    args = argv[1:] if argv[:1] == ["tui"] else argv
    found: dict[str, str] = {}
    position = 0
    while position < len(args):
        arg = args[position]
        name, has_value, value = arg.partition("=")
        if name not in _VALUE_OPTIONS or (has_value and name == "-p"):
            return None
        if not has_value:
            position += 1
            if position == len(args) or args[position].startswith("-"):
                return None  # a missing value: Typer says so properly
            value = args[position]
        key = _VALUE_OPTIONS[name]
        if key in found:
            return None
        found[key] = value
        position += 1
    return found


def run() -> None:
    """Console entry point: a `WorkbenchError` becomes one paragraph on stderr, exit 1."""
    options = tui_arguments(sys.argv[1:])
    try:
        if options is None:
            from commands.main import app
            from workbench.kernel.cancel import keep_interrupts

            keep_interrupts()  # a command's Ctrl-C is never lost (the TUI reads its keys)
            app()
        else:
            open_tui(
                Path(options.get("project", ".")),
                pair=options.get("pair"),
                review=options.get("review"),
            )
    except WorkbenchError as exc:
        from commands.output import fail

        fail(exc.paragraph)
