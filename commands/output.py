"""Printing for the CLI: one console, errors as one paragraph, never a traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from workbench.kernel.confine import open_no_follow, scratch_path

# Not on a terminal (a pipe, a file, CI), Rich would wrap at 80 columns (or at COLUMNS,
# which CI runners and test harnesses often export as 80): sizes split over two lines,
# item ids cut, a container's JSON log lines broken. There, lines stay whole (soft wrap)
# and tables take the width they need, up to this.
HEADLESS_WIDTH = 400


def make_console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if hasattr(stream, "isatty") and stream.isatty():
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=HEADLESS_WIDTH)


console = make_console()
err_console = make_console(stderr=True)


def fits_terminal() -> bool:
    """Tables stretch to the terminal's width on one; headless they take what they need."""
    return console.is_terminal


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one error paragraph and leave with `code` (no traceback)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


class Transcript:
    """A command's log: every line into `.workbench/logs/NAME.log`; on screen, the lines
    that say what happens, and the tools' own output (docker build, pip) only with -v.
    When the command fails, the error names the file."""

    def __init__(
        self, root: Path, name: str, *, verbose: bool = False, quiet: bool = False
    ) -> None:
        self.path = scratch_path(root, "logs", f"{name}.log", what=f"the log of {name}")
        descriptor = open_no_follow(
            self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, what=f"the log of {name}"
        )
        self.handle = open(descriptor, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.verbose = verbose
        self.quiet = quiet  # --json: nothing but the JSON on standard output

    def note(self, line: str) -> None:
        """A line that says what happens: shown, and kept."""
        self.handle.write(line + "\n")
        self.handle.flush()
        if not self.quiet:
            console.print(f"  [dim]{escape(line)}[/]")

    def detail(self, line: str) -> None:
        """A tool's own output: kept; shown only with -v."""
        self.handle.write(line + "\n")
        if self.verbose and not self.quiet:
            console.print(f"    [dim]{escape(line)}[/]")

    def close(self) -> None:
        self.handle.close()

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.close()
        if kind is not None and not issubclass(kind, SystemExit | KeyboardInterrupt):
            err_console.print(f"[dim]the whole output of the command: {self.path}[/]")
