"""What the CLI offers for a blocking item: a fix only for what fails (issue #23: the dry
run printed "serve.non-root is stale: Keep USER 10001 in the Dockerfile template")."""

from __future__ import annotations

from workbench.checklist.checks import Status
from workbench.checklist.definitions import load_definitions
from workbench.checklist.scoring import ItemView
from workbench.checklist.state import Waiver

ITEMS = {item.id: item for item in load_definitions([], ())}


def view(item_id: str, status: Status, remark: str = "", waived: bool = False) -> ItemView:
    waiver = Waiver(reason="a reason", by="Ana", at="t") if waived else None
    return ItemView(ITEMS[item_id], status, 0.0, True, [], remark, waiver=waiver)


def test_a_fix_only_for_a_failing_item() -> None:
    fix = ITEMS["serve.non-root"].fix
    assert view("serve.non-root", Status.FAIL).next_move == fix
    stale = view("serve.non-root", Status.STALE, "inputs changed since the check ran (t)")
    assert stale.next_move == (
        "inputs changed since the check ran (t): run `workbench check --step serve`"
    )
    assert view("serve.non-root", Status.PENDING).next_move == (
        "not run yet: run `workbench check --step serve`"
    )
    manual = view("snapshot.packages-expected", Status.PENDING)
    assert manual.next_move.startswith("not answered yet: `workbench tick snapshot.packages")
    assert fix not in {stale.next_move, manual.next_move}


def test_waived_is_shown_for_a_waived_item_that_does_not_pass_only() -> None:
    assert view("serve.non-root", Status.FAIL, waived=True).shown == "waived"
    assert view("serve.non-root", Status.STALE, waived=True).shown == "waived"
    assert view("serve.non-root", Status.PASS, waived=True).shown == "pass"
    assert view("serve.non-root", Status.FAIL).shown == "fail"
    assert not view("serve.non-root", Status.FAIL, waived=True).blocks
