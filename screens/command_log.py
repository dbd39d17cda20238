"""The command-log pane (`L`): the commands the workbench ran for you (git, skopeo, the
engine's build, run, rm, tag, push) with how each ended and how long it took, newest last,
as lazygit shows its git commands. It takes the log's place in a step; `L` again brings
the log back. Entries come from `workbench.kernel.commands`, from any thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import RichLog

from screens.context import tones
from workbench.kernel.commands import Ran, listen, recent


@dataclass
class CommandRan(Message):
    ran: Ran


class CommandPane(RichLog):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_lines=500, markup=True, wrap=True, **kwargs)
        self.border_title = "commands run (L: back to the log)"
        self.display = False
        self._stop = lambda: None

    def on_mount(self) -> None:
        for ran in recent():
            self.show(ran)
        # Posting a message is safe from any thread: the worker that ran the command.
        self._stop = listen(self._heard)

    def _heard(self, ran: Ran) -> None:
        self.post_message(CommandRan(ran))

    def on_unmount(self) -> None:
        self._stop()

    def on_command_ran(self, message: CommandRan) -> None:
        self.show(message.ran)

    def show(self, ran: Ran) -> None:
        palette = tones(self)
        mark = f"[{palette.ok}]✔[/]" if ran.ok else f"[{palette.bad}]✘[/]"
        outcome = "" if ran.ok else f" [{palette.bad}]{escape(ran.outcome)}[/]"
        self.write(
            f"{mark} [dim]{ran.at[11:19]}[/] {escape(ran.command)} [dim]{ran.seconds:.1f} s[/]"
            + outcome
        )


def toggle_commands(screen: Screen[Any]) -> bool:
    """Swap the step's log for the command log, or back; False where there is none."""
    panes = list(screen.query(CommandPane))
    if not panes:
        return False
    pane = panes[0]
    pane.display = not pane.display
    for log in screen.query("#log"):
        log.display = not pane.display
    return True
