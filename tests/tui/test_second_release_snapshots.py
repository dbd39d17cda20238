"""SVG snapshots of home past the first release (issue #25), at 80x24, 100x30 and 160x45:
a finished release said plainly (what is left for a person, next agreeing with what limits
readiness), and a tested change the release does not hold (Space tags it).

The standing is made, not measured (every item passing but Push's questions, the release
facts given): what is drawn is the subject here; `tests/tui/test_app.py` walks the same
path on the real engine and registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from screens.app import WorkbenchApp
from tests.tui.test_snapshots import RELEASES, SIZES, settled
from tests.unit.test_moves import ITEMS, PUSH_QUESTIONS, passing, pending
from workbench.checklist.moves import ReleaseFacts
from workbench.checklist.standing import Standing
from workbench.project.manifest import load_manifest

pytestmark = pytest.mark.tui
LINE = (
    "Released [b]1.0.0[/b] on 2026-11-12T09:30:00Z by Ben · pushed sha256:"
    + "a" * 12
    + " · channels: production"
)


def shown(changed: bool) -> Standing:
    views = [pending(i) if i in PUSH_QUESTIONS else passing(i) for i in ITEMS]
    release = ReleaseFacts(
        "1.0.0", True, ("production",), changed=("serve.image-built",) if changed else ()
    )
    return Standing.of(10**9, views, release)  # newer than any the app reads meanwhile


def home_with(app: WorkbenchApp, changed: bool):  # type: ignore[no-untyped-def]
    async def run_before(pilot: Pilot[None]) -> None:
        await settled(pilot)
        app.release_rows = RELEASES[1:]
        app.release_line = LINE
        app._stand(shown(changed))
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_home_after_a_finished_release(  # type: ignore[no-untyped-def]
    snap_compare, example_project: Path, size: tuple[int, int]
) -> None:
    app = WorkbenchApp(load_manifest(example_project))
    assert snap_compare(app, terminal_size=size, run_before=home_with(app, changed=False))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_home_with_a_tested_change_to_release(  # type: ignore[no-untyped-def]
    snap_compare, example_project: Path, size: tuple[int, int]
) -> None:
    app = WorkbenchApp(load_manifest(example_project))
    assert snap_compare(app, terminal_size=size, run_before=home_with(app, changed=True))
