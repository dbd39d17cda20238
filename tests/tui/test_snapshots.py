"""SVG snapshots of the home and a step screen at a fixed terminal size.

Nothing that varies is on these screens: the project has no results yet (so no
times), and paths are not shown. Update with: pytest tests/tui --snapshot-update
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from screens.app import WorkbenchApp
from workbench.project.manifest import load_manifest

pytestmark = pytest.mark.tui
SIZE = (120, 36)


async def settled(pilot: Pilot[None]) -> None:
    """Wait until the statuses are loaded (a worker started after the first paint)."""
    for _ in range(200):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if pilot.app.summaries:  # type: ignore[attr-defined]
            break
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_home_screen(snap_compare, example_project: Path) -> None:  # type: ignore[no-untyped-def]
    app = WorkbenchApp(load_manifest(example_project))
    assert snap_compare(app, terminal_size=SIZE, run_before=settled)


def test_schema_step_screen(snap_compare, example_project: Path) -> None:  # type: ignore[no-untyped-def]
    app = WorkbenchApp(load_manifest(example_project))

    async def open_schema(pilot: Pilot[None]) -> None:
        await settled(pilot)
        await pilot.press("2")
        await settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_schema)
