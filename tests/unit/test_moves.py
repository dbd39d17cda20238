"""What comes next and what a finished release is (issue #25): "next" agrees with what
limits readiness, and is empty when nothing is left; a tested change the latest release
does not hold is released again (re-test -> tag -> push -> promote)."""

from __future__ import annotations

from pathlib import Path

from workbench.checklist.checks import Status
from workbench.checklist.definitions import load_definitions
from workbench.checklist.moves import NONE, ReleaseFacts, decide, headline, limit_reason
from workbench.checklist.scoring import ItemView, readiness, summarise
from workbench.checklist.state import ManualTick, StoredResult
from workbench.checklist.steps import STEPS

ITEMS = {item.id: item for item in load_definitions([], ())}
PUSH_QUESTIONS = [i for i, item in ITEMS.items() if item.step == "push" and not item.is_auto]
RELEASED = ReleaseFacts("1.0.0", pushed=True, channels=("production",))


def passing(item_id: str) -> ItemView:
    item = ITEMS[item_id]
    if item.is_auto:
        result = StoredResult(status="pass", fingerprint="f", checked_at="t")
        return ItemView(item, Status.PASS, 1.0, True, [], "", result=result)
    tick = ManualTick(answer="yes", by="Ana", at="t", note="looked")
    return ItemView(item, Status.PASS, 0.5, True, ["looked"], "", tick=tick)


def pending(item_id: str) -> ItemView:
    return ItemView(ITEMS[item_id], Status.PENDING, 0.0, True, [], "not answered yet")


def standing(
    unanswered: list[str], release: ReleaseFacts | None, **override: ItemView
) -> tuple[dict[str, ItemView], list]:  # type: ignore[type-arg]
    views = {i: pending(i) if i in unanswered else passing(i) for i in ITEMS}
    views.update(override)
    summaries = [summarise(s, (v for v in views.values() if v.item.step == s)) for s in STEPS]
    return views, summaries


def test_after_a_full_release_next_is_what_limits_readiness_and_says_so() -> None:
    views, summaries = standing(PUSH_QUESTIONS, RELEASED)
    move = decide(views, summaries, RELEASED)
    assert readiness(summaries).limited_by == "push" == move.step
    assert move.action == "tick" and move.item == PUSH_QUESTIONS[0]
    assert all(q in move.says for q in PUSH_QUESTIONS)
    assert move.command.startswith(f"workbench tick {PUSH_QUESTIONS[0]} ")
    asked = f"{len(PUSH_QUESTIONS)} question{'s' if len(PUSH_QUESTIONS) != 1 else ''}"
    assert limit_reason(summaries, views) == f"Push: {asked} not answered"
    said = headline(RELEASED, views)
    assert said == (
        f"1.0.0 pushed and on production; {asked} for a person left: " + ", ".join(PUSH_QUESTIONS)
    )


def test_nothing_left_when_every_question_is_answered_though_answers_count_half() -> None:
    views, summaries = standing([], RELEASED)
    move = decide(views, summaries, RELEASED)
    assert move == NONE
    assert readiness(summaries).percent < 100  # answers by a person count half
    assert "by a person (count half)" in limit_reason(summaries, views)
    assert headline(RELEASED, views) == "1.0.0 pushed and on production; nothing left"


def test_the_release_path_tag_push_promote() -> None:
    views, summaries = standing([], None)
    assert (decide(views, summaries, None).action, headline(None, views)) == ("tag", "")
    unpushed = ReleaseFacts("1.0.0", pushed=False)
    move = decide(views, summaries, unpushed)
    assert (move.action, move.command) == ("push", "workbench push 1.0.0")
    assert headline(unpushed, views) == ""
    nowhere = ReleaseFacts("1.0.0", pushed=True)
    move = decide(views, summaries, nowhere)
    assert move.action == "promote" and "--channel production" in move.command


def test_a_second_release_retest_then_tag_a_tested_change() -> None:
    stale = ItemView(ITEMS["serve.image-built"], Status.STALE, 0.0, True, [], "inputs changed")
    views, summaries = standing([], RELEASED, **{"serve.image-built": stale})
    move = decide(views, summaries, RELEASED)
    assert (move.step, move.action) == ("serve", "run")
    assert "re-test the change since 1.0.0" in move.says
    assert move.command == "workbench serve --test"
    assert headline(RELEASED, views) == ""  # a change is on its way: not finished
    changed = ReleaseFacts("1.0.0", True, ("production",), changed=("serve.image-built",))
    views, summaries = standing([], changed)
    move = decide(views, summaries, changed)
    assert (move.step, move.action) == ("tag", "tag")
    assert "release the tested change since 1.0.0" in move.says
    assert headline(changed, views) == ""


