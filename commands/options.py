"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.errors import WorkbenchError

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


def parse_pair(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise WorkbenchError(
            f'--pair "{value}" is not two different names.',
            fix='write it as --pair "Ana,Ben" (driver first, then navigator).',
        )
    return names[0], names[1]
