"""The Serve step: the generic checklist plus Try it (`t`), where a person calls the tested
image by hand and answers `serve.tried-by-hand` from what they read."""

from __future__ import annotations

from textual.binding import Binding

from screens.step import StepScreen
from screens.try_it import Answer, TryItScreen
from workbench.kernel.errors import WorkbenchError

TRIED = "serve.tried-by-hand"


class ServeScreen(StepScreen):
    BINDINGS = [Binding("t", "try_it", "Try it", id="serve.try")]
    EDITING_ACTIONS = StepScreen.EDITING_ACTIONS | {"try_it"}  # review mode runs nothing

    def action_try_it(self) -> None:
        from workbench.project.model_env import load_examples
        from workbench.steps.serve.trial import image_to_try

        if self.running:
            self.notify("Checks are running; try the image when they finish.", severity="warning")
            return
        try:
            image_id, about = image_to_try(self.workbench.views.get("serve.image-built"))
            examples = load_examples(self.checklist.manifest, missing_ok=True)
        except WorkbenchError as exc:
            self.notify(exc.paragraph, severity="warning", timeout=10)
            return

        def answered(answer: Answer | None) -> None:
            if answer is not None:
                self.select_item(TRIED)  # a team may disable the item: then nothing moves
                self._apply(lambda c: c.tick(TRIED, *answer))

        self.app.push_screen(
            TryItScreen(self.checklist.manifest, image_id, about, examples), answered
        )
