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
from textual.widget import Widget
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
    """Add or change one field: name, type, required, bounds, enum, description. Every field
    has its label beside it; the cursor starts in the first one to fill (the name of a new
    field, the minimum of an existing one); Enter in any text field is OK."""

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
        with Vertical(classes="dialog field-form"):
            title = f"Field {self.field_name}" if self.field_name else "New field"
            yield Label(title, classes="dialog-title")
            yield from _row(
                "Name",
                Input(
                    self.field_name, placeholder="e.g. petal_width", id="field-name", compact=True
                ),
                disabled=bool(self.field_name),
            )
            yield from _row(
                "Type",
                Select(
                    [(t, t) for t in TYPES],
                    value=kind,
                    allow_blank=False,
                    id="field-type",
                    compact=True,
                ),
            )
            yield from _row(
                "Required",
                Checkbox(
                    "a request must carry it", self.required, id="field-required", compact=True
                ),
            )
            yield from _row(
                "Minimum",
                Input(_text(f.get("minimum")), placeholder="none", id="field-min", compact=True),
            )
            yield from _row(
                "Maximum",
                Input(_text(f.get("maximum")), placeholder="none", id="field-max", compact=True),
            )
            yield from _row(
                "Allowed",
                Input(
                    ", ".join(map(str, f.get("enum") or [])),
                    placeholder="any value; or values, comma separated",
                    id="field-enum",
                    compact=True,
                ),
            )
            yield from _row(
                "Description",
                Input(
                    str(f.get("description", "")),
                    placeholder="unit, meaning, how a missing value is sent",
                    id="field-description",
                    compact=True,
                ),
            )
            yield Label("", id="field-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (Enter)", variant="primary", id="ok")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        first = "#field-min" if self.field_name else "#field-name"
        self.query_one(first, Input).focus()

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "ok":
            self.dismiss(None)
            return
        self.submit()

    def submit(self) -> None:
        name = self._value("field-name").strip()
        if not name.isidentifier():
            self.query_one("#field-error", Label).update(
                "The name must be an identifier (letters, digits, _; not starting with a digit)."
            )
            self.query_one("#field-name", Input).focus()
            return
        try:
            minimum, maximum = _number(self._value("field-min")), _number(self._value("field-max"))
        except ValueError:
            self.query_one("#field-error", Label).update("Minimum and maximum must be numbers.")
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


def _constraints(sub: dict[str, Any]) -> str:
    """A field's bounds said short, so the column shows them whole at 80 columns too:
    `0 to 20`, `> 0`, `≤ 64 chars`, `one of a, b`."""
    said = []
    if "minimum" in sub and "maximum" in sub:
        said.append(f"{sub['minimum']} to {sub['maximum']}")
    else:
        for key, sign in (
            ("minimum", "≥"),
            ("exclusiveMinimum", ">"),
            ("maximum", "≤"),
            ("exclusiveMaximum", "<"),
        ):
            if key in sub:
                said.append(f"{sign} {sub[key]}")
    if "maxLength" in sub:
        said.append(f"≤ {sub['maxLength']} chars")
    if "pattern" in sub:
        said.append(f"pattern {sub['pattern']}")
    if "enum" in sub:
        said.append("one of " + ", ".join(map(str, sub["enum"])))
    return "; ".join(said)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _row(label: str, widget: Widget, *, disabled: bool = False) -> ComposeResult:
    """One line of the form: its label, then the widget (compact ones: it fits 80x24)."""
    widget.disabled = disabled
    with Horizontal(classes="form-row"):
        yield Label(label, classes="form-label")
        yield widget


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
            constraints = _constraints(sub)
            table.add_row(
                name,
                str(sub.get("type", "")),
                "yes" if name in required else "",
                constraints,
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
        before = dump_yaml(self.document)
        set_field(self.document, answer["name"], answer["updates"], answer["required"])
        if dump_yaml(self.document) == before:  # OK on a form left as it was: no edit
            self.notify(f"{answer['name']} is unchanged.")
            return
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
        if not self.dirty:
            self.notify(f"Nothing to save: {self.manifest.schema.request} is as it was read.")
            return
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
