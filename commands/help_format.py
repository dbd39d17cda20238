"""How `workbench --help` reads: the commands in the order of the five steps (snapshot,
schema, serve, tag, push), then the rest; flags without a type (`--json`, not
`--json <bool>`: a flag takes no value, and typer labels every option with its type)."""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup, TyperOption

ORDER = (
    *("snapshot", "schema", "build", "serve", "clean", "tag", "push", "promote", "rollback"),
    *("check", "tick", "confirm", "waive", "signoff", "report", "releases", "deploy"),
    *("status", "replay", "monitor", "init", "demo", "tui"),
)


class StepOrder(TyperGroup):
    """Lists its commands in `ORDER` (any other after them, as registered), each with the
    first paragraph of its docstring as one line (rich help would keep its line breaks)."""

    def list_commands(self, ctx: Any) -> list[str]:  # typer's own (vendored) click Context
        rank = {name: index for index, name in enumerate(ORDER)}
        return sorted(super().list_commands(ctx), key=lambda name: rank.get(name, len(ORDER)))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None and command.help:
            first, _, rest = command.help.partition("\n\n")
            command.help = " ".join(first.split()) + (f"\n\n{rest}" if rest else "")
        return command


# Typer 0.29's way of naming an option's type in rich help; the typers the lock allows now
# (below 0.29) have none and already leave a flag's type out, and then nothing is patched.
_typed = getattr(TyperOption, "display_type_rich", None)


def _type_unless_flag(self: TyperOption, ctx: Any) -> str | None:
    return None if self.is_flag or _typed is None else _typed(self, ctx)


def flags_without_type() -> None:
    """Show no `<bool>` beside a flag in the help (every other option keeps its type)."""
    if _typed is not None:
        setattr(TyperOption, "display_type_rich", _type_unless_flag)  # noqa: B010 (typer 0.29)
