"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ProjectOption = Annotated[
    Path,
    typer.Option(
        "--project", "-p", help="The model project folder (holds workbench.yaml).", file_okay=False
    ),
]
PairOption = Annotated[
    str | None,
    typer.Option(
        "--pair",
        help='Pair mode: "DRIVER,NAVIGATOR"; a gate tick then needs the navigator\'s confirmation.',
    ),
]

ReviewOption = Annotated[
    str | None,
    typer.Option("--review", help="Review mode as NAME: read-only, with a recorded sign-off."),
]

VerboseOption = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Also show the tools' own output (docker build, pip)."),
]

UnverifiedOption = Annotated[
    str | None,
    typer.Option(
        "--unverified-reason",
        help="Go ahead although the release does not verify (unsigned, or not what the "
        "registry serves); the reason is recorded with the move.",
    ),
]
