"""The entry point's short road to the TUI: which command lines take it."""

from __future__ import annotations

import pytest

from commands.launch import tui_arguments
from commands.tui import parse_pair
from workbench.kernel.errors import WorkbenchError


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {}),
        (["tui"], {}),
        (["-p", "proj"], {"project": "proj"}),
        (["--project=proj", "--pair", "Ana,Ben"], {"project": "proj", "pair": "Ana,Ben"}),
        (["tui", "--review", "Rita", "--project", "p"], {"review": "Rita", "project": "p"}),
    ],
)
def test_a_command_line_that_only_opens_the_tui_skips_typer(
    argv: list[str], expected: dict[str, str]
) -> None:
    assert tui_arguments(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["check"],
        ["-p", "proj", "check"],
        ["tui", "--help"],
        ["-p"],  # a missing value
        ["--pair", "--review", "x"],
        ["-p", "a", "-p", "b"],  # repeated
        ["-p=proj"],  # click would read "=proj" as the value
        ["tui", "tui"],
    ],
)
def test_any_other_command_line_goes_to_typer(argv: list[str]) -> None:
    assert tui_arguments(argv) is None


def test_pair_needs_two_different_names() -> None:
    assert parse_pair(" Ana , Ben ") == ("Ana", "Ben")
    assert parse_pair(None) is None
    for bad in ("Ana", "Ana,Ana", "Ana,", "Ana,Ben,Cy"):
        with pytest.raises(WorkbenchError, match="not two different names"):
            parse_pair(bad)


def test_the_short_road_knows_only_options_that_typer_declares_for_the_tui() -> None:
    import typer.main

    from commands.launch import _VALUE_OPTIONS
    from commands.main import app

    group = typer.main.get_command(app)
    tui = group.commands["tui"]  # type: ignore[attr-defined]
    for command in (group, tui):
        declared = {opt for param in command.params for opt in param.opts}
        assert set(_VALUE_OPTIONS) <= declared, command.name
