"""The push in a framed panel (issue #25): every layer with its status, a bar, its size and
speed, and a total line; at 80x24, 100x30 and 160x45. The layers are posted as the push
worker posts them (the real push is walked in tests/tui/test_app.py)."""

from __future__ import annotations

from itertools import count
from pathlib import Path

import pytest
from textual.pilot import Pilot

from screens.app import WorkbenchApp
from screens.messages import LayerUpdate
from screens.push_panel import PushPanel
from tests.tui.test_snapshots import RELEASES, SIZES, settled
from workbench.project.manifest import load_manifest

pytestmark = pytest.mark.tui
LAYERS = [
    ("3f2a9c1d4e5b", "Pushed", 30_000_000, 30_000_000),
    ("a1b2c3d4e5f6", "Pushing", 52_400_000, 176_000_000),
    ("b7c8d9e0f1a2", "Layer already exists", 0, 0),
    ("c3d4e5f6a7b8", "Waiting", 0, 0),
]


async def pushing(pilot: Pilot[None]) -> PushPanel:
    app = pilot.app
    await settled(pilot)
    await pilot.press("5")
    await settled(pilot)
    app.release_rows = RELEASES  # type: ignore[attr-defined]
    app.screen.update_from_checklist()  # type: ignore[attr-defined]
    panel = app.screen.query_one(PushPanel)
    ticks = count()
    panel.clock = lambda: float(next(ticks))  # one second per reading: fixed speeds
    panel.start("push iris-classifier:1.1.0 -> localhost:5000/team/iris")
    for layer in LAYERS:
        app.screen.post_message(LayerUpdate(*layer))
    await pilot.pause()
    return panel


async def test_every_layer_its_size_and_speed_and_the_total(example_project: Path) -> None:
    app = WorkbenchApp(load_manifest(example_project))
    async with app.run_test(size=(100, 30)) as pilot:
        panel = await pushing(pilot)
        assert panel.display and "localhost:5000/team/iris" in str(panel.border_title)
        assert list(panel.pushed_layers) == [layer[0] for layer in LAYERS]
        text = "".join(segment.text for segment in app.console.render(panel.render_layers()))
        assert "52.4 MB / 176.0 MB" in text and "MB/s" in text, text
        assert "2 of 4 layers done · 82.4 MB of 206.0 MB" in text, text


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_push_panel_at_every_size(  # type: ignore[no-untyped-def]
    snap_compare, example_project: Path, size: tuple[int, int]
) -> None:
    app = WorkbenchApp(load_manifest(example_project))

    async def run_before(pilot: Pilot[None]) -> None:
        await pushing(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
