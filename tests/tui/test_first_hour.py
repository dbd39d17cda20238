"""The first hour in the TUI (issue #25): home says what comes next and what limits
readiness; dialogs wrap their text; name prompts have no placeholder trap; lazygit keys in
the checklist; screenshots land in a folder that exists, and the notice names it; the
releases' channels are in view at 80 columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Label, Static

from screens.dialogs import Confirm, TextPrompt
from screens.release_panel import ReleaseTable
from screens.screenshots import screenshot_folder
from tests.tui.test_app import make_app, settle
from tests.tui.test_snapshots import RELEASES
from workbench.kernel.paths import asset
from workbench.project.manifest import load_manifest

pytestmark = pytest.mark.tui


class Host(App[None]):
    CSS_PATH = [asset("styles", "app.tcss")]  # the app's own styles: dialogs as they are

    def __init__(self, dialog: object) -> None:
        super().__init__()
        self.dialog = dialog
        self.answer: object = "unanswered"

    def compose(self) -> ComposeResult:
        yield Label("host")

    def on_mount(self) -> None:
        self.push_screen(self.dialog, lambda answer: setattr(self, "answer", answer))  # type: ignore[arg-type]


async def test_dialog_text_wraps_at_80_columns_instead_of_being_cut() -> None:
    body = "production: 1.0.0 -> 1.0.1, " * 8 + "the end of the sentence"
    dialog = Confirm("Promote?", body)
    async with Host(dialog).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        label = dialog.query_one("#confirm-body", Label)
        frame = dialog.query_one(".dialog")
        assert label.size.height > 1  # wrapped over lines
        assert label.region.right <= frame.region.right  # never past the frame
        assert label.content_size.width < len(body)


async def test_an_empty_name_prompt_says_what_it_needs_instead_of_doing_nothing() -> None:
    prompt = TextPrompt("Review mode: your name", "e.g. Rita", required="Write your name.")
    host = Host(prompt)
    async with host.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # the grey placeholder is no answer
        await pilot.pause()
        assert host.answer == "unanswered" and host.screen is prompt
        assert "Write your name." in str(prompt.query_one("#prompt-error", Label).render())
        await pilot.press(*"Rita", "enter")
        await pilot.pause()
    assert host.answer == "Rita"


async def test_pair_and_review_prompts_are_prefilled_with_who_is_at_the_keyboard(
    example_project: Path,
) -> None:
    app = make_app(example_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_review_mode()
        await pilot.pause()
        assert app.screen.query_one(Input).value == "Ana"
        await pilot.press("escape")
        app.action_pair_mode()
        await pilot.pause()
        assert app.screen.query_one(Input).value == "Ana, "
        await pilot.press(*"Ben", "enter")
        await pilot.pause()
        assert app.pair == ("Ana", "Ben")


async def test_home_says_next_and_what_limits_readiness(example_project: Path) -> None:
    app = make_app(example_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        readiness = str(app.screen.query_one("#readiness", Static).render())
        assert "limited by Snapshot: " in readiness and "not run" in readiness, readiness
        said = str(app.screen.query_one("#next", Static).render())
        assert said == "Next: Snapshot: take the snapshot"
        assert app.standing.move.step == app.standing.readiness.limited_by == "snapshot"


async def test_j_k_g_G_move_in_the_checklist_and_help_lists_them(example_project: Path) -> None:
    app = make_app(example_project)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one("#items")
        assert table.cursor_row == 0
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1 > 1
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("question_mark")
        await pilot.pause()
        keys = str(app.screen.query_one("#help-keys", Static).render())
        assert "j / k" in keys and "g / G" in keys


async def test_the_channels_of_a_release_are_in_view_at_80_columns(example_project: Path) -> None:
    app = make_app(example_project)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        app.release_rows = RELEASES
        app.screen.update_from_checklist()  # type: ignore[attr-defined]
        await pilot.pause()
        table = app.screen.query_one(ReleaseTable)
        columns = list(table.columns.values())
        assert str(columns[1].label) == "channels"
        right = sum(c.get_render_width(table) for c in columns[:2])
        assert right <= table.scrollable_content_region.width
        assert table.get_row("1.0.0")[1] == "production"


def test_a_screenshot_folder_is_made_when_missing(tmp_path: Path, example_project: Path) -> None:
    manifest = load_manifest(example_project)
    downloads = tmp_path / "home" / "Downloads"
    assert screenshot_folder(manifest, downloads) == downloads and downloads.is_dir()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    fallback = screenshot_folder(manifest, blocked / "Downloads")
    assert fallback == example_project / ".workbench" / "screenshots" and fallback.is_dir()


async def test_a_screenshot_is_saved_and_the_notice_names_the_path(
    tmp_path: Path, example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    downloads = tmp_path / "no-such-home" / "Downloads"
    monkeypatch.setattr(platformdirs, "user_downloads_path", lambda: downloads)
    app = make_app(example_project)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        app.deliver_screenshot("home.svg")
        for _ in range(50):
            await pilot.pause(0.05)
            if (downloads / "home.svg").exists() and app._notifications:
                break
        assert (downloads / "home.svg").read_text().startswith("<svg")
        said = " ".join(str(n.message) for n in app._notifications)
        assert str(downloads / "home.svg") in said, said


def committed(project: Path) -> Path:
    from tests.helpers import git

    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.name", "Ana Tester")
    git(project, "config", "user.email", "ana@example.com")
    git(project, "add", ".")
    git(project, "commit", "-qm", "the iris model")
    return project


def test_what_changed_names_the_workbenchs_own_files(example_project: Path) -> None:
    from workbench.kernel.errors import WorkbenchError
    from workbench.project.commits import changes, commit, suggested_message

    manifest = load_manifest(committed(example_project))
    assert changes(manifest) == []
    (example_project / "checklist.yaml").write_text("results: {}\n")
    found = changes(manifest)
    assert [(c.path, c.state, c.own) for c in found] == [("checklist.yaml", "new", True)]
    assert suggested_message(found) == "workbench: checklist"
    (example_project / "predict_notes.md").write_text("why\n")
    found = changes(manifest)
    assert {c.path: c.own for c in found} == {"checklist.yaml": True, "predict_notes.md": False}
    assert suggested_message(found) == ""  # a person's change: a person's words
    with pytest.raises(WorkbenchError, match="needs a message"):
        commit(manifest, "  ")
    assert len(commit(manifest, "notes and the checklist")) >= 7
    assert changes(manifest) == []
    with pytest.raises(WorkbenchError, match="nothing to commit"):
        commit(manifest, "again")


async def test_commit_from_the_tui_lists_the_changes_and_takes_a_message(
    example_project: Path,
) -> None:
    from screens.commit import CommitDialog
    from tests.helpers import git

    project = committed(example_project)
    request = project / "schema" / "request.yaml"
    request.write_text(request.read_text().replace("never missing.", "never empty.", 1))
    from workbench.steps import open_checklist

    open_checklist(load_manifest(project), user="Ana").tick(  # the workbench writes its file
        "schema.descriptions-complete", "yes", note="every field in cm"
    )
    app = make_app(project)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("C")
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, CommitDialog):
                break
        dialog = app.screen
        assert isinstance(dialog, CommitDialog)
        listed = str(dialog.query_one("#commit-changes Static", Static).render())
        assert "schema/request.yaml" in listed and "checklist.yaml" in listed, listed
        assert "checklist.yaml  (the workbench's)" in listed  # its own file, named so
        await pilot.press("enter")  # an empty message is refused, with the reason
        await pilot.pause()
        assert app.screen is dialog
        assert "Write what changed" in str(dialog.query_one("#commit-error", Label).render())
        await pilot.press(*"a clearer description", "enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if "a clearer description" in git(project, "log", "-1", "--format=%s"):
                break
        await settle(pilot)
    assert git(project, "log", "-1", "--format=%s") == "a clearer description"
    assert git(project, "status", "--porcelain") == ""
