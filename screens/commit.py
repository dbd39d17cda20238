"""Commit from the TUI (`C`, or the palette): what changed in the project folder, the
workbench's own files named as such, a message (suggested when only the workbench's files
changed), then one commit. Git runs in workers, never on the interface thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from workbench.kernel.errors import WorkbenchError

if TYPE_CHECKING:
    from screens.app import WorkbenchApp
    from workbench.project.commits import Change


class CommitDialog(ModalScreen[str | None]):
    """The changes and a message; Enter commits, Escape leaves everything as it is."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="commit.cancel")]

    def __init__(self, found: list[Change], suggested: str) -> None:
        super().__init__()
        self.found = found
        self.suggested = suggested

    def compose(self) -> ComposeResult:
        lines = [
            f"{change.state:>8}  {escape(change.path)}"
            + ("  [dim](the workbench's)[/]" if change.own else "")
            for change in self.found
        ]
        with Vertical(classes="dialog"):
            yield Label(f"Commit {len(self.found)} changed files", classes="dialog-title")
            with VerticalScroll(id="commit-changes"):
                yield Static("\n".join(lines))
            yield Label("Message")
            yield Input(self.suggested, placeholder="e.g. a clearer description", id="message")
            yield Label("", id="commit-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Commit", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _submit(self) -> None:
        message = self.query_one(Input).value.strip()
        if not message:
            self.query_one("#commit-error", Label).update(
                "Write what changed: the message goes into git's history (Escape cancels)."
            )
            return
        self.dismiss(message)

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def ask_commit(app: WorkbenchApp) -> None:
    if app.reviewer is not None:
        app.notify("Review mode is read-only: nothing is committed.", severity="warning")
        return
    _read_changes(app)


def _read_changes(app: WorkbenchApp) -> None:
    def read() -> None:
        from workbench.project.commits import changes, suggested_message

        try:
            found = changes(app.manifest)
        except WorkbenchError as exc:
            app.call_from_thread(app.notify, exc.paragraph, title="Commit", severity="error")
            return
        if not found:
            app.call_from_thread(app.notify, "Nothing to commit: every file is as committed.")
            return
        dialog = CommitDialog(found, suggested_message(found))
        app.call_from_thread(app.push_screen, dialog, lambda m: _commit(app, m))

    app.run_worker(
        read,
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="git",
        description="reading git",
    )


def _commit(app: WorkbenchApp, message: str | None) -> None:
    if not message:
        return

    def go() -> None:
        from workbench.project.commits import commit

        try:
            short = commit(app.manifest, message)
        except WorkbenchError as exc:
            app.call_from_thread(app.notify, exc.paragraph, title="Commit", severity="error")
            return
        app.call_from_thread(app.notify, f"Committed {short}: {message}", title="Commit")
        app.call_from_thread(app.reload_checklist)

    app.run_worker(
        go, thread=True, exclusive=True, exit_on_error=False, group="git", description="committing"
    )
