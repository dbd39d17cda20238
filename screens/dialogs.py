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


class SignOffDialog(ModalScreen[tuple[str, str, str] | None]):
    """The reviewer's decision on a release, a note, and why, if approved despite problems."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="signoff.cancel")]

    def __init__(self, reviewer: str, release: str, summary: str) -> None:
        super().__init__()
        self.reviewer = reviewer
        self.release = release
        self.summary = summary

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                f"Sign off release {self.release} as {self.reviewer}", classes="dialog-title"
            )
            yield Label(self.summary)
            yield Select(
                [("approve", "approve"), ("request changes", "request-changes")],
                value="approve",
                allow_blank=False,
                id="decision",
            )
            yield Input(placeholder="note (what you looked at)", id="note")
            yield Input(
                placeholder="approve despite blocking or stale items? say why (else leave empty)",
                id="despite",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Sign off", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def _answer(self) -> tuple[str, str, str]:
        return (
            str(self.query_one("#decision", Select).value),
            self.query_one("#note", Input).value.strip(),
            self.query_one("#despite", Input).value.strip(),
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self._answer() if event.button.id == "ok" else None)

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.dismiss(self._answer())

    def action_cancel(self) -> None:
        self.dismiss(None)
