"""The installed `workbench`, driven in tmux as a person would, from start to quit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.tui, pytest.mark.slow]
WORKBENCH = Path(sys.executable).parent / "workbench"


class Tmux:
    def __init__(self, socket: Path) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args], check=True, capture_output=True, text=True
        ).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "wb")

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "wb", *keys)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def alternate_screen(self) -> bool:
        return self("display-message", "-p", "-t", "wb", "#{alternate_on}").strip() == "1"


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed for this test; bash .ci/bootstrap installs it")
    t = Tmux(tmp_path / "tmux.sock")
    t("new-session", "-d", "-s", "wb", "-x", "120", "-y", "36", "bash", "--norc", "--noprofile")
    yield t
    subprocess.run(["tmux", "-S", str(t.socket), "kill-server"], check=False, capture_output=True)


def test_a_person_opens_a_step_runs_checks_and_quits(
    tmux: Tmux, example_project: Path, tmp_path: Path
) -> None:
    before, after = tmp_path / "stty-before", tmp_path / "stty-after"
    tmux.keys(f"stty -g > {before}; clear; echo MARK-BEFORE", "Enter")
    tmux.wait_for("MARK-BEFORE")
    tmux.keys(f"{WORKBENCH} -p {example_project}; stty -g > {after}; echo MARK-AFTER-$?", "Enter")
    tmux.wait_for("Readiness")
    assert tmux.alternate_screen()

    tmux.keys("2")
    tmux.wait_for("schema.responses-valid")
    tmux.keys("a")
    tmux.wait_for("✔ schema.responses-valid: pass")
    tmux.keys("Escape")
    home = tmux.wait_for("(8 of 9)")  # the Schema card shows the new score
    assert "Schema" in home
    tmux.keys("q")
    restored = tmux.wait_for("MARK-AFTER-0")

    assert not tmux.alternate_screen()
    assert "MARK-BEFORE" in restored  # the shell's screen is back as it was
    assert before.read_text() == after.read_text()  # terminal modes restored
    assert (example_project / "checklist.yaml").exists()
