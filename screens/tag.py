"""The Tag step: the generic checklist plus releasing (`t`): the suggested version, then the
release candidate built, tested and tagged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.binding import Binding

from screens.context import tones
from screens.dialogs import TextPrompt
from screens.messages import ReleaseDone
from screens.progress import LogBatcher
from screens.step import StepScreen
from screens.step_action import ActionStepScreen
from workbench.kernel.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.steps.tag.version import Suggestion


class TagScreen(ActionStepScreen):
    BINDINGS = [Binding("t", "tag_release", "Tag release", id="tag.release")]
    EDITING_ACTIONS = StepScreen.EDITING_ACTIONS | {"tag_release"}

    def action_tag_release(self) -> None:
        if self.begin("working out the next version"):
            self._suggest()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="release",
        description="suggesting a version",
    )
    def _suggest(self) -> None:
        from workbench.steps.tag.release import suggest

        try:
            suggestion = suggest(self.checklist.manifest)
        except WorkbenchError as exc:
            self.post_message(ReleaseDone(exc.paragraph, ok=False))
            return
        self.app.call_from_thread(self._ask_version, suggestion)

    def _ask_version(self, suggestion: Suggestion) -> None:
        suggested = str(suggestion.version)
        reason = f"{suggestion.level}: {suggestion.reason}"
        self.log_line(f"suggested {suggested} ({reason})")

        def done(answer: str | None) -> None:
            if answer is None:
                self.running = False
                self.log_line(f"[{tones(self).warn}]tag cancelled[/]")
                return
            version = answer or suggested
            # The running row says the release now, no longer the suggestion it came from.
            self.doing, self.current_item, self.phase = f"releasing {version}", "", ""
            self._tag(version, suggestion)

        prompt = TextPrompt(f"Release version (suggested {suggested}; {reason[:60]})", suggested)
        self.app.push_screen(prompt, done)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="release",
        description="tagging the release",
    )
    def _tag(self, version: str, suggestion: Suggestion) -> None:
        from workbench.steps import gatekeeper
        from workbench.steps.tag.release import create_release

        batcher = LogBatcher(self)  # the build's output arrives line by line: batch it

        def tag() -> str:
            try:
                release = create_release(
                    gatekeeper(self.checklist),
                    version,
                    suggestion=suggestion,  # the one just shown: worked out once per tag
                    log=self.phase_log(batcher),
                    detail=batcher,
                    cancel=self.cancel_event,
                    phase=self.phase_started,
                )
            finally:
                batcher.flush()
            return f"released {release.version}: git tag {release.tag}, image {release.image_ref}"

        self.report(tag)
