"""The gate port Tag asks, the release record built from its answer, and the standing the
interface renders: frozen values, computed from the engine, never its drawers."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from workbench.checklist.checks import AutoCheck, CheckContext, CheckResult, Status
from workbench.checklist.frozen import FrozenChecklist, ReleaseFacts, decode_frozen
from workbench.checklist.gate import Gatekeeper, GateReport
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.records import Hashes
from workbench.project.scaffold import copy_example
from workbench.project.semver import SemVer
from workbench.steps import all_checks, gatekeeper, open_checklist
from workbench.steps.tag.record import GATED_STEPS, Candidate, GitFacts, build_release
from workbench.steps.tag.version import Suggestion


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = copy_example("iris", tmp_path / "iris")
    text = (root / "workbench.yaml").read_text()
    (root / "workbench.yaml").write_text(text.replace("python: .venv/bin/python\n", ""))
    return root


def test_the_gate_report_is_frozen_and_refuses_with_the_blocking_items(project: Path) -> None:
    checklist = open_checklist(load_manifest(project), pair=("Ana", "Ben"))
    gate: Gatekeeper = gatekeeper(checklist)
    report = gate.gate_report(("schema",))
    assert {v.item.step for v in report.views} == {"schema"}
    assert [s.step for s in report.summaries] == ["schema"]
    assert "schema.valid" in {v.item.id for v in report.blockers}
    with pytest.raises(WorkbenchError, match="cannot tag: gate items are not passing: schema"):
        report.require("tag")
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.driver = "Eve"  # type: ignore[misc]
    with pytest.raises(TypeError):
        report.waivers["schema.valid"] = None  # type: ignore[index]
    assert (report.driver, report.navigator, report.by) == ("Ana", "Ben", "Ana with Ben")

    # A waiver written after the report leaves the report as it was; a new one sees it.
    checklist.waive("schema.valid", "checked by hand for this test")
    assert report.waiver("schema.valid") is None
    assert gate.gate_report(("schema",)).waiver("schema.valid") is not None


def test_recorded_results_are_in_the_next_report_and_tag_sees_no_engine(project: Path) -> None:
    checklist = open_checklist(load_manifest(project))
    gate = gatekeeper(checklist)
    ids = [v.item.id for v in gate.gate_report(("schema",)).blockers]
    gate.record({i: CheckResult(Status.PASS, ["measured here"]) for i in ids})
    after = gate.require(("schema",), "tag")  # nothing blocks now
    assert all(after.view(i).status is Status.PASS for i in ids)  # type: ignore[union-attr]
    assert set(GateReport.__dataclass_fields__) >= {"views", "summaries", "readiness", "waivers"}


def _report(project: Path) -> GateReport:
    checklist = open_checklist(load_manifest(project), user="Ana")
    checklist.waive("serve.image-built", "built on another machine for this test")
    return gatekeeper(checklist).gate_report(GATED_STEPS)


def test_the_release_record_is_a_pure_function_of_the_report_and_the_facts(
    project: Path,
) -> None:
    manifest = load_manifest(project)
    report = _report(project)
    candidate = Candidate("sha256:img", "workbench/iris:1.0.0", "python:3.11-slim", "sha256:b")
    facts = GitFacts(revision="abc123", created="2026-01-02T03:04:05Z")
    hashes = Hashes(lock="l", request_schema="q", response_schema="r")
    first = Suggestion(None, SemVer(1, 0, 0), "major", "the first release")
    built = build_release(manifest, SemVer(1, 0, 0), first, report, candidate, facts, hashes)
    again = build_release(manifest, SemVer(1, 0, 0), first, report, candidate, facts, hashes)
    assert built.frozen_text == again.frozen_text and built.record == again.record

    record = built.record
    assert (record.version, record.git.tag, record.git.revision) == ("1.0.0", "v1.0.0", "abc123")
    assert record.image.id == record.image.tested_id == "sha256:img"
    assert record.released_by.driver == "Ana"
    assert set(record.waivers) == {"serve.image-built"}
    assert set(record.checklist.steps) == set(GATED_STEPS)
    assert record.checklist.readiness == round(report.readiness.fraction, 4)
    assert record.checklist.frozen == "1.0.0.checklist.json"
    assert "readiness of the gated steps" in built.message

    # The frozen checklist reads back through its own declaration, the same.
    data = json.loads(built.frozen_text)
    assert list(data) == [
        "project",
        "release",
        "generated_at",
        "workbench",
        "scope",
        "readiness",
        "steps",
        "items",
        "waivers",
    ]
    assert data["release"]["by"] == "Ana" and data["release"]["image"] == "sha256:img"
    item = next(i for i in data["items"] if i["id"] == "serve.image-built")
    assert (item["shown"], item["blocks"], item["waiver"]["by"]) == ("waived", False, "Ana")
    assert {"evidence", "remark", "blocks"} <= set(data["items"][0])
    assert decode_frozen(data, "1.0.0") == built.frozen


def test_the_sign_off_rule_is_written_once_on_the_frozen_record(project: Path) -> None:
    report = _report(project)
    facts = ReleaseFacts(version="1.0.0", created="t", by="Ana", revision="r", image="i")
    frozen: FrozenChecklist = report.freeze(facts)
    blocking = [v.item.id for v in report.blockers]
    assert blocking  # nothing has run: the gates block
    assert frozen.objections() == blocking  # nothing is stale yet
    assert frozen.approval_problems() == [f"gate items block: {', '.join(blocking)}"]
    passing = dataclasses.replace(report, views=tuple(v for v in report.views if not v.blocks))
    assert passing.freeze(facts).approval_problems() == []


def slow_inputs(check: AutoCheck, delay: float) -> AutoCheck:
    """The same check, with inputs that take a while to measure (as git and Docker do)."""

    def inputs(ctx: CheckContext) -> Any:
        time.sleep(delay)
        return check.inputs(ctx)

    return AutoCheck(check.id, check.run, inputs)


def test_measuring_inputs_never_holds_the_lock_and_standings_are_ordered(project: Path) -> None:
    from workbench.checklist.engine import Checklist

    checks = {i: slow_inputs(c, 0.03) for i, c in all_checks().items()}
    checklist = Checklist(load_manifest(project), checks, user="Ana")
    first = checklist.standing(remeasure=True)
    assert first.loaded and first.views["schema.valid"].status is Status.PENDING

    reload = threading.Thread(target=checklist.standing, kwargs={"remeasure": True})
    reload.start()
    time.sleep(0.1)  # the reload is measuring inputs now (a second and more of them)
    checklist.tick("schema.descriptions-complete", "yes", "units in cm")
    ticked = checklist.standing()
    # The tick and its standing did not wait for the reload's measuring: it still runs.
    assert reload.is_alive(), "the tick waited for the reload's measuring"
    reload.join()
    assert ticked.views["schema.descriptions-complete"].status is Status.PASS
    assert ticked.newer_than(first)
    assert next(s for s in ticked.summaries if s.step == "schema").score == 0.5


def test_a_gate_skipped_as_not_tried_here_blocks_until_waived_and_a_plain_skip_does_not(
    project: Path,
) -> None:
    """A GPU image on a machine without a GPU is built, never run: its serve items are
    skipped. Counted as passing, such a skip let an image nobody ran be tagged; a skip
    because nothing applies (no release yet, nothing deployed) still lets it through."""
    checklist = open_checklist(load_manifest(project), user="Ana")
    gate = gatekeeper(checklist)
    ids = [v.item.id for v in gate.gate_report(("schema",)).blockers]
    not_tried, does_not_apply = ids[0], ids[1]
    results = {i: CheckResult(Status.PASS, ["measured here"]) for i in ids}
    results[not_tried] = CheckResult.skipped("no GPU on this machine: not run", unverified=True)
    results[does_not_apply] = CheckResult.skipped("nothing to check here")
    gate.record(results)
    report = gate.gate_report(("schema",))
    assert [v.item.id for v in report.blockers] == [not_tried]
    view = report.view(not_tried)
    assert view is not None and view.status is Status.SKIPPED and view.unverified
    assert "workbench waive" in view.next_move
    from workbench.checklist.scoring import summarise

    passing = report.view(ids[2])
    assert passing is not None and passing.status is Status.PASS
    summary = summarise("schema", [passing, view])  # not green while it waits for a person
    assert (summary.status, summary.score, summary.max_score) == (Status.PENDING, 1.0, 2)
    skipped = report.view(does_not_apply)
    assert skipped is not None  # a skip that does not apply leaves the maximum, green
    plain = summarise("schema", [passing, skipped])
    assert (plain.status, plain.score, plain.max_score) == (Status.PASS, 1.0, 1)
    with pytest.raises(WorkbenchError, match=not_tried):
        report.require("tag")
    checklist.waive(not_tried, "run on the GPU host by Ben: answers equal")
    after = gate.require(("schema",), "tag")  # nothing blocks now
    waived = after.view(not_tried)
    assert waived is not None and waived.shown == "waived"
    # Read back from checklist.yaml by a new engine: the flag is kept.
    again = open_checklist(load_manifest(project)).view(not_tried)
    assert again.unverified and again.waiver is not None
