"""The Textual app: the workbench on one model project.

Statuses are computed in a thread worker (fingerprints may ask Docker or git),
so the interface never waits on them; screens render what the app hands them: one
immutable `Standing`, replaced whole. Ticks, waivers and sign-offs run in a worker too
and answer with a new standing; nothing takes the engine's lock on the interface thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from screens.context import Workbench
from screens.home import HomeScreen
from screens.messages import ChecklistLoaded, StandingChanged
from screens.release_panel import release_state
from screens.screenshots import FoundScreenshots
from screens.theme import load_theme, save_theme
from workbench.checklist.standing import Standing
from workbench.checklist.steps import STEP_TITLES, STEPS
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.paths import asset
from workbench.project.manifest import Manifest

if TYPE_CHECKING:
    from workbench.checklist.checks import AutoCheck
    from workbench.checklist.engine import Checklist, ItemView, StepSummary


class WorkbenchApp(FoundScreenshots, App[None]):
    """The workbench on one model project."""

    TITLE = "workbench"
    CSS_PATH = [asset("styles", "app.tcss")]
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("h", "home", "Home", id="app.home", show=False),
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("space", "do_next", "Do next", id="app.next_move", show=False),
        Binding("m", "monitor", "Monitor", id="app.monitor", show=False),
        Binding("o", "channels", "Channels", id="app.channels", show=False),
        Binding("C", "commit", "Commit", id="app.commit", show=False),
        Binding("L", "commands", "Command log", id="app.commands", show=False),
        # Steps from anywhere: digits, and [ ] for the previous and next step.
        *[
            Binding(str(n), f"goto('{step}')", STEP_TITLES[step], id=f"app.step{n}", show=False)
            for n, step in enumerate(STEPS, start=1)
        ],
        Binding(
            "left_square_bracket", "step_offset(-1)", "Previous step", id="app.prev", show=False
        ),
        Binding("right_square_bracket", "step_offset(1)", "Next step", id="app.next", show=False),
    ]

    def __init__(
        self,
        manifest: Manifest,
        *,
        pair: tuple[str, str] | None = None,
        reviewer: str | None = None,
        user: str | None = None,
        checks: dict[str, AutoCheck] | None = None,
        remember_theme: bool = False,
    ) -> None:
        super().__init__()
        # The theme a person chose (Ctrl+P, "Change theme") comes back next time; tests
        # leave it alone (remember_theme=False), so no setting of the machine shows in them.
        self.remember_theme = remember_theme
        if remember_theme:
            saved = load_theme()
            if saved in self.available_themes:
                self.theme = saved
        self.checks = checks  # None: every step's built-in checks
        self.manifest = manifest
        self.pair = pair
        self.user = user
        # Built in the first load worker: reading definitions must not delay the first paint.
        self._checklist: Checklist | None = None
        self.reviewer = reviewer
        self.quitting = False  # `q` over running work cancels it first (screens/quitting.py)
        self._standing = Standing()  # nothing read yet: replaced whole, never written in
        self.release_line = ""
        self.release_rows: list[dict[str, Any]] = []

    def watch_theme(self, theme: str) -> None:
        if getattr(self, "remember_theme", False):
            save_theme(theme)
        # Statuses are drawn in the theme's colours: draw them again in the new ones.
        if getattr(self, "_standing", Standing()).loaded:
            self.call_next(self._redraw)

    def get_default_screen(self) -> Screen[Any]:
        return HomeScreen()

    def on_mount(self) -> None:
        self._update_subtitle()
        # Load after the first paint: the worker's thread would otherwise compete with it.
        self.call_after_refresh(self.reload_checklist)

    @property
    def checklist(self) -> Checklist:
        if self._checklist is None:
            raise WorkbenchError("the checklist is still loading; try again in a moment.")
        return self._checklist

    @property
    def loaded(self) -> bool:
        return self._checklist is not None and self._standing.loaded

    @property
    def standing(self) -> Standing:
        return self._standing

    @property
    def views(self) -> Mapping[str, ItemView]:
        return self._standing.views

    @property
    def summaries(self) -> tuple[StepSummary, ...]:
        return self._standing.summaries

    def set_pair(self, pair: tuple[str, str] | None) -> None:
        self.pair = pair
        if self._checklist is not None:
            self._checklist.pair = pair
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        parts = [self.manifest.name]
        if self.pair:
            parts.append(f"pair: {self.pair[0]} driving, {self.pair[1]} navigating")
        if self.reviewer:
            parts.append(f"review by {self.reviewer} (read-only)")
        self.sub_title = " · ".join(parts)

    # --- statuses, off the interface thread -------------------------------------------------

    def reload_checklist(self) -> None:
        self._load_checklist()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="load",
        description="reading the checklist",
    )
    def _load_checklist(self) -> None:
        if self._checklist is None:
            # In the worker, not at the top: these imports are slow (the first paint first).
            from workbench.checklist.engine import Checklist
            from workbench.steps import all_checks
            from workbench.steps import question_subject as asks

            checks = self.checks if self.checks is not None else all_checks()
            self._checklist = Checklist(self.manifest, checks, self.pair, self.user, asks)
        # Inputs are measured outside the engine's lock: a tick meanwhile does not wait.
        standing = self._checklist.standing(remeasure=True)
        from workbench.steps.push.release_rows import release_table

        try:
            rows = release_table(self.manifest)
        except WorkbenchError:
            rows = []  # a broken release file: the release line and the checks say so
        self.post_message(ChecklistLoaded(standing, release_state(self.manifest), rows))

    @on(ChecklistLoaded)
    def _loaded(self, message: ChecklistLoaded) -> None:
        self.release_line = message.release_line
        self.release_rows = message.release_rows
        self._stand(message.standing)

    @on(StandingChanged)
    def _changed(self, message: StandingChanged) -> None:
        self._stand(message.standing)

    def _stand(self, standing: Standing) -> None:
        # A standing computed before the one shown (a reload that began before a tick)
        # never replaces it.
        if standing.newer_than(self._standing):
            self._standing = standing
        self._redraw()

    def change_checklist(
        self,
        change: Callable[[Checklist], object],
        then: Callable[[Any], object] | None = None,
        *,
        refused: str | None = None,
    ) -> None:
        """Change the checklist (tick, waive, confirm, sign off) in a worker; the answer is a
        new standing, and `then` gets what the change returned. A refusal is a notice
        (titled `refused`)."""
        self._change(change, then, refused)

    @work(thread=True, exit_on_error=False, group="answers", description="recording an answer")
    def _change(
        self,
        change: Callable[[Checklist], object],
        then: Callable[[Any], object] | None,
        refused: str | None,
    ) -> None:
        checklist = self.checklist
        try:
            outcome = change(checklist)
        except WorkbenchError as exc:
            self.call_from_thread(
                self.notify, exc.paragraph, title=refused or "", severity="error", timeout=15
            )
            return
        self.post_message(StandingChanged(checklist.standing()))
        if then is not None:
            self.call_from_thread(then, outcome)

    def _redraw(self) -> None:
        for screen in self.screen_stack:
            update = getattr(screen, "update_from_checklist", None)
            if update is not None and screen.is_mounted:
                update()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.worker_failed(event.worker, self)

    def worker_failed(self, worker: Worker[object], where: DOMNode) -> None:
        """Every failed worker of the app and its screens ends here: a notice, never a crash.

        Reading the checklist failing is said as such; any other failure (checks,
        snapshot, release) also goes into the step's log and the statuses are re-read,
        since the work may have saved results before it failed."""
        error = worker.error
        text = (
            error.paragraph
            if isinstance(error, WorkbenchError)
            else f"{type(error).__name__}: {error}"
        )
        if worker.group == "load":
            self.notify(text, title="Could not read the checklist", severity="error", timeout=15)
            return
        show = getattr(where, "show_failure", None)
        if show is not None:
            show(text)
        self.notify(text, title=f"{worker.description} failed", severity="error", timeout=10)
        self.reload_checklist()

    # --- navigation and modes ---------------------------------------------------------------

    def open_step(self, step: str) -> None:
        from screens.steps import step_screen  # step screens load when first opened

        self._to_home()
        self.push_screen(step_screen(step))

    def open_release(self, version: str | None, action: str | None) -> None:
        """The Push step on this release, then `action` on it as if chosen there."""
        from screens.push import PushScreen

        self.open_step("push")
        screen = self.screen
        if isinstance(screen, PushScreen):
            screen.call_after_refresh(screen.act_on_release, version, action)

    def action_home(self) -> None:
        self.unless_unsaved(self._to_home)

    def _to_home(self) -> None:
        while len(self.screen_stack) > 1:  # Home is the default screen, at the bottom
            self.pop_screen()

    def action_goto(self, step: str) -> None:
        if isinstance(self.screen, ModalScreen):
            return  # a dialog is open: it is answered first
        self.unless_unsaved(lambda: self.open_step(step))

    def action_step_offset(self, delta: int) -> None:
        current = getattr(self.screen, "step", None)
        index = STEPS.index(current) + delta if current in STEPS else (0 if delta > 0 else -1)
        if 0 <= index < len(STEPS) or current not in STEPS:
            self.action_goto(STEPS[index])

    def action_commands(self) -> None:
        from screens.command_log import toggle_commands

        if not toggle_commands(self.screen):
            self.notify("The command log is in every step (L there): open one (1-5).")

    def action_quit(self) -> None:  # type: ignore[override]
        from screens.quitting import quit_safely

        if not quit_safely(self):
            self.unless_unsaved(self.exit)

    def unless_unsaved(self, then: Callable[[], object]) -> None:
        """Run `then`, after a confirmation when the screen holds unsaved edits."""
        from screens.dialogs import Confirm

        screen = self.screen
        if not getattr(screen, "dirty", False):
            then()
            return
        what = getattr(screen, "unsaved_what", "this screen")

        def answered(discard: bool | None) -> None:
            if discard:
                screen.dirty = False  # type: ignore[attr-defined]
                then()

        self.push_screen(
            Confirm(
                "Discard unsaved edits?",
                f"{what} has changes that are not saved (Ctrl+S saves them).",
                yes="Discard",
            ),
            answered,
        )

    def action_do_next(self) -> None:
        """Space: open the step of what blocks next and start it (screens/next_move.py)."""
        from screens.next_move import next_move, perform

        if isinstance(self.screen, ModalScreen):
            return
        if not self.loaded:
            self.notify("Still reading the checklist; press space again in a moment.")
            return
        if getattr(self.screen, "running", False):
            self.notify("Something is running; Escape cancels it.", severity="warning")
            return
        self.unless_unsaved(lambda: perform(self, next_move(self)))

    def action_help(self) -> None:
        from screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # Who is at the keyboard: pair mode, review mode, sign-off (screens/people.py).

    def action_pair_mode(self) -> None:
        from screens.people import ask_pair

        ask_pair(self)

    def action_swap_roles(self) -> None:
        if self.pair:
            self.set_pair((self.pair[1], self.pair[0]))

    def action_review_mode(self) -> None:
        from screens.people import ask_reviewer

        ask_reviewer(self)

    def set_reviewer(self, name: str) -> None:
        self.reviewer = name
        self._update_subtitle()
        self.refresh_bindings()

    def action_sign_off(self) -> None:
        from screens.people import sign_off

        sign_off(self)

    def action_write_report(self) -> None:
        self._write_report()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="report",
        description="writing the report",
    )
    def _write_report(self) -> None:
        from workbench.checklist import report
        from workbench.kernel.atomic import write_text_atomic

        target = self.manifest.root / ".workbench" / "report.md"
        write_text_atomic(
            target,
            report.to_markdown(report.build(self.checklist)),
            within=self.manifest.root,
            what="the report",
        )
        self.call_from_thread(self.notify, f"Wrote {target}")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        from screens.palette import workbench_commands

        yield from super().get_system_commands(screen)
        yield from workbench_commands(self, screen)

    def action_commit(self) -> None:
        from screens.commit import ask_commit

        ask_commit(self)

    def action_monitor(self) -> None:
        from screens.monitor import MonitorScreen

        self.push_screen(MonitorScreen())

    def action_channels(self) -> None:
        from screens.channels import ChannelsScreen

        self.push_screen(ChannelsScreen(self.manifest))


if TYPE_CHECKING:

    def _offers_what_screens_ask(app: WorkbenchApp) -> Workbench:
        return app  # mypy checks that the app satisfies the screens' Protocol
