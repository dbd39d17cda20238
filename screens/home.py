"""Home: the five steps as a pipeline, the readiness score, and what to do next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult, RenderResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from screens import shown
from screens.context import tones, workbench
from screens.pictures import score_bar
from screens.release_panel import ReleaseTable
from workbench.checklist.steps import STEP_TITLES, STEPS
from workbench.checklist.symbols import ICON

if TYPE_CHECKING:
    from screens.theme import Palette
    from workbench.checklist.engine import StepSummary


class StepCard(Static, can_focus=True):
    """One step of the pipeline: status, score and counts; Enter or a click opens it."""

    @dataclass
    class Selected(Message):
        step: str

    def __init__(self, step: str, number: int) -> None:
        super().__init__(id=f"card-{step}", classes="step-card")
        self.step = step
        self.number = number
        self.border_title = f"{number} {STEP_TITLES[step]}"

    def render(self) -> RenderResult:
        # Plain text while loading: five animated loading indicators cost the first paint.
        return super().render() if self.has_class("loaded") else "[dim]loading…[/]"

    def show(self, summary: StepSummary) -> None:
        self.add_class("loaded")
        self.set_class(bool(summary.blockers), "blocked")
        palette = tones(self)
        # Made again only when it changed (home is redrawn at every change, even unseen).
        shown.show_made(self, (summary, palette), lambda: self._card(summary, palette))

    @staticmethod
    def _card(summary: StepSummary, palette: Palette) -> Group:
        status = summary.status.value
        counts = "  ".join(
            f"[{palette.status(s.value)}]{ICON[s.value]}{n}[/]"
            for s, n in sorted(summary.counts.items(), key=lambda kv: kv[0].value)
        )
        blocking = f"\n[b {palette.bad}]{len(summary.blockers)} gate blocking[/]"
        blockers = blocking if summary.blockers else ""
        head = Text.from_markup(
            f"[{palette.status(status)}]{ICON[status]} {status}[/]\n"
            f"{int(summary.fraction * 100 + 1e-9)}%  ({summary.score:g} of "
            f"{summary.max_score})"
        )
        bar = score_bar(summary.fraction, palette.ok)
        return Group(head, bar, Text.from_markup(counts + blockers))

    def on_click(self) -> None:
        self.post_message(self.Selected(self.step))

    def key_enter(self) -> None:
        self.post_message(self.Selected(self.step))


class HomeReleases(ReleaseTable):
    """The releases on home: Enter opens the Push step on the selected release; p, o and b
    push, promote or roll back that release there, as the same keys do in the Push step
    (elsewhere on home `o` still opens the channels)."""

    BINDINGS = [
        Binding("enter", "act('')", "Open in Push", id="home.release_open", show=False),
        Binding("p", "act('push_release')", "Push", id="home.release_push"),
        Binding("o", "act('promote')", "Promote", id="home.release_promote"),
        Binding("b", "act('rollback')", "Roll back", id="home.release_rollback"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_subtitle = "Enter opens in Push · p push · o promote · b roll back"

    def action_act(self, action: str) -> None:
        workbench(self).open_release(self.selected_version(), action or None)


class HomeScreen(Screen[None]):
    BINDINGS = [
        Binding("left", "app.focus_previous", "Previous step", id="home.prev", show=False),
        Binding("right", "app.focus_next", "Next step", id="home.next", show=False),
        Binding("space", "app.do_next", "Do next", id="home.next_move"),
        Binding("f5", "reload", "Refresh", id="home.refresh"),
    ]

    def compose(self) -> ComposeResult:
        manifest = workbench(self).manifest
        yield Header()
        with Vertical(id="home"):
            yield Static(
                f"[b]{manifest.name}[/b]  ·  {manifest.model.flavor} "
                f"{manifest.model.artifact or manifest.model.predictor or ''}",
                id="project",
            )
            with Horizontal(id="pipeline"):
                for number, step in enumerate(STEPS, start=1):
                    yield StepCard(step, number)
            yield Static("Readiness: loading…", id="readiness")
            yield Static("", id="next")  # right under what limits readiness: they agree
            yield Static("", id="release")
            yield Static(
                "Space does what blocks next; 1-5 or Enter open a step; ? lists every key.",
                id="hint",
            )
            yield HomeReleases(id="home-releases")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#card-snapshot").focus()

    def update_from_checklist(self) -> None:
        standing = workbench(self).standing  # computed off this thread, whole
        for summary in standing.summaries:
            self.query_one(f"#card-{summary.step}", StepCard).show(summary)
        shown.show(
            self.query_one("#readiness", Static),
            f"Readiness [b]{escape(standing.readiness_said)}[/b]: the lowest step's share of "
            "its maximum (a verified check 1, a warning or an answer with a note 0.5)",
        )
        done = standing.headline
        said = f"[b {tones(self).ok}]{escape(done)}[/]\n" if done else ""
        shown.show(self.query_one("#release", Static), said + workbench(self).release_line)
        move = standing.move
        shown.show(
            self.query_one("#next", Static),
            "Next: nothing left" if move.action == "none" else f"Next: {escape(move.says)}",
        )
        self.query_one(HomeReleases).show(workbench(self).release_rows)

    @on(StepCard.Selected)
    def _open(self, event: StepCard.Selected) -> None:
        self.action_open_step(event.step)

    def action_open_step(self, step: str) -> None:
        workbench(self).open_step(step)

    def action_reload(self) -> None:
        workbench(self).reload_checklist()
