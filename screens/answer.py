"""Answering a manual item with what it is about in view (issue #23): the question and
why, what the question is about, the note, and an answer the person chooses."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, Static

if TYPE_CHECKING:
    from workbench.checklist.engine import Checklist, ItemView


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


def open_answer(
    screen: Screen[Any],
    checklist: Checklist,
    view: ItemView | None,
    item_id: str,
    answer: str | None,
    done: Callable[[tuple[str, str] | None], None],
) -> None:
    """Open the dialog for one manual item once what its question is about is read from
    the domain (snapshot.yaml for the runtime set): read in a worker, so a big file never
    holds up the interface."""
    from workbench.steps import question_evidence

    item = checklist.item(item_id)
    app = screen.app

    def read() -> None:
        about = question_evidence(checklist.manifest, item_id)
        dialog = partial(
            AnswerDialog,
            item_id,
            item.question,
            item.why,
            gate=item.gate,
            about=about,
            evidence=list(view.evidence) if view else [],
            answer=answer,
        )

        def show() -> None:
            app.push_screen(dialog(), done)

        app.call_from_thread(show)

    screen.run_worker(
        read,
        thread=True,
        group="answer",
        exclusive=True,
        exit_on_error=False,
        description="reading what the question is about",
    )
