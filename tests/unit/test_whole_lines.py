"""Off a terminal (a pipe, a file, CI) a failed item's evidence is printed whole: it was
cut at 110 characters, `Fix:…`, while the README promises whole lines there (a new user's
trial)."""

from __future__ import annotations

from commands.checklist import first_evidence
from workbench.checklist.checks import Status
from workbench.checklist.definitions import load_definitions
from workbench.checklist.scoring import ItemView


def test_a_long_cause_is_whole_off_a_terminal() -> None:
    item = next(i for i in load_definitions([], ()) if i.id == "push.digest-verified")
    cause = (
        "the registry serves sha256:" + "6" * 64 + " for 1.0.0 and the release recorded sha256:"
        + "7" * 64 + ". Fix: push it again (`workbench push 1.0.0`)."
    )  # fmt: skip
    view = ItemView(item, Status.FAIL, 0.0, True, ["digest differs", cause], "")
    lines = first_evidence(item.id, view)
    assert any(cause in line for line in lines), lines
