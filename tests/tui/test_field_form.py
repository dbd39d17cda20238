"""The schema editor's field form (issue #25): a label beside every field, the cursor in the
first field to fill (never the type picker), Enter submits, an OK that changes nothing
leaves the schema saved (and Ctrl+S then says nothing needs saving, writing nothing); the
fields table shows a field's bounds whole at 80x24."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Label
from textual.widgets.data_table import ColumnKey

from screens.schema_editor import FieldForm, SchemaEditor
from tests.tui.test_app import make_app, settle

pytestmark = pytest.mark.tui
LABELS = ["Name", "Type", "Required", "Minimum", "Maximum", "Allowed", "Description"]


async def open_editor(pilot: object) -> SchemaEditor:
    await settle(pilot)  # type: ignore[arg-type]
    await pilot.press("2", "e")  # type: ignore[attr-defined]
    editor = pilot.app.screen  # type: ignore[attr-defined]
    assert isinstance(editor, SchemaEditor)
    return editor


async def test_a_new_field_is_labelled_starts_at_its_name_and_enter_adds_it(
    example_project: Path,
) -> None:
    app = make_app(example_project)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        editor = await open_editor(pilot)
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FieldForm)
        rows = list(form.query(".form-row"))
        assert [str(r.query_one(Label).render()) for r in rows] == LABELS
        for row in rows:  # each label sits beside its own field, one per row
            assert len(row.children) == 2
        assert app.focused is form.query_one("#field-name", Input)  # not the type picker
        await pilot.press(*"garden", "enter")  # Enter in the name field is OK
        await pilot.pause()
        assert app.screen is editor and editor.dirty
        assert "garden" in editor.schema()["properties"]


async def test_an_unchanged_ok_leaves_the_schema_saved_and_ctrl_s_writes_nothing(
    example_project: Path,
) -> None:
    request = example_project / "schema" / "request.yaml"
    before = (request.read_bytes(), request.stat().st_mtime_ns)
    app = make_app(example_project)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        editor = await open_editor(pilot)
        table = editor.query_one("#fields", DataTable)
        assert str(table.get_cell("sepal_length", "constraints")) == "0 to 20"
        width = table.columns[ColumnKey("constraints")].get_render_width(table)
        assert width - 2 * table.cell_padding >= len("0 to 20")  # not cut to "maximum 2"
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, FieldForm)
        assert app.focused is form.query_one("#field-min", Input)  # the name is fixed
        assert form.query_one("#field-max", Input).value == "20"
        await pilot.press("enter")  # OK, nothing changed
        await pilot.pause()
        assert app.screen is editor and not editor.dirty
        assert editor.sub_title == "saved"
        assert any("unchanged" in n.message for n in app._notifications)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert any("Nothing to save" in n.message for n in app._notifications)
        assert not any(n.message.startswith("Saved") for n in app._notifications)
    assert (request.read_bytes(), request.stat().st_mtime_ns) == before
