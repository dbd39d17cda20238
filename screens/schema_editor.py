"""The Schema editor: the request fields as a table, a form to add or change one, the
YAML beside it, and the example requests re-validated after every edit.

Edits change the round-trip document in memory (comments and layout kept) and are
written atomically with Ctrl+S; leaving with unsaved edits (Escape, q, Home, a step key) asks
first.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from ruamel.yaml.comments import CommentedMap
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    Select,
    Static,
    TextArea,
)

from screens.context import tones, workbench
from screens.dialogs import Confirm
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import dump_yaml, load_yaml, to_plain, write_yaml_atomic
from workbench.project.manifest import Manifest
from workbench.project.model_env import load_examples
from workbench.steps.schema.contract import schema_problems, validation_errors
from workbench.steps.schema.edit import remove_field, set_field

TYPES = ("number", "integer", "string", "boolean")


def _number(text: str) -> float | int | None:
    text = text.strip()
    if not text:
        return None
    value = float(text)
    return int(value) if value.is_integer() else value


class FieldForm(ModalScreen[dict[str, Any] | None]):
    """Add or change one field: name, type, required, bounds, enum, description."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="field.cancel")]

    def __init__(
        self, name: str = "", field: dict[str, Any] | None = None, required: bool = False
    ) -> None:
        super().__init__()
        self.field_name = name
        self.field = field or {}
        self.required = required

    def compose(self) -> ComposeResult:
        f = self.field
        kind = f.get("type") if f.get("type") in TYPES else "number"
        with Vertical(classes="dialog"):
            yield Label("Field" if self.field_name else "New field", classes="dialog-title")
            yield Input(
                self.field_name, placeholder="name", id="field-name", disabled=bool(self.field_name)
            )
            yield Select([(t, t) for t in TYPES], value=kind, allow_blank=False, id="field-type")
            yield Checkbox("required", self.required, id="field-required")
            yield Input(str(f.get("minimum", "")), placeholder="minimum", id="field-min")
            yield Input(str(f.get("maximum", "")), placeholder="maximum", id="field-max")
            yield Input(
                ", ".join(map(str, f.get("enum") or [])),
                placeholder="allowed values, comma separated",
                id="field-enum",
            )
            yield Input(
                str(f.get("description", "")),
                placeholder="description: unit, meaning, how a missing value is sent",
                id="field-description",
            )
            yield Label("", id="field-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "ok":
            self.dismiss(None)
            return
        name = self._value("field-name").strip()
        if not name.isidentifier():
            self.query_one("#field-error", Label).update("The name must be an identifier.")
            return
        try:
            minimum, maximum = _number(self._value("field-min")), _number(self._value("field-max"))
        except ValueError:
            self.query_one("#field-error", Label).update("Bounds must be numbers.")
            return
        kind = str(self.query_one("#field-type", Select).value)
        enum = [v.strip() for v in self._value("field-enum").split(",") if v.strip()]
        self.dismiss(
            {
                "name": name,
                "required": self.query_one("#field-required", Checkbox).value,
                "updates": {
                    "type": kind,
                    "minimum": minimum if kind in ("number", "integer") else None,
                    "maximum": maximum if kind in ("number", "integer") else None,
                    "enum": enum or None,
                    "description": self._value("field-description").strip() or None,
                },
            }
        )

    def action_cancel(self) -> None:
        self.dismiss(None)


class SchemaEditor(Screen[None]):
    BINDINGS = [
        Binding("a", "add_field", "Add field", id="schema.add"),
        Binding("e", "edit_field", "Edit field", id="schema.edit"),
        Binding("d", "delete_field", "Delete field", id="schema.delete"),
        Binding("ctrl+s", "save", "Save", id="schema.save"),
        Binding("escape", "close", "Back", id="schema.back"),
    ]

    def __init__(self, manifest: Manifest) -> None:
        super().__init__()
        self.manifest = manifest
        self.path = manifest.resolve(manifest.schema.request)
        document = load_yaml(self.path, what="request schema", within=manifest.root)
        if not isinstance(document, CommentedMap):
            raise WorkbenchError(f"{self.path}: the request schema is not a mapping.")
        self.document = document
        self.examples = load_examples(manifest)
        self.dirty = False
        self.unsaved_what = manifest.schema.request

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="schema-body"):
            with Vertical(id="schema-left"):
                yield DataTable(id="fields", cursor_type="row", zebra_stripes=True)
                yield Static("", id="examples")
            yield TextArea("", id="yaml", read_only=True, language=None, soft_wrap=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.title = f"workbench · Schema editor · {self.manifest.schema.request}"
        table = self.query_one("#fields", DataTable)
        for key, label in (
            ("name", "field"),
            ("type", "type"),
            ("required", "req"),
            ("constraints", "constraints"),
            ("description", "description"),
        ):
            table.add_column(label, key=key)
        self.refresh_view()
        table.focus()

    # --- showing ---------------------------------------------------------------------------

    def schema(self) -> dict[str, Any]:
        plain: dict[str, Any] = to_plain(self.document)
        return plain

    def refresh_view(self) -> None:
        schema = self.schema()
        table = self.query_one("#fields", DataTable)
        cursor = table.cursor_row
        table.clear()
        required = set(schema.get("required") or [])
        for name, sub in (schema.get("properties") or {}).items():
            constraints = []
            for key in (
                "minimum",
                "maximum",
                "exclusiveMinimum",
                "exclusiveMaximum",
                "maxLength",
                "pattern",
            ):
                if key in sub:
                    constraints.append(f"{key} {sub[key]}")
            if "enum" in sub:
                constraints.append("one of " + ", ".join(map(str, sub["enum"])))
            table.add_row(
                name,
                str(sub.get("type", "")),
                "yes" if name in required else "",
                "; ".join(constraints),
                str(sub.get("description", "")),
                key=name,
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        self.query_one("#yaml", TextArea).load_text(dump_yaml(self.document))
        self.query_one("#examples", Static).update(self.validation_text(schema))
        self.sub_title = "unsaved changes" if self.dirty else "saved"

    def validation_text(self, schema: dict[str, Any]) -> str:
        problems = schema_problems(schema)
        if problems:
            bad = tones(self).bad
            return f"[b {bad}]The schema is not valid:[/] " + escape("; ".join(problems))
        lines = [f"[b]Examples[/b] ({len(self.examples)}), validated after every edit:"]
        for name, record in self.examples:
            errors = validation_errors(schema, record)
            if errors:
                lines += [
                    f"[{tones(self).bad}]✘ {escape(name)}[/] {escape(path)}: {escape(message)}"
                    for path, message in errors
                ]
            else:
                lines.append(f"[{tones(self).ok}]✔ {escape(name)}[/]")
        return "\n".join(lines)

    def example_errors(self) -> list[str]:
        schema = self.schema()
        return [
            f"{name} {path}: {message}"
            for name, record in self.examples
            for path, message in validation_errors(schema, record)
        ]

    def selected(self) -> str | None:
        table = self.query_one("#fields", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(row_key.value)

    # --- editing ---------------------------------------------------------------------------

    def _apply(self, answer: dict[str, Any] | None) -> None:
        if answer is None:
            return
        set_field(self.document, answer["name"], answer["updates"], answer["required"])
        self.dirty = True
        self.refresh_view()

    def action_add_field(self) -> None:
        self.app.push_screen(FieldForm(), self._apply)

    def action_edit_field(self) -> None:
        name = self.selected()
        if name is None:
            return
        schema = self.schema()
        self.app.push_screen(
            FieldForm(name, schema["properties"][name], name in (schema.get("required") or [])),
            self._apply,
        )

    def action_delete_field(self) -> None:
        name = self.selected()
        if name is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                remove_field(self.document, name)
                self.dirty = True
                self.refresh_view()
                self.notify(f"Removed {name} (Ctrl+S saves).")

        self.app.push_screen(
            Confirm(
                f"Delete the field {name}?",
                f"{name} leaves {self.manifest.schema.request} (nothing is written until Ctrl+S).",
                yes="Delete",
            ),
            answered,
        )

    def action_save(self) -> None:
        try:
            write_yaml_atomic(self.path, self.document, within=self.manifest.root)
        except WorkbenchError as exc:  # a symlink out of the project, a full disk
            self.notify(exc.paragraph, title="Not saved", severity="error", timeout=12)
            return
        self.dirty = False
        self.refresh_view()
        errors = self.example_errors()
        self.notify(
            f"Saved {self.manifest.schema.request}"
            + (f"; {len(errors)} example errors remain." if errors else "."),
            severity="warning" if errors else "information",
        )
        workbench(self).reload_checklist()

    def action_close(self) -> None:
        # Unsaved edits: a confirmation first (as for q, Home and the step keys).
        workbench(self).unless_unsaved(self.app.pop_screen)

    @on(DataTable.RowSelected)
    def _selected(self, _: DataTable.RowSelected) -> None:
        self.action_edit_field()
