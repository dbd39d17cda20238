"""Small modal dialogs: a text prompt, a manual item's answer and the reviewer's sign-off."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static


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


class AnswerDialog(ModalScreen[tuple[str, str] | None]):
    """A manual item answered with what it is about in view: its question and why, what
    the question is about (for the runtime set: each package, its version and why it is
    there), the note, and the answer, chosen by the person with its button (Space opens
    the dialog with none chosen, so Enter alone answers nothing; y, n and x open it with
    theirs, and Enter in the note gives it). Dismisses with (answer, note), or None when
    cancelled. A gate answered yes needs a note: what the person looked at."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="answer.cancel")]
    CHOICES: ClassVar[list[tuple[str, str, str]]] = [  # (answer, button label, button id)
        ("yes", "Yes", "answer-yes"),
        ("no", "No", "answer-no"),
        ("n/a", "Not applicable", "answer-na"),
    ]

    def __init__(
        self,
        item_id: str,
        question: str,
        why: str,
        *,
        gate: bool,
        about: tuple[str, list[str]] | None = None,
        evidence: list[str] | None = None,
        answer: str | None = None,
    ) -> None:
        super().__init__()
        self.item_id = item_id
        self.question = question
        self.why = why
        self.gate = gate
        self.about = about
        self.evidence = evidence or []
        self.answer = answer

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog answer-dialog"):
            gate = " · gate" if self.gate else ""
            yield Label(f"Answer {self.item_id}{gate}", classes="dialog-title")
            yield Static(Text(self.question, style="bold"), id="answer-question")
            yield Static(Text(self.why, style="dim"), id="answer-why")
            heading, lines = self.about or ("What it says now", self.evidence)
            if lines:
                yield Label(heading, id="answer-heading", classes="answer-heading")
                with VerticalScroll(id="answer-about"):
                    yield Static(Text("\n".join(f"• {line}" for line in lines)))
            yield Input(placeholder="note: what you looked at, or why", id="answer-note")
            rule = (
                "A gate: answering yes needs a note saying what you looked at."
                if self.gate
                else "A note is evidence (it scores 0.5 instead of 0)."
            )
            yield Label(rule, id="answer-rule")
            yield Label("", id="answer-chosen")
            yield Label("", id="answer-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                for _, label, widget_id in self.CHOICES:
                    yield Button(label, id=widget_id)
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self._show_chosen()
        self.query_one("#answer-note", Input).focus()

    def chosen(self) -> str | None:
        return self.answer

    def _show_chosen(self) -> None:
        text = (
            f"Your answer: {self.answer} (Enter in the note gives it)"
            if self.answer
            else "Your answer: none chosen yet (Tab to Yes, No or Not applicable)"
        )
        self.query_one("#answer-chosen", Label).update(text)
        for value, _, widget_id in self.CHOICES:
            button = self.query_one(f"#{widget_id}", Button)
            button.variant = "primary" if value == self.answer else "default"

    def _refuse(self, text: str) -> None:
        self.query_one("#answer-error", Label).update(text)

    def _submit(self) -> None:
        note = self.query_one("#answer-note", Input).value.strip()
        if self.answer is None:
            self._refuse("Choose an answer first: Tab to Yes, No or Not applicable.")
        elif self.answer == "yes" and self.gate and not note:
            self._refuse("A gate answered yes needs a note: say what you looked at.")
            self.query_one("#answer-note", Input).focus()
        else:
            self.dismiss((self.answer, note))

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        answers = {widget_id: value for value, _, widget_id in self.CHOICES}
        if event.button.id in answers:
            self.answer = answers[event.button.id]
            self._refuse("")
            self._show_chosen()
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


class Confirm(ModalScreen[bool]):
    """A yes/no question about an action that changes something: Enter or y confirms,
    Escape or n cancels; the body says exactly what moves where."""

    BINDINGS = [
        Binding("escape,n", "answer(False)", "Cancel", id="confirm.no"),
        Binding("y", "answer(True)", "Confirm", id="confirm.yes"),
    ]

    def __init__(self, title: str, body: str, *, yes: str = "Confirm") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.body, id="confirm-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="primary", id="ok")
                yield Button("Cancel (n)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()  # Enter confirms

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "ok")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class MoveChannel(ModalScreen[tuple[str, str] | None]):
    """Promote: a release and a channel chosen from lists of real ones; the line under them
    says what the channel points at now and what it will point at (from -> to). Enter on
    the button (or Ctrl+S anywhere) confirms."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="move.cancel"),
        Binding("ctrl+s", "submit", "Confirm", id="move.submit"),
    ]

    def __init__(
        self, versions: list[str], channels: dict[str, str | None], *, suggested: str = "production"
    ) -> None:
        super().__init__()
        self.versions = versions  # newest first
        self.channels = channels  # channel -> the version it points at now (None: new)
        self.suggested = suggested

    def compose(self) -> ComposeResult:
        names = sorted(set(self.channels) | {"production", "staging"})
        with Vertical(classes="dialog"):
            yield Label("Promote a release to a channel", classes="dialog-title")
            yield Label("Release")
            yield Select(
                [(v, v) for v in self.versions],
                value=self.versions[0],
                allow_blank=False,
                id="version",
            )
            yield Label("Channel")
            yield Select(
                [(n, n) for n in names],
                value=self.suggested if self.suggested in names else names[0],
                allow_blank=False,
                id="channel",
            )
            yield Label("", id="move-summary")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Promote", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self._summarise()
        self.query_one("#ok", Button).focus()

    def _choice(self) -> tuple[str, str]:
        return (
            str(self.query_one("#version", Select).value),
            str(self.query_one("#channel", Select).value),
        )

    def on_select_changed(self, _: Select.Changed) -> None:
        self._summarise()

    def _summarise(self) -> None:
        version, channel = self._choice()
        now = self.channels.get(channel)
        change = f"{now} -> {version}" if now else f"(new channel) -> {version}"
        same = " (already there: nothing moves)" if now == version else ""
        self.query_one("#move-summary", Label).update(f"{channel}: {change}{same}")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_submit(self) -> None:
        self.dismiss(self._choice())

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickChannel(ModalScreen[str | None]):
    """A channel chosen from a list; the line under it says what the action will do to it
    (roll back: `production: 1.1.0 -> 1.0.0`; deploy: which version, where)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel")]

    def __init__(
        self,
        summaries: dict[str, str],
        *,
        title: str = "Roll back a channel to its previous release",
        action: str = "Roll back",
    ) -> None:
        super().__init__()
        self.summaries = summaries  # channel -> what happens to it
        self.title_text = title
        self.action = action

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Select(
                [(c, c) for c in sorted(self.summaries)],
                value=sorted(self.summaries)[0],
                allow_blank=False,
                id="channel",
            )
            yield Label("", id="pick-summary")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.action, variant="warning", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self._summarise()
        self.query_one("#ok", Button).focus()

    def on_select_changed(self, _: Select.Changed) -> None:
        self._summarise()

    def _summarise(self) -> None:
        channel = str(self.query_one("#channel", Select).value)
        self.query_one("#pick-summary", Label).update(f"{channel}: {self.summaries[channel]}")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        chosen = str(self.query_one("#channel", Select).value)
        self.dismiss(chosen if event.button.id == "ok" else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
