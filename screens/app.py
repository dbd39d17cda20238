"""The Textual app. The home screen here is a placeholder until the checklist TUI lands."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Header, Static

from workbench.manifest import Manifest
from workbench.paths import asset

STEPS = ("Snapshot", "Schema", "Serve", "Tag", "Push")


class WorkbenchApp(App[None]):
    """The workbench on one model project."""

    TITLE = "workbench"
    CSS_PATH = [asset("styles", "app.tcss")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, manifest: Manifest) -> None:
        super().__init__()
        self.manifest = manifest

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="home"):
            yield Static(f"[b]{self.manifest.name}[/b]  {self.manifest.root}", id="project")
            yield Static("  →  ".join(STEPS), id="pipeline")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.manifest.name
