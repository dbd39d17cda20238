"""The real app on the example project, driven with Textual's pilot."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from screens.app import WorkbenchApp
from screens.home import HomeScreen
from screens.release_panel import COLUMNS
from screens.step import StepScreen
from tests.helpers import frozen_item, hand_made_release
from workbench.checklist.checks import AutoCheck, CheckContext, CheckResult, Status
from workbench.checklist.state import load_state
from workbench.project.manifest import load_manifest
from workbench.steps import all_checks

pytestmark = pytest.mark.tui
SIZE = (120, 36)


def make_app(project: Path, **kwargs: object) -> WorkbenchApp:
    return WorkbenchApp(load_manifest(project), user="Ana", **kwargs)  # type: ignore[arg-type]


async def settle(pilot: Pilot[None]) -> None:
    """Wait for every worker (checks, then the reload they trigger) and the messages after;
    at start-up, until the statuses (loaded after the first paint) are there."""
    for _ in range(200):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if pilot.app.summaries:  # type: ignore[attr-defined]
            break
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def select(pilot: Pilot[None], item_id: str) -> StepScreen:
    screen = pilot.app.screen
    assert isinstance(screen, StepScreen)
    for _ in range(20):
        if screen.selected_id() == item_id:
            return screen
        await pilot.press("down")
    raise AssertionError(f"{item_id} not found")


async def test_open_a_step_run_its_checks_tick_an_item_and_see_the_score(
    example_project: Path,
) -> None:
    app = make_app(example_project)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        before = next(s for s in app.summaries if s.step == "schema")
        assert before.score == 0
        assert before.counts == {Status.PENDING: 9}

        await pilot.press("2")
        assert isinstance(app.screen, StepScreen)
        await pilot.press("a")
        await settle(pilot)
        assert app.views["schema.valid"].status is Status.PASS
        assert app.views["schema.responses-valid"].status is Status.PASS
        after_checks = next(s for s in app.summaries if s.step == "schema").score
        assert after_checks == 8  # all eight auto items pass (the example describes every field)

        await select(pilot, "schema.descriptions-complete")
        await pilot.press("y")
        await pilot.pause()
        await pilot.press(*"units-in-cm", "enter")
        await settle(pilot)
        assert app.views["schema.descriptions-complete"].score == 0.5
        assert next(s for s in app.summaries if s.step == "schema").score == after_checks + 0.5

        await pilot.press("escape")
        assert isinstance(app.screen, HomeScreen)
    tick = load_state(example_project).ticks["schema.descriptions-complete"]
    assert (tick.answer, tick.note, tick.by) == ("yes", "units-in-cm", "Ana")
    assert load_state(example_project).results["schema.valid"].status == "pass"


async def test_escape_cancels_a_running_check_and_says_so(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = []

    def slow(ctx: CheckContext) -> CheckResult:
        started.append(True)
        while True:  # a long check that polls the cancel flag between its steps
            ctx.check_cancelled()
            ctx.cancel.wait(0.05)

    checks = {**all_checks(), "schema.closed": AutoCheck("schema.closed", slow, lambda c: {})}
    app = make_app(example_project, checks=checks)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await select(pilot, "schema.closed")
        await pilot.press("r")
        for _ in range(50):
            if started:
                break
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, StepScreen) and screen.running
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.running
        assert isinstance(app.screen, StepScreen)  # Escape cancelled; it did not leave
        log_text = "\n".join(str(line) for line in screen.query_one("#log").lines)
        assert "cancelled" in log_text
        assert any("Cancelling" in n.message for n in app._notifications)
        assert app.views["schema.closed"].status is Status.PENDING  # nothing half-recorded


async def test_review_mode_is_read_only_and_records_a_sign_off(example_project: Path) -> None:
    app = make_app(example_project, reviewer="Rita")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await pilot.press("a")  # disabled in review mode: nothing runs
        await settle(pilot)
        assert app.views["schema.valid"].status is Status.PENDING
        await pilot.press("s")  # nothing released yet: nothing to sign
        await pilot.pause()
        assert any("no release to sign off" in n.message for n in app._notifications)
        assert load_state(example_project).signoffs == []
        hand_made_release(app.manifest, "1.0.0", [frozen_item("serve.image-built")])
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("tab", *"looked-at-all", "enter")  # Enter in a field submits
        await settle(pilot)
        # Each step's own actions are edits too: the schema editor, the snapshot, the tag.
        for step, key in (("schema", "e"), ("snapshot", "t"), ("tag", "t")):
            app.open_step(step)
            await settle(pilot)
            await pilot.press(key)
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, StepScreen) and screen.step == step
            assert not screen.running
    signoffs = load_state(example_project).signoffs
    assert [(s.by, s.decision, s.release) for s in signoffs] == [("Rita", "approve", "1.0.0")]
    assert not (example_project / "snapshot.yaml").exists()


async def test_pair_mode_gate_tick_waits_for_the_navigator(example_project: Path) -> None:
    app = make_app(example_project, pair=("Ana", "Ben"))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert "Ana driving, Ben navigating" in app.sub_title
        await pilot.press("1")
        await select(pilot, "snapshot.packages-expected")
        await pilot.press("y")
        await pilot.pause()
        await pilot.press(*"sklearn-only", "enter")
        await settle(pilot)
        assert app.views["snapshot.packages-expected"].status is Status.PENDING
        await pilot.press("c")
        await settle(pilot)
        assert app.views["snapshot.packages-expected"].status is Status.PASS
    tick = load_state(example_project).ticks["snapshot.packages-expected"]
    assert (tick.by, tick.navigator, tick.confirmed_by) == ("Ana", "Ben", "Ben")


async def test_a_broken_checklist_file_is_a_notice_not_a_crash(example_project: Path) -> None:
    app = make_app(example_project)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        (example_project / "checklist.yaml").write_text("items: [unclosed\n")  # edited by hand
        await pilot.press("f5")
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any("checklist.yaml, line 2" in m for m in messages), messages
        assert isinstance(app.screen, HomeScreen)


async def test_the_snapshot_screen_takes_a_snapshot_then_runs_its_checks(
    example_project: Path,
) -> None:
    app = make_app(example_project)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await pilot.press("t")
        for _ in range(600):  # the snapshot and the checks it triggers run in workers
            await settle(pilot)
            if app.views.get("snapshot.hashed") and app.views["snapshot.hashed"].status in (
                Status.PASS,
                Status.FAIL,
            ):
                break
            await pilot.pause(0.1)
        assert app.views["snapshot.hashed"].status is Status.PASS
        assert app.views["snapshot.imports-resolved"].status is Status.PASS
        log_text = "\n".join(str(line) for line in app.screen.query_one("#log").lines)
        assert "snapshot written" in log_text
    assert (example_project / "environment.lock").exists()


@pytest.mark.docker
@pytest.mark.registry
async def test_the_tag_and_push_screens_release_push_and_promote(
    tmp_path: Path,
    example_python: Path,
    registry,
    docker_engine,  # type: ignore[no-untyped-def]
) -> None:
    from textual.widgets import DataTable, Label

    from screens.push_panel import PushPanel
    from tests.helpers import release_ready
    from workbench.project import releases
    from workbench.project.releases import load_channels

    # Its own repository: the session's registry already holds team/iris 1.0.0.
    checklist = release_ready(tmp_path / "iris", example_python, f"{registry.host}/tui/iris")
    app = make_app(checklist.manifest.root)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("4")
        tag_screen = app.screen
        assert tag_screen.__class__.__name__ == "TagScreen"
        await pilot.press("t")
        for _ in range(600):  # the suggestion is worked out in a worker, then asked for
            await pilot.pause(0.05)
            if app.screen.__class__.__name__ == "TextPrompt":
                break
        assert app.screen.__class__.__name__ == "TextPrompt"
        await pilot.press("enter")  # accept the suggested version
        for _ in range(3000):
            await pilot.pause(0.1)
            if releases.releases(app.manifest) or not tag_screen.running:  # type: ignore[attr-defined]
                break
        await settle(pilot)
        log_text = "\n".join(str(line) for line in app.screen.query_one("#log").lines)
        assert [str(v) for v in releases.releases(app.manifest)] == ["1.0.0"], log_text

        await pilot.press("5")  # from the Tag step straight to Push: no trip through home
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "Confirm"  # push says what goes where first
        body = str(app.screen.query_one("#confirm-body", Label).render())
        assert f"iris-classifier:1.0.0 -> {registry.host}/tui/iris" in body
        await pilot.press("enter")
        for _ in range(3000):
            await pilot.pause(0.1)
            if releases.load_release(app.manifest, "1.0.0").push.pushed:
                break
        await settle(pilot)
        assert releases.load_release(app.manifest, "1.0.0").push.pushed is True
        assert app.screen.query_one(PushPanel).pushed_layers  # a row per layer, framed

        await settle(pilot)
        table = app.screen.query_one("#releases", DataTable)
        row = dict(zip(COLUMNS, table.get_row("1.0.0"), strict=True))
        assert (row["quality"], row["tagged"], row["pushed"]) == ("accuracy 0.9667", "yes", "yes")
        await pilot.press("o")  # promote: the version and the channel from lists
        await pilot.pause()
        assert app.screen.__class__.__name__ == "MoveChannel"
        summary = str(app.screen.query_one("#move-summary", Label).render())
        assert summary == "production: (new channel) -> 1.0.0"
        await pilot.press("enter")
        for _ in range(300):
            await pilot.pause(0.1)
            if load_channels(app.manifest).get("production"):
                break
        await settle(pilot)
        # Home after the release: the release itself, and no gate made stale by it.
        await pilot.press("h")
        app.reload_checklist()
        await settle(pilot)
        released = app.release_line  # what the #release line on home shows
        assert released.startswith("Released [b]1.0.0[/b]") and "production" in released, released
        gated = {
            s.step: s.blockers for s in app.summaries if s.step in ("snapshot", "schema", "serve")
        }
        assert gated == {"snapshot": [], "schema": [], "serve": []}
        await second_release_by_space(pilot, app)
    assert load_channels(checklist.manifest)["production"].current == "1.0.0"


async def wait_until(pilot: Pilot[None], done: object, tries: int = 3000) -> None:
    for _ in range(tries):
        await pilot.pause(0.1)
        if done():  # type: ignore[operator]
            return
    raise AssertionError("not done in time")


async def reread_until(pilot: Pilot[None], app: WorkbenchApp, done: object) -> None:
    """Wait for the screen's own work to end, then until `done`, reading the checklist again
    now and then (never while a read runs: a second one would cancel it)."""
    await wait_until(pilot, lambda: not getattr(app.screen, "running", False))
    for attempt in range(300):
        await pilot.pause(0.1)
        if done():  # type: ignore[operator]
            return
        reading = any(w.group == "load" and not w.is_finished for w in app.workers)
        if attempt % 30 == 29 and not reading:
            app.reload_checklist()
    raise AssertionError(f"not reached: {app.standing.move}, {app.release_line}")


async def second_release_by_space(pilot: Pilot[None], app: WorkbenchApp) -> None:
    """Past the first release (issue #25): home says what is finished, Space re-tests a
    change, tags, pushes and promotes it; after a roll back home says where the channel is."""
    from textual.widgets import Static

    from screens.next_move import next_move
    from tests.helpers import git
    from workbench.project import releases

    standing = app.standing
    assert standing.headline.startswith("1.0.0 pushed and on production; "), standing.headline
    assert standing.move.step in ("", standing.readiness.limited_by)  # next agrees with it
    shown = str(app.screen.query_one("#release", Static).render())
    assert "1.0.0 pushed and on production" in shown
    request = app.manifest.root / "schema" / "request.yaml"
    request.write_text(request.read_text().replace("never missing.", "never empty.", 1))
    git(app.manifest.root, "commit", "-qam", "a clearer description")
    app.reload_checklist()
    await settle(pilot)
    for _ in range(4):  # re-test what the change made stale, step by step
        move = next_move(app)
        if move.action not in ("run", "take"):
            break
        assert move.action == "take" or "re-test the change since 1.0.0" in move.says, move
        await pilot.press("space")
        await pilot.pause()
        await wait_until(pilot, lambda: not getattr(app.screen, "running", False))
        await settle(pilot)
    move = next_move(app)
    assert (move.step, move.action) == ("tag", "tag"), move
    assert app.standing.headline == ""  # a tested change waits: not "nothing blocks"
    await pilot.press("space")
    await wait_until(pilot, lambda: app.screen.__class__.__name__ == "TextPrompt")
    await pilot.press("enter")  # the suggested version: a cosmetic change, a patch
    await wait_until(pilot, lambda: len(releases.releases(app.manifest)) == 2)
    await wait_until(pilot, lambda: not getattr(app.screen, "running", False))
    await settle(pilot)
    assert (next_move(app).action, next_move(app).says) == ("push", "Push: push 1.0.1")
    await pilot.press("space")
    await wait_until(pilot, lambda: app.screen.__class__.__name__ == "Confirm")
    await pilot.press("enter")
    await wait_until(pilot, lambda: releases.load_release(app.manifest, "1.0.1").push.pushed)
    await reread_until(pilot, app, lambda: next_move(app).action == "promote")
    await pilot.press("space")
    await wait_until(pilot, lambda: app.screen.__class__.__name__ == "MoveChannel")
    await pilot.press("enter")
    await wait_until(
        pilot, lambda: releases.load_channels(app.manifest)["production"].current == "1.0.1"
    )
    await reread_until(pilot, app, lambda: app.standing.headline.startswith("1.0.1 pushed and on"))
    await pilot.press("b")  # roll back: production goes back to 1.0.0
    await wait_until(pilot, lambda: app.screen.__class__.__name__ == "PickChannel")
    await pilot.press("enter")
    await wait_until(
        pilot, lambda: releases.load_channels(app.manifest)["production"].current == "1.0.0"
    )
    await reread_until(
        pilot, app, lambda: "on no channel (production on 1.0.0)" in app.release_line
    )


async def test_the_schema_editor_adds_a_field_sees_an_example_fail_fixes_it_and_saves(
    example_project: Path,
) -> None:
    from textual.widgets import Button, Checkbox, Input, Select

    from screens.schema_editor import FieldForm, SchemaEditor

    request = example_project / "schema" / "request.yaml"
    comment = "# One iris flower, measured in centimetres."
    assert request.read_text().startswith(comment)
    app = make_app(example_project)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("2", "e")
        editor = app.screen
        assert isinstance(editor, SchemaEditor)
        assert "✔ setosa.json" in str(editor.query_one("#examples").render())

        await pilot.press("a")
        form = app.screen
        assert isinstance(form, FieldForm)
        form.query_one("#field-name", Input).value = "garden"
        form.query_one("#field-type", Select).value = "string"
        form.query_one("#field-required", Checkbox).value = True
        form.query_one("#field-enum", Input).value = "north, south"
        form.query_one("#field-description", Input).value = "Where it grew; never missing."
        form.query_one("#ok", Button).press()
        await pilot.pause()
        assert editor.dirty
        errors = editor.example_errors()
        assert len(errors) == 3 and "setosa.json $: 'garden' is a required property" in errors
        assert "✘ setosa.json" in str(editor.query_one("#examples").render())

        # Fix it: the new field becomes optional; every example passes again.
        editor.query_one("#fields").move_cursor(row=4)
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, FieldForm)
        assert form.query_one("#field-name", Input).value == "garden"
        form.query_one("#field-required", Checkbox).value = False
        form.query_one("#ok", Button).press()
        await pilot.pause()
        assert editor.example_errors() == []
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not editor.dirty
    text = request.read_text()
    assert text.startswith(comment)  # the hand-written comment is intact
    from workbench.kernel.yamlio import load_yaml, to_plain

    saved = to_plain(load_yaml(request))
    assert saved["properties"]["garden"] == {
        "type": "string",
        "enum": ["north", "south"],
        "description": "Where it grew; never missing.",
    }
    assert "required: [sepal_length, sepal_width, petal_length, petal_width]" in text
