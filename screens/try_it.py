"""Try it (Serve, `t`): the tested image running, a request to pick or edit, its answer
and status; `y` / `n` answer "someone called the running service by hand" with the
exchange as the note. Escape stops the image (the container is removed) and closes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Select, Static, TextArea

from screens.context import tones
from screens.dialogs import TextPrompt
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.steps.serve.trial import Exchange, Trial, pretty, route_for, send

Answer = tuple[str, str]  # ("yes" | "no", note)


class TryItScreen(Screen[Answer | None]):
    HELP_TITLE = "Try it"
    HELP_PURPOSE = (
        "Call the image the serve test built and tested, by hand: pick an example or write "
        "a request, send it, read the status and the answer; y or n then answers "
        "serve.tried-by-hand with your words, the image and the exchange as its note."
    )
    BINDINGS = [
        Binding("escape", "close", "Stop and close", id="try.close"),
        Binding("ctrl+r", "send", "Send", priority=True, id="try.send"),
        Binding("y", "answer('yes')", "Yes, right", id="try.yes"),
        Binding("n", "answer('no')", "No, wrong", id="try.no"),
        Binding("e", "edit", "Edit", id="try.edit"),
    ]

    def __init__(
        self,
        manifest: Manifest,
        image_id: str,
        about: str,
        examples: list[tuple[str, dict[str, Any]]],
    ) -> None:
        super().__init__()
        self.manifest = manifest
        self.image_id = image_id
        self.about = about
        self.examples = {name: pretty_record(record) for name, record in examples}
        self.trial = Trial(manifest, image_id)
        self.url: str | None = None
        self.exchange: Exchange | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            f"starting {escape(self.image_id[:19])} ({escape(self.about)})…", id="try-status"
        )
        with Horizontal(id="try-body"):
            with Vertical(id="try-left"):
                first = next(iter(self.examples), None)
                yield Select(
                    [(name, name) for name in self.examples],
                    prompt="pick an example request",
                    value=first if first is not None else Select.BLANK,
                    id="try-example",
                )
                text = self.examples[first] if first is not None else "{}"
                yield TextArea(text, id="try-request", soft_wrap=False, show_line_numbers=True)
            # JSON is read as written: no soft wrap, the answer scrolls sideways instead
            with ScrollableContainer(id="try-right", can_focus=True):
                yield Static("[dim]the answer shows here[/]", id="try-answer")
        yield Static(
            "Ctrl+R sends (an array goes to /predict/batch) · y / n: is the answer right? "
            "(the exchange becomes the note) · e edits · Esc stops the image",
            id="try-hint",
        )
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = f"Try it · {self.manifest.name}"
        self.query_one(TextArea).focus()
        self._serve()

    def on_unmount(self) -> None:
        self.trial.stop()  # the worker removes the container on its way out

    # --- the running image -----------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="try-serve", description="running the image")
    def _serve(self) -> None:
        try:
            self.trial.run(lambda url, took: self._later(self._ready, url, took))
        except WorkbenchError as exc:
            self._later(self._failed, exc.paragraph)

    def _ready(self, url: str, seconds: float) -> None:
        self.url = url
        self.query_one("#try-status", Static).update(
            f"[{tones(self).ok}]running[/] {escape(self.image_id[:19])} at {url} "
            f"(ready in {seconds:.1f} s; {escape(self.about)})"
        )

    def _failed(self, text: str) -> None:
        self.query_one("#try-status", Static).update(
            f"[{tones(self).bad}]not running:[/] {escape(text)}"
        )

    # --- requests --------------------------------------------------------------------------

    @on(Select.Changed, "#try-example")
    def _pick(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value in self.examples:
            self.query_one(TextArea).load_text(self.examples[event.value])

    def action_send(self) -> None:
        if self.url is None:
            self.notify("The image is not running yet.", severity="warning")
            return
        body = self.query_one(TextArea).text
        self.query_one("#try-answer", Static).update(f"[dim]POST {route_for(body)} …[/]")
        self._send(self.url, body)

    @work(thread=True, exclusive=True, exit_on_error=False, group="try-send")
    def _send(self, url: str, body: str) -> None:
        try:
            exchange = send(url, body)
        except WorkbenchError as exc:
            self._later(self._failed_send, exc.paragraph)
            return
        self._later(self._answered, exchange)

    def _later(self, show: Callable[..., None], *args: Any) -> None:
        """From a worker thread: show a result, unless the screen was closed meanwhile
        (an answer that arrives after Escape is dropped, not an error)."""

        def if_open() -> None:
            if self.is_attached:
                show(*args)

        self.app.call_from_thread(if_open)

    def _failed_send(self, text: str) -> None:
        self.query_one("#try-answer", Static).update(f"[{tones(self).bad}]{escape(text)}[/]")

    def _answered(self, exchange: Exchange) -> None:
        self.exchange = exchange
        palette = tones(self)
        colour = palette.ok if exchange.status < 400 else palette.warn
        head = (
            f"[b]POST {exchange.route}[/b] -> [{colour} b]{exchange.status}[/] in "
            f"{exchange.milliseconds:.1f} ms"
            + (f"\n[dim]request id {escape(exchange.request_id)}[/]" if exchange.request_id else "")
        )
        self.query_one("#try-answer", Static).update(
            head + "\n\n" + escape(pretty(exchange.answer))
        )
        self.query_one("#try-right").focus()  # y / n answer at once; e edits again

    def action_edit(self) -> None:
        self.query_one(TextArea).focus()

    # --- answering serve.tried-by-hand -------------------------------------------------------

    def action_answer(self, answer: str) -> None:
        exchange = self.exchange
        if exchange is None:
            self.notify("Send a request first (Ctrl+R): the exchange is the note.")
            return
        question = (
            "Yes: what makes this answer right? (the exchange is kept too)"
            if answer == "yes"
            else "No: what is wrong with this answer? (the exchange is kept too)"
        )

        def done(words: str | None) -> None:
            if words is None:
                return
            # which image was tried (a reviewer compares it with the release's)
            tried = f"on {self.image_id[:19]}: {exchange.note()}"
            note = f"{words} — {tried}" if words else tried
            self.dismiss((answer, note))

        self.app.push_screen(TextPrompt(question, "your words (optional)"), done)

    def action_close(self) -> None:
        self.dismiss(None)


def pretty_record(record: Any) -> str:
    import json

    return json.dumps(record, indent=2, ensure_ascii=False)
