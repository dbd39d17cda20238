"""SVG snapshots of the home, a step and the release panel, at 80x24, 100x30 and 160x45
(and the schema step at the size the other TUI tests use).

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
    steady_cursors(pilot)
    await pilot.pause()


def steady_cursors(pilot: Pilot[None]) -> None:
    """A blinking cursor is drawn or not depending on the moment the picture is taken, which
    on a loaded machine is any moment (the 100x30 field form once came without its cursor):
    every input on the screen shows its cursor steadily."""
    from textual.widgets import Input

    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


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


SIZES = [(80, 24), (100, 30), (160, 45)]
RELEASES = [
    {
        "version": "1.1.0",
        "created": "2026-11-20T10:02:00Z",
        "by": "Ana",
        "tagged": True,
        "pushed": True,
        "signed": True,
        "attested": True,
        "advisories": "none of 12",
        "digest": "sha256:" + "b" * 64,
        "channels": ["staging"],
        "quality": "accuracy 0.9667",
    },
    {
        "version": "1.0.0",
        "created": "2026-11-12T09:30:00Z",
        "by": "Ben",
        "tagged": True,
        "pushed": True,
        "signed": True,
        "attested": False,  # pushed before releases were attested
        "advisories": "none configured",
        "digest": "sha256:" + "a" * 64,
        "channels": ["production"],
        "quality": "accuracy 0.9333",
    },
]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_home_at_every_size(snap_compare, example_project: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = WorkbenchApp(load_manifest(example_project))
    assert snap_compare(app, terminal_size=size, run_before=settled)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_step_at_every_size(snap_compare, example_project: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = WorkbenchApp(load_manifest(example_project))

    async def open_serve(pilot: Pilot[None]) -> None:
        await settled(pilot)
        await pilot.press("3")
        await settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_serve)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_release_panel_at_every_size(  # type: ignore[no-untyped-def]
    snap_compare, example_project: Path, size: tuple[int, int]
) -> None:
    """The Push step with two releases on two channels (fixed rows: what is drawn is the
    subject here; the functional TUI test fills the table from a real release)."""
    app = WorkbenchApp(load_manifest(example_project))

    async def open_push(pilot: Pilot[None]) -> None:
        await settled(pilot)
        await pilot.press("5")
        await settled(pilot)
        app.release_rows = RELEASES
        app.screen.update_from_checklist()  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=open_push)