def test_release_facts_name_gate_items_tested_on_inputs_the_release_does_not_hold(
    example_project: Path,
) -> None:
    """Read from the release files: the frozen fingerprint against the stored one."""
    from tests.helpers import frozen_item, hand_made_release
    from workbench.checklist.moves import release_facts
    from workbench.project.manifest import load_manifest
    from workbench.project.releases import release_path

    manifest = load_manifest(example_project)
    views = {i: passing(i) for i in ITEMS}  # every stored fingerprint is "f"
    assert release_facts(manifest, views) is None  # no release yet
    same = {**frozen_item("serve.image-built"), "fingerprint": "f"}
    hand_made_release(manifest, "1.0.0", [same, frozen_item("schema.valid")])
    facts = release_facts(manifest, views)
    assert facts == ReleaseFacts("1.0.0", pushed=False)
    other = {**frozen_item("serve.image-built"), "fingerprint": "before"}
    hand_made_release(manifest, "1.1.0", [other])
    facts = release_facts(manifest, views)
    assert facts is not None and facts.version == "1.1.0"
    assert facts.changed == ("serve.image-built",)
    release_path(manifest, "1.1.0").write_text("version: [broken\n")
    assert release_facts(manifest, views) is None  # said by the release line, never a crash


def test_a_tested_change_tag_would_refuse_leads_to_the_refusal_not_to_tag() -> None:
    """`Next: Tag: release the tested change` while `tag --dry-run` already knew that
    tag.no-regression would refuse it; `workbench tag` then built and tested for 20 s to
    refuse (a new user's trial). The move says the refusal and the waiver's command."""
    refused = ReleaseFacts(
        "1.0.0", True, ("production",), changed=("serve.quality",),
        refused="tag.no-regression would refuse the tested change: accuracy 0.64 against "
        "0.67 for 1.0.0",
    )  # fmt: skip
    views, summaries = standing([], refused)
    move = decide(views, summaries, refused)
    assert (move.step, move.action, move.item) == ("tag", "show", "tag.no-regression")
    assert "accuracy 0.64 against 0.67" in move.says
    assert move.command == 'workbench waive tag.no-regression --reason "why"'


def test_the_refusal_is_read_from_the_last_serve_test_and_the_latest_release(
    example_project: Path,
) -> None:
    from tests.helpers import hand_made_release
    from workbench.checklist.checks import CheckResult
    from workbench.checklist.state import Waiver
    from workbench.project.manifest import load_manifest
    from workbench.project.records import QualityInfo
    from workbench.project.releases import load_release, save_release
    from workbench.steps.serve.report import QualityFigures
    from workbench.steps.tag.regression import refusal

    manifest = load_manifest(example_project)
    assert manifest.evaluation is not None and manifest.evaluation.tolerance == 0.02
    hand_made_release(manifest, "1.0.0", [])
    record = load_release(manifest, "1.0.0")
    record.quality = QualityInfo(metric="accuracy", value=0.67, n=30, data="d", data_sha256="h")
    save_release(manifest, record)

    def scored(value: float) -> dict[str, ItemView]:
        figures = QualityFigures(metric="accuracy", value=value, n=30, data="d", data_sha256="h")
        stored = CheckResult.passed("scored", report=figures)
        result = StoredResult(
            status="pass", fingerprint="f", checked_at="t", details=stored.details
        )
        view = ItemView(ITEMS["serve.quality"], Status.PASS, 1.0, True, [], "", result=result)
        return {"serve.quality": view, "tag.no-regression": passing("tag.no-regression")}

    assert refusal(manifest, scored(0.70)) is None  # better: tag would not refuse
    said = refusal(manifest, scored(0.64))
    assert said is not None and "accuracy 0.64 against 0.67 for 1.0.0" in said, said
    views = scored(0.64)
    measured = views["serve.quality"].result
    views["serve.quality"] = ItemView(
        ITEMS["serve.quality"], Status.STALE, 0.0, True, [], "", result=measured
    )
    assert refusal(manifest, views) is None  # not measured on these inputs: not known
    waived = Waiver(reason="the trade is worth it", by="Ana", at="2027-01-01T00:00:00Z")
    views = scored(0.64)
    views["tag.no-regression"] = ItemView(
        ITEMS["tag.no-regression"], Status.FAIL, 0.0, True, [], "", waiver=waived
    )
    assert refusal(manifest, views) is None  # waived since 1.0.0


def test_the_headline_never_says_nothing_left_above_checks_to_run() -> None:
    """After a promote the channel's items are stale: the headline said `nothing left` and
    the next line `Next: Push: run its checks` (a new user's trial)."""
    auto = next(i for i, item in ITEMS.items() if item.step == "push" and item.is_auto)
    stale = ItemView(ITEMS[auto], Status.STALE, 0.0, True, [], "inputs changed")
    views, summaries = standing([], RELEASED, **{auto: stale})
    move = decide(views, summaries, RELEASED)
    assert (move.step, move.action) == ("push", "run")
    said = headline(RELEASED, views)
    assert said == f"1.0.0 pushed and on production; 1 check to run again: {auto}", said
