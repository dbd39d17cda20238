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

    def __init__(
        self,
        title: str,
        placeholder: str = "",
        *,
        min_length: int = 0,
        value: str = "",
        required: str = "",
        select: bool = True,
        secret: bool = False,
    ) -> None:
        """`value` prefills the field (selected, so typing replaces it, unless `select` is
        False: then the cursor waits after it); with `required`, Enter on an empty field
        says it (a grey placeholder is only an example, never an answer); `secret` masks
        what is typed and keeps it as typed (a passphrase: never shown, never stripped)."""
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.min_length = min_length
        self.value = value
        self.required = required
        self.select = select
        self.secret = secret

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(
                self.value,
                placeholder=self.placeholder,
                id="prompt-input",
                select_on_focus=self.select,
                password=self.secret,
            )
            yield Label("", id="prompt-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def _submit(self) -> None:
        typed = self.query_one(Input).value
        value = typed if self.secret else typed.strip()
        if not value and self.required:
            self.query_one("#prompt-error", Label).update(self.required)
            return
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
        self,
        versions: list[str],
        channels: dict[str, str | None],
        *,
        suggested: str = "production",
        chosen: str | None = None,
        replays: dict[tuple[str, str], str] | None = None,
    ) -> None:
        super().__init__()
        # (version, channel) -> what the last replay of the channel said of the version
        self.replays = replays
        self.versions = versions  # newest first
        self.channels = channels  # channel -> the version it points at now (None: new)
        self.suggested = suggested
        # the release chosen first (the selected row of the releases table), else the newest
        self.chosen = chosen if chosen in versions else versions[0]

    def compose(self) -> ComposeResult:
        names = sorted(set(self.channels) | {"production", "staging"})
        with Vertical(classes="dialog"):
            yield Label("Promote a release to a channel", classes="dialog-title")
            yield Label("Release")
            yield Select(
                [(v, v) for v in self.versions],
                value=self.chosen,
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
            if self.replays is not None:
                yield Label("", id="move-replay")
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
        if self.replays is not None:
            said = self.replays.get((version, channel)) or (
                f"replay: none of {version} against {channel} (`workbench replay`)"
            )
            self.query_one("#move-replay", Label).update(said)

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
