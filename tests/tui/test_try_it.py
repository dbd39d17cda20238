"""Try it in Serve (issue #16): the tested image started from the TUI, an example and an
edited request sent to it, the answer and status read there, and `serve.tried-by-hand`
answered with the exchange as its note; the container removed on Escape."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Label, Select, Static, TextArea

from screens.help import HelpScreen
from screens.try_it import TryItScreen
from tests.helpers import containers_of, release_ready
from tests.tui.test_app import SIZE, make_app, settle
from workbench.checklist.state import load_state
from workbench.steps.serve.report import built_image

pytestmark = pytest.mark.tui


def _ours(project: Path) -> list[str]:
    """This test's project's containers, never another run's on the shared engine."""
    return [c.id for c in containers_of(project)]


async def _until(pilot: Pilot[None], ready: object, what: str, seconds: float = 120) -> None:
    for _ in range(int(seconds / 0.1)):
        if ready():  # type: ignore[operator]
            return
        await pilot.pause(0.1)
    raise AssertionError(f"waited {seconds:.0f} s for {what}")


def _route(screen: TryItScreen) -> str | None:
    return screen.exchange.route if screen.exchange is not None else None


def _text(screen: TryItScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


async def test_try_the_tested_image_by_hand_and_answer_with_the_exchange(
    tmp_path: Path, example_python: Path, docker_engine: object
) -> None:
    checklist = release_ready(tmp_path / "iris", example_python, "127.0.0.1:5000/try/iris")
    tested = built_image(checklist.view("serve.image-built").result).image_id  # type: ignore[union-attr]
    root = checklist.manifest.root
    app = make_app(root)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "t")
        screen = app.screen
        assert isinstance(screen, TryItScreen)
        assert screen.image_id == tested  # the image the serve test tested, not a new build
        await _until(pilot, lambda: screen.url is not None, "the image to answer ready")
        assert "running" in _text(screen, "#try-status")
        assert len(_ours(root)) == 1

        # An example, picked from the list, then sent with Ctrl+R.
        screen.query_one(Select).value = "setosa.json"
        await pilot.pause()
        assert '"sepal_length": 5.1' in screen.query_one(TextArea).text
        await pilot.press("ctrl+r")
        await _until(pilot, lambda: screen.exchange is not None, "the answer")
        assert screen.exchange is not None and screen.exchange.status == 200
        answer = _text(screen, "#try-answer")
        assert "POST /predict" in answer and "200" in answer and "setosa" in answer

        # Help says what this screen is for and lists its keys.
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Help · Try it" in str(app.screen.query_one(Label).render())
        keys = str(app.screen.query_one("#help-keys", Static).render())
        assert "Send" in keys and "Stop and close" in keys
        assert "serve.tried-by-hand" in str(app.screen.query_one("#help-purpose").render())
        await pilot.press("escape")
        assert app.screen is screen

        # An edited request: typing y, n, e and digits edits the text (no answer, no step
        # change); a value out of the contract is refused with the field named.
        await pilot.press("e")
        area = screen.query_one(TextArea)
        assert area.has_focus
        area.text = ""
        await pilot.press(*'{"sepal_length": 99, "yes": "n"}')
        assert area.text == '{"sepal_length": 99, "yes": "n"}'
        # "3", "y", "n" and "e" were typed, not obeyed: the same screen, nothing answered
        assert isinstance(app.screen, TryItScreen) and area.has_focus
        screen.exchange = None
        await pilot.press("ctrl+r")
        await _until(pilot, lambda: screen.exchange is not None, "the refusal")
        assert screen.exchange is not None and screen.exchange.status in (400, 422)
        assert "sepal_width" in _text(screen, "#try-answer")  # a required field is missing

        # A batch (an array) goes to the batch route.
        area.text = "[" + screen.examples["setosa.json"] + "]"
        await pilot.press("e", "ctrl+r")
        await _until(pilot, lambda: _route(screen) == "/predict/batch", "the batch")
        assert screen.exchange is not None and screen.exchange.status == 200

        # The answer is read, and answered from here: the exchange becomes the note.
        await pilot.press("y")
        await pilot.press(*"setosa for a short petal is right", "enter")
        await _until(pilot, lambda: app.screen.__class__.__name__ == "ServeScreen", "close")
        await settle(pilot)
        assert app.views["serve.tried-by-hand"].status.value == "pass"
        assert app.screen.selected_id() == "serve.tried-by-hand"
        await _until(pilot, lambda: not _ours(root), "the container to be removed", 30)

        # Escape stops the image: the container is removed, nothing is answered.
        await pilot.press("t")
        again = app.screen
        assert isinstance(again, TryItScreen)
        await _until(pilot, lambda: again.url is not None, "the image to answer ready")
        assert len(_ours(root)) == 1
        await pilot.press("escape")
        assert app.screen.__class__.__name__ == "ServeScreen"
        await _until(pilot, lambda: not _ours(root), "the container to be removed", 30)
    tick = load_state(checklist.manifest.root).ticks["serve.tried-by-hand"]
    assert (tick.answer, tick.by) == ("yes", "Ana")
    assert tick.note is not None
    assert tick.note.startswith(
        f"setosa for a short petal is right — on {tested[:19]}: POST /predict/batch ["
    )
    assert "-> 200 in" in tick.note and "setosa" in tick.note.split("->")[1]


async def test_without_a_tested_image_try_it_says_to_run_the_serve_test_first(
    example_project: Path,
) -> None:
    app = make_app(example_project)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("3", "t")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ServeScreen"  # nothing started
        said = " ".join(str(n.message) for n in app._notifications)
        assert "no tested image to try yet" in said and "run the serve test first" in said
