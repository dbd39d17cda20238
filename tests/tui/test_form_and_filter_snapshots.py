"""SVG snapshots at 80x24, 100x30 and 160x45 of the schema field form (a label beside every
field, the cursor in the minimum of an existing field, bounds whole in the table) and of a
step's checklist filtered with `/` (issue #25). Nothing on them varies: no results, no
times, no paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from screens.app import WorkbenchApp
from tests.tui.test_snapshots import SIZES, settled
from workbench.project.manifest import load_manifest

pytestmark = pytest.mark.tui


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_field_form_at_every_size(  # type: ignore[no-untyped-def]
    snap_compare, example_project: Path, size: tuple[int, int]
) -> None:
    app = WorkbenchApp(load_manifest(example_project))

    async def edit_a_field(pilot: Pilot[None]) -> None:
        await settled(pilot)
        await pilot.press("2", "e")
        await settled(pilot)
        await pilot.press("e")
        await settled(pilot)  # (a loaded machine drew the form half-made at 160x45 once)

    assert snap_compare(app, terminal_size=size, run_before=edit_a_field)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_filtered_checklist_at_every_size(  # type: ignore[no-untyped-def]
    snap_compare, example_project: Path, size: tuple[int, int]
) -> None:
    app = WorkbenchApp(load_manifest(example_project))

    async def filter_serve(pilot: Pilot[None]) -> None:
        await settled(pilot)
        await pilot.press("3")
        await settled(pilot)
        await pilot.press("slash", *"gate", "enter")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=filter_serve)
