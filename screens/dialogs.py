"""Small modal dialogs: a text prompt and the reviewer's sign-off."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select


class TextPrompt(ModalScreen[str | None]):
    """Ask for one line of text; dismisses with the text, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, title: str, placeholder: str = "", *, min_length: int = 0) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.min_length = min_length

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(placeholder=self.placeholder, id="prompt-input")
            yield Label("", id="prompt-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _submit(self) -> None:
        value = self.query_one(Input).value.strip()
        if len(value) < self.min_length:
            self.query_one("#prompt-error", Label).update(
                f"Please write at least {self.min_length} characters."
            )
            return
        self.dismiss(value)

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SignOffDialog(ModalScreen[tuple[str, str] | None]):
    """The reviewer's decision and note."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="signoff.cancel")]

    def __init__(self, reviewer: str, readiness: float) -> None:
        super().__init__()
        self.reviewer = reviewer
        self.readiness = readiness

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                f"Sign off as {self.reviewer} (readiness {self.readiness:g})",
                classes="dialog-title",
            )
            yield Select(
                [("approve", "approve"), ("request changes", "request-changes")],
                value="approve",
                allow_blank=False,
                id="decision",
            )
            yield Input(placeholder="note (what you looked at)", id="note")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Sign off", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            decision = str(self.query_one("#decision", Select).value)
            self.dismiss((decision, self.query_one("#note", Input).value.strip()))
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
