"""A probe run inside the container whose output the engine lost (seen on a busy engine: the
write probe answered nothing, and `serve.hardened` called a read-only root missing) is asked
again; an answer that stays empty is said as such, never read as a verdict."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from workbench.steps.serve import probing


def live_answering(*outputs: bytes) -> tuple[Any, list[list[str]]]:
    asked: list[list[str]] = []
    answers = iter(outputs)

    def exec_run(command: list[str], demux: bool = False) -> Any:
        asked.append(command)
        return SimpleNamespace(exit_code=0, output=next(answers))

    return SimpleNamespace(container=SimpleNamespace(exec_run=exec_run)), asked


def test_a_lost_answer_is_asked_again() -> None:
    live, asked = live_answering(b"", b"EROFS\n")
    assert probing.exec_in(live, ["python3", "-c", "probe"]) == (0, "EROFS")
    assert len(asked) == 2


def test_an_answer_that_stays_empty_is_returned_empty_after_a_bounded_number_of_tries() -> None:
    live, asked = live_answering(*[b""] * probing.EXEC_TRIES)
    assert probing.exec_in(live, ["cat", "/sys/fs/cgroup/memory.peak"]) == (0, "")
    assert len(asked) == probing.EXEC_TRIES


def test_a_first_answer_is_taken_as_it_is() -> None:
    live, asked = live_answering(b"written\n")
    assert probing.exec_in(live, ["python3"]) == (0, "written") and len(asked) == 1
