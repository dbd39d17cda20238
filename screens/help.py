"""`?` or F1: the keys of the screen underneath, what its step is for, and the keys that
work everywhere."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from screens.tables import LIST_KEYS
from workbench.checklist.steps import STEP_TITLES, STEPS

PURPOSE = {
    "snapshot": "Step 1 pins the model's environment: the exact, minimal runtime set, every "
    "wheel by hash, nothing from the workbench's own interpreter.",
    "schema": "Step 2 is the contract: the request and response as JSON Schema, examples "
    "that follow it, and the model's answers to them.",
    "serve": "Step 3 builds the image offline, runs it hardened and tests it for real: "
    "contract, hostile input, latency, memory, graceful stop. t (Try it) runs the tested "
    "image so you can send it a request by hand and answer from what you read.",
    "tag": "Step 4 releases: the version from the schema diff, the release candidate tested, "
    "the checklist frozen, an annotated git tag, the image tagged.",
    "push": "Step 5 pushes the tested image, verifies its digest in the registry, and moves "
    "channels (promote, roll back) between real releases.",
}
EVERYWHERE = (
    ("space", "do what blocks next: open its step and start it"),
    ("1-5", "open a step"),
    ("[ / ]", "previous / next step"),
    ("h", "home"),
    ("m", "drift of a running image (workbench monitor)"),
    ("C", "commit: what changed, the workbench's own files named, a message"),
    ("r", "run the selected check (in a step)"),
    ("/", "filter a step's checklist (Esc clears it)"),
    ("L", "the commands run (git, docker, skopeo) in place of a step's log"),
    *LIST_KEYS,
    ("? / F1", "this help"),
    ("Ctrl+P", "command palette"),
    ("q", "quit (asks first if something is unsaved or running)"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,f1,q", "dismiss", "Close", id="help.close")]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        step = getattr(self.under, "step", None)
        title = STEP_TITLES.get(step, "") if step in STEPS else type(self.under).__name__
        title = getattr(self.under, "HELP_TITLE", "Home" if title == "HomeScreen" else title)
        purpose = getattr(self.under, "HELP_PURPOSE", PURPOSE.get(step or ""))
        with VerticalScroll(classes="dialog", id="help"):
            yield Label(f"Help · {title}", classes="dialog-title")
            if purpose:
                yield Static(purpose, id="help-purpose")
            yield Static(self._keys(), id="help-keys")

    def _key(self, keys: str) -> str:
        return ", ".join(self.app.get_key_display(Binding(k, "", "")) for k in keys.split(","))

    def _keys(self) -> str:
        """Every binding of the screen underneath, its own and its base classes', once."""
        seen: set[str] = set()
        lines = ["[b]On this screen[/b]"]
        for cls in type(self.under).__mro__:
            for binding in getattr(cls, "BINDINGS", []) if "BINDINGS" in vars(cls) else []:
                if isinstance(binding, Binding) and binding.description not in seen:
                    seen.add(binding.description)
                    lines.append(f"  [b]{self._key(binding.key):>8}[/b]  {binding.description}")
        lines.append("[b]Everywhere[/b]")
        lines += [f"  [b]{key:>8}[/b]  {what}" for key, what in EVERYWHERE]
        return "\n".join(lines)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
