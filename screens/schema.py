"""The Schema step: the generic checklist, plus the schema editor on `e`."""

from __future__ import annotations

from textual.binding import Binding

from screens.schema_editor import SchemaEditor
from screens.step import StepScreen
from workbench.kernel.errors import WorkbenchError


class SchemaStepScreen(StepScreen):
    """The Schema step: the generic checklist, plus the editor on `e`."""

    BINDINGS = [Binding("e", "edit_schema", "Edit schema", id="schema.open")]
    EDITING_ACTIONS = StepScreen.EDITING_ACTIONS | {"edit_schema"}

    def action_edit_schema(self) -> None:
        try:
            editor = SchemaEditor(self.checklist.manifest)
        except WorkbenchError as exc:
            self.notify(exc.paragraph, severity="error", timeout=10)
            return
        self.app.push_screen(editor)
