"""People's answers on a step's checklist: yes / no / n/a with a note, waivers, the
navigator's confirmation, sign-off. Each change goes through the app's worker."""

from __future__ import annotations

from collections.abc import Callable

from textual.screen import Screen

from screens.answer import open_answer
from screens.context import Workbench, workbench
from screens.dialogs import TextPrompt
from workbench.checklist.engine import Checklist


class AnsweringScreen(Screen[None]):
    """The answering half of a step screen (StepScreen says which item is selected)."""

    @property
    def workbench(self) -> Workbench:
        return workbench(self)

    @property
    def checklist(self) -> Checklist:
        return self.workbench.checklist

    def selected_id(self) -> str | None:
        raise NotImplementedError

    def _manual_selected(self) -> str | None:
        item_id = self.selected_id()
        if item_id is None:
            return None
        if self.checklist.item(item_id).is_auto:
            self.notify("The tool checks this item: r runs it (w waives it).", severity="warning")
            return None
        return item_id

    def action_answer(self, answer: str | None = None) -> None:
        """The answer dialog; `answer` is the one a key chose (None, from Space: none)."""
        item_id = self._manual_selected()
        if item_id is None:
            return

        def done(answered: tuple[str, str] | None) -> None:
            if answered is not None:
                self._apply(lambda c: c.tick(item_id, *answered))

        view = self.workbench.views.get(item_id)
        open_answer(self, self.checklist, view, item_id, answer, done)

    def action_tick_yes(self) -> None:
        self.action_answer("yes")

    def action_tick_no(self) -> None:
        self.action_answer("no")

    def action_tick_na(self) -> None:
        self.action_answer("n/a")

    def action_waive(self) -> None:
        item_id = self.selected_id()
        if item_id is None:
            return

        def done(reason: str | None) -> None:
            if reason:
                self._apply(lambda c: c.waive(item_id, reason))

        self.app.push_screen(
            TextPrompt(
                f"Waive {item_id}: why is it safe to go on without it?",
                "the reason goes into the release manifest",
                min_length=10,
            ),
            done,
        )

    def action_confirm(self) -> None:
        item_id = self._manual_selected()
        navigator = self.checklist.navigator
        if item_id is not None and navigator:
            self._apply(lambda c: c.confirm(item_id, navigator))

    def action_sign_off(self) -> None:
        self.workbench.action_sign_off()

    def _apply(self, change: Callable[[Checklist], object]) -> None:
        """Tick, waive or confirm in a worker; the app redraws with the standing it answers."""
        self.workbench.change_checklist(change)
