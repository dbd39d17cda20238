"""The command journal behind the TUI's command-log pane (workbench.kernel.commands)."""

from __future__ import annotations

import pytest

from workbench.kernel import commands


def test_the_journal_records_an_exception_as_a_failure_and_keeps_the_newest() -> None:
    heard: list[commands.Ran] = []
    stop = commands.listen(heard.append)
    try:
        with pytest.raises(RuntimeError), commands.running("docker push x:1"):
            raise RuntimeError("registry went away\nmore")
        for n in range(commands.KEPT + 5):
            commands.record(f"git status {n}", True, "ok", 0.0)
    finally:
        stop()
    assert (heard[0].command, heard[0].ok, heard[0].outcome) == (
        "docker push x:1",
        False,
        "failed: registry went away",
    )
    kept = commands.recent()
    assert len(kept) == commands.KEPT and kept[-1].command == f"git status {commands.KEPT + 4}"
