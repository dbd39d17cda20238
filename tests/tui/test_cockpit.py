"""The TUI as a cockpit (issue #16): steps from anywhere, help, unsaved edits guarded,
destructive actions confirmed, promote and roll back chosen from lists with from -> to."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Label

from screens.dialogs import Confirm, MoveChannel, PickChannel
from screens.help import HelpScreen
from screens.schema_editor import SchemaEditor
from tests.tui.test_app import SIZE, make_app, settle


async def test_steps_open_from_anywhere_with_digits_and_brackets(example_project: Path) -> None:
    app = make_app(example_project)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        assert getattr(app.screen, "step", None) == "serve"
        await pilot.press("5")  # from a step, no trip through home
        assert getattr(app.screen, "step", None) == "push"
        assert len(app.screen_stack) == 2  # home below, one step: nothing piles up
        await pilot.press("left_square_bracket")
        assert getattr(app.screen, "step", None) == "tag"
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert getattr(app.screen, "step", None) == "push"  # the last step stays the last
        await pilot.press("h")
        assert getattr(app.screen, "step", None) is None
        await pilot.press("right_square_bracket")
        assert getattr(app.screen, "step", None) == "snapshot"


async def test_help_lists_the_keys_of_the_screen_and_what_the_step_is_for(
    example_project: Path,
) -> None:
    app = make_app(example_project)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-keys").render())
        for words in ("Promote", "Roll back", "Run all", "previous / next step", "this help"):
            assert words in text
        assert "pushes the tested image" in str(app.screen.query_one("#help-purpose").render())
        await pilot.press("escape")
        assert getattr(app.screen, "step", None) == "push"
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


async def test_unsaved_schema_edits_are_guarded_on_quit_home_step_keys_and_escape(
    example_project: Path,
) -> None:
    request = example_project / "schema" / "request.yaml"
    before = request.read_text()
    app = make_app(example_project)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "e")
        editor = app.screen
        assert isinstance(editor, SchemaEditor)
        await pilot.press("d")  # deleting a field asks first
        assert isinstance(app.screen, Confirm)
        assert "sepal_length" in str(app.screen.query_one("#confirm-body", Label).render())
        await pilot.press("y")
        assert editor.dirty and "sepal_length" not in editor.schema()["properties"]
        for key in ("q", "h", "4", "escape"):
            await pilot.press(key)
            assert isinstance(app.screen, Confirm), key  # asked, never discarded silently
            await pilot.press("n")
            assert app.screen is editor and editor.dirty and app.is_running
        await pilot.press("4")
        await pilot.press("y")  # discard: then the step it asked for
        assert getattr(app.screen, "step", None) == "tag"
    assert request.read_text() == before  # nothing was written


class Host(App[None]):
    def __init__(self, dialog: object) -> None:
        super().__init__()
        self.dialog = dialog
        self.answer: object = "unanswered"

    def compose(self) -> ComposeResult:
        yield Label("host")

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self._done)  # type: ignore[arg-type]

    def _done(self, answer: object) -> None:
        self.answer = answer


async def test_promote_chooses_a_real_version_and_channel_and_says_from_where_to_where() -> None:
    dialog = MoveChannel(["1.1.0", "1.0.0"], {"production": "1.0.0"})
    app = Host(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        summary = dialog.query_one("#move-summary", Label)
        assert str(summary.render()) == "production: 1.0.0 -> 1.1.0"
        from textual.widgets import Select

        dialog.query_one("#channel", Select).value = "staging"
        await pilot.pause()
        assert str(summary.render()) == "staging: (new channel) -> 1.1.0"
        dialog.query_one("#version", Select).value = "1.0.0"
        dialog.query_one("#channel", Select).value = "production"
        await pilot.pause()
        assert "already there: nothing moves" in str(summary.render())
        await pilot.press("escape")
    assert app.answer is None  # Escape: nothing moves

    dialog = MoveChannel(["1.1.0", "1.0.0"], {"production": "1.0.0"})
    app = Host(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # Enter submits
    assert app.answer == ("1.1.0", "production")


async def test_promote_shows_what_the_replay_said_of_the_chosen_release() -> None:
    said = "replay: fail, 180 of 200 answered as production (90.0%); prediction disagreed on 20"
    replays = {("1.1.0", "production"): said}
    dialog = MoveChannel(["1.1.0", "1.0.0"], {"production": "1.0.0"}, replays=replays)
    app = Host(dialog)
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        line = dialog.query_one("#move-replay", Label)
        assert str(line.render()) == said
        from textual.widgets import Select

        dialog.query_one("#channel", Select).value = "staging"
        await pilot.pause()
        assert str(line.render()) == "replay: none of 1.1.0 against staging (`workbench replay`)"
        await pilot.press("escape")
    assert app.answer is None


async def test_roll_back_offers_only_channels_with_an_earlier_release() -> None:
    dialog = PickChannel({"production": "1.1.0 -> 1.0.0"})
    app = Host(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert (
            str(dialog.query_one("#pick-summary", Label).render()) == "production: 1.1.0 -> 1.0.0"
        )
        await pilot.press("enter")
    assert app.answer == "production"


async def test_a_confirmation_is_answered_by_enter_y_n_or_escape() -> None:
    for keys, expected in (
        (("enter",), True),
        (("y",), True),
        (("n",), False),
        (("escape",), False),
    ):
        app = Host(Confirm("Push?", "iris:1.0.0 -> registry"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press(*keys)
        assert app.answer is expected, keys


async def test_space_does_what_blocks_next_snapshot_then_its_question_then_schema(
    example_project: Path,
) -> None:
    from textual.widgets import Input, Static

    from screens.answer import AnswerDialog
    from screens.next_move import next_move
    from workbench.checklist.checks import Status
    from workbench.checklist.state import load_state
    from workbench.project.lockfile import read_snapshot

    app = make_app(example_project)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert next_move(app).action == "take"  # a fresh project: no snapshot yet
        await pilot.press("space")
        await pilot.pause()
        assert getattr(app.screen, "step", None) == "snapshot"
        assert app.screen.running  # type: ignore[attr-defined]  # the snapshot was started
        for _ in range(600):
            await settle(pilot)
            done = app.views.get("snapshot.hashed")
            if done and done.status is Status.PASS and not app.screen.running:  # type: ignore[attr-defined]
                break
            await pilot.pause(0.1)
        move = next_move(app)
        assert (move.action, move.item) == ("tick", "snapshot.packages-expected")
        await pilot.press("space")  # from the step: the question, its row selected
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, AnswerDialog)
        # What the question is about is in view: every package of the runtime set, its
        # version and why it is there.
        shown = str(dialog.query_one("#answer-about Static", Static).render())
        runtime = read_snapshot(example_project).runtime
        assert runtime
        for name, entry in runtime.items():
            assert f"{name}=={entry.version}" in shown, shown
            assert entry.why[0] in shown, shown
        assert "The runtime set" in str(dialog.query_one("#answer-heading").render())
        assert "needs a note" in str(dialog.query_one("#answer-rule").render())
        # Space then Enter answers nothing: no answer is chosen for the person.
        assert dialog.chosen() is None
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog
        assert "Choose an answer first" in str(dialog.query_one("#answer-error").render())
        # Yes on a gate with an empty note is refused, with the reason.
        await pilot.press("tab", "enter")  # to the answers' buttons; Yes is the first
        await pilot.pause()
        assert app.screen is dialog
        assert dialog.chosen() == "yes"
        assert "needs a note" in str(dialog.query_one("#answer-error").render())
        assert dialog.query_one("#answer-note", Input).has_focus  # back to the note
        assert app.views["snapshot.packages-expected"].status is Status.PENDING
        # A proper answer ticks it.
        await pilot.press(*"scikit-learn and its requirements only", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, AnswerDialog)
        assert app.views["snapshot.packages-expected"].status is Status.PASS
        tick = load_state(example_project).ticks["snapshot.packages-expected"]
        assert (tick.answer, tick.note) == ("yes", "scikit-learn and its requirements only")
        move = next_move(app)
        assert (move.step, move.action) == ("schema", "run")
        await pilot.press("space")
        await pilot.pause()
        assert getattr(app.screen, "step", None) == "schema"


async def test_the_monitor_panel_shows_each_fields_drift_of_a_running_image(
    tmp_path: Path, example_project: Path
) -> None:
    """The runtime served by uvicorn on loopback with a reference; the panel reads it."""
    import json
    import threading
    import time as clock

    import httpx
    import uvicorn
    from textual.widgets import DataTable, Input

    from screens.monitor import MonitorScreen
    from tests.unit.test_monitoring import PREDICTOR
    from workbench.kernel.http import free_port
    from workbench.runtime import app as runtime
    from workbench.steps.serve import drift

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "sizes.py").write_text(PREDICTOR)
    (tmp_path / "schema").mkdir()
    request = {"type": "object", "properties": {"size": {"type": "number"}}}
    (tmp_path / "schema" / "request.json").write_text(json.dumps(request))
    (tmp_path / "schema" / "response.json").write_text(json.dumps({"type": "object"}))
    reference = {
        "source": "held-out",
        "n": 10,
        "features": {"size": drift.bins_for(list(range(10)))},
    }
    config = {"name": "sizes", "version": "1", "flavor": "python", "predictor": "sizes:Model"}
    config["monitoring"] = {"reference": reference}
    (tmp_path / "serving.json").write_text(json.dumps(config))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(runtime.create_app(tmp_path), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{url}/health/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            clock.sleep(0.05)
        # The counters are the process's (other tests in it may have counted "size" too).
        before = drift.parse_counts(httpx.get(f"{url}/metrics").text).get("size", {})
        # Far above every reference value, and more than the 100 a verdict needs.
        shifted = [{"size": 50 + i} for i in range(120)]
        assert httpx.post(f"{url}/predict/batch", json=shifted).status_code == 200
        app = make_app(example_project)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            await pilot.press("m")
            assert isinstance(app.screen, MonitorScreen)
            app.screen.query_one(Input).value = url
            await pilot.press("enter")
            table = app.screen.query_one(DataTable)
            for _ in range(200):
                await pilot.pause(0.05)
                if table.row_count:
                    break
            row = table.get_row_at(0)
            assert row[1] == "size" and "drifted" in str(row[0]) and float(row[2]) > 0.25
            assert row[3] == str(int(sum(before.values())) + 120)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_measured_figures_are_drawn_as_bars() -> None:
    from rich.console import Console

    from screens.pictures import picture
    from workbench.checklist.checks import CheckResult, HasDetails
    from workbench.checklist.state import StoredResult
    from workbench.steps.serve.report import Figures, ImageFacts, QualityFigures

    memory = 512 * 1024**2

    def drawn(item: str, result: HasDetails) -> str:
        console = Console(width=80, record=True, color_system=None)
        rendered = picture(item, result, memory)
        assert rendered is not None
        console.print(rendered)
        return console.export_text()

    figures = Figures(p50_ms=1.0, p95_ms=2.0, p99_ms=4.0, peak_memory_mb=128)
    text = drawn("serve.performance", CheckResult.passed(report=figures))
    assert "p99" in text and "4.00 ms" in text and "128 of 512 MB" in text
    assert "━" in text or "█" in text  # a bar, not only numbers
    # As stored by an older workbench (fewer figures, one it no longer writes): still drawn.
    old = StoredResult(
        status="pass",
        fingerprint="f",
        checked_at="t",
        details={"p50_ms": 1, "p95_ms": 2, "p99_ms": 4, "peak_memory_mb": 128, "mean_ms": 1.5},
    )
    assert drawn("serve.performance", old) == text
    quality = QualityFigures(metric="accuracy", value=0.9667, bound=0.9)
    text = drawn("serve.quality", CheckResult.passed(report=quality))
    assert "0.9667" in text and "0.9" in text
    unbounded = CheckResult.passed(report=QualityFigures(metric="accuracy", value=0.5))
    assert picture("serve.quality", unbounded, memory) is None  # no bound
    image = ImageFacts(image_id="sha256:abc", size_bytes=150_000_000)
    assert "150 MB" in drawn("serve.image-built", CheckResult.passed(report=image))
    assert picture("schema.valid", None, memory) is None
    # Details that do not read as the item's report (a hand edit) draw nothing, never crash.
    edited = StoredResult(status="pass", fingerprint="f", checked_at="t", details={"p99_ms": "x"})
    assert picture("serve.performance", edited, memory) is None


async def test_the_chosen_theme_is_remembered(
    example_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from screens.app import WorkbenchApp
    from workbench.project.manifest import load_manifest

    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(tmp_path / "config"))
    first = WorkbenchApp(load_manifest(example_project), remember_theme=True)
    async with first.run_test(size=SIZE) as pilot:
        first.theme = "textual-light"
        await pilot.pause()
    assert (tmp_path / "config" / "tui.json").exists()
    again = WorkbenchApp(load_manifest(example_project), remember_theme=True)
    assert again.theme == "textual-light"
    tests_app = WorkbenchApp(load_manifest(example_project))  # tests: the default theme
    assert tests_app.theme != "textual-light"


async def test_status_colours_come_from_the_theme_and_follow_a_change_of_theme(
    example_project: Path,
) -> None:
    from textual.widgets import DataTable, Static

    from screens.theme import palette

    app = make_app(example_project)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        table = app.screen.query_one("#items", DataTable)
        row = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        status = app.views[str(row.value)].status.value

        def drawn() -> tuple[str, str]:
            cell = str(table.get_cell(row, "status"))
            card = app.screen_stack[0].query_one("#card-snapshot", Static).content
            return cell, str(card.renderables[0].spans)  # the card's status line

        colours = {}
        for theme in ("textual-dark", "textual-light"):
            app.theme = theme
            await settle(pilot)
            expected = palette(app).status(status)
            # the theme's own text colour for the status (readable on its background)
            assert expected.removeprefix("bold ").startswith("#")
            cell, card = drawn()
            assert cell == f"[{expected}]{status}[/]", theme
            assert expected.removeprefix("bold ").lower() in card.lower(), theme
            colours[theme] = expected
        assert colours["textual-dark"] != colours["textual-light"]
