"""The item detail says how to fix only what failed: a stale or pending item needs running or
answering, not fixing (a stale serve.non-root used to say "Keep USER 10001 ...")."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from tests.tui.test_app import SIZE, make_app, settle
from workbench.checklist.checks import CheckResult
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist

pytestmark = pytest.mark.tui


async def _detail(project: Path, item_id: str) -> str:
    app = make_app(project)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")  # Serve
        await settle(pilot)
        table = app.screen.query_one("#items", DataTable)
        row = table.get_row_index(item_id)
        table.move_cursor(row=row)
        await pilot.pause()
        return str(app.screen.query_one("#detail", Static).render())


async def test_a_failed_item_shows_its_fix_a_stale_one_what_to_run(example_project: Path) -> None:
    checklist = open_checklist(load_manifest(example_project), user="Ana")
    checklist.record({"serve.non-root": CheckResult.failed("the server runs as root (uid 0)")})
    failed = await _detail(example_project, "serve.non-root")
    assert "How to fix" in failed and "USER 10001" in failed
    (example_project / "schema" / "request.yaml").write_text(
        (example_project / "schema" / "request.yaml").read_text() + "\n# changed\n"
    )  # its inputs changed: the stored result is stale now
    stale = await _detail(example_project, "serve.non-root")
    assert "stale" in stale
    assert "How to fix" not in stale and "USER 10001" not in stale
    assert "workbench check --step serve" in stale
