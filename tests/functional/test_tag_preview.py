"""`workbench tag --dry-run` says what it cannot know before the release candidate is
tested, refuses what the last serve test already shows to be worse, and shows waived gates
as waived (in `check` and in reports too), with a fix only for what fails (issue #23)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.functional.test_tag_push_faults import project, release
from workbench.checklist import report
from workbench.checklist.checks import CheckResult
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist
from workbench.steps.serve.report import QualityFigures
from workbench.steps.tag.release import GATED_STEPS

WORKBENCH = str(Path(sys.executable).parent / "workbench")


def dry_run(folder: Path) -> tuple[int, str]:
    done = subprocess.run(
        [WORKBENCH, "tag", "--dry-run", "-p", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, " ".join(done.stdout.split())


def measured(accuracy: float) -> CheckResult:
    """serve.quality as the serve test records it (the details the tag compares)."""
    return CheckResult.passed(
        f"accuracy {accuracy} on 30 held-out records",
        report=QualityFigures(
            metric="accuracy", value=accuracy, n=30, data="data/holdout.csv", data_sha256="d"
        ),
    )


def test_a_dry_run_never_clears_what_only_the_candidate_can_answer(tmp_path: Path) -> None:
    folder = project(tmp_path)
    release(folder, "1.0.0", accuracy=0.97)
    checklist = open_checklist(load_manifest(folder), user="Ana")
    for view in checklist.blockers(GATED_STEPS):  # nothing blocks now, by waivers
        checklist.waive(view.item.id, "the gate is not what this test is about")

    # No serve test yet: nothing blocks, but the candidate's verdicts are named as unknown
    # (it said "every gate ... passes: `workbench tag` would ... release it").
    code, out = dry_run(folder)
    assert code == 0, out
    assert "every gate of Snapshot, Schema and Serve passes" not in out
    assert "would refuse" not in out
    assert "not known until the candidate image is tested" in out
    assert (
        "tag.no-regression: the candidate's accuracy against 1.0.0's 0.97 (tolerance 0.02): "
        "not known until the candidate image is tested"
    ) in out
    assert "serve.valid-accepted" in out or "serve gates of the release candidate" in out

    # The waived gates are shown as waived, with their reason, never as failing, and no fix.
    assert "waived (each waiver goes into the release manifest)" in out
    assert "snapshot.fresh (its check: pending) waived by Ana: the gate is not" in out
    assert "snapshot.fresh is" not in out
    assert "workbench snapshot` again" not in out  # snapshot.fresh's fix

    # The last serve test of these same inputs measured a worse model: the real tag would
    # build and test the candidate for half a minute, then refuse it. The preview says so.
    checklist.record({"serve.quality": measured(0.8)})
    code, out = dry_run(folder)
    assert code == 1, out
    assert "the tag would be refused" in out
    assert (
        "tag.no-regression would refuse it: the last serve test (of these same inputs) "
        "measured accuracy 0.8 against 0.97 for 1.0.0: lower by 0.17"
    ) in out

    checklist.waive("tag.no-regression", "the new data is harder; accepted by the team")
    code, out = dry_run(folder)
    assert code == 0, out
    assert "lower by 0.17, over the tolerance 0.02 (the last serve test), waived" in out


def test_a_waived_gate_is_shown_waived_in_check_and_in_reports(tmp_path: Path) -> None:
    folder = project(tmp_path)
    checklist = open_checklist(load_manifest(folder), user="Ana")
    checklist.record({"serve.non-root": CheckResult.failed("the image runs as root (uid 0)")})
    checklist.waive("serve.non-root", "a base image we cannot change this week")
    view = checklist.view("serve.non-root")
    assert (view.status.value, view.shown, view.blocks) == ("fail", "waived", False)

    listed = subprocess.run(
        [WORKBENCH, "check", "--no-run", "--step", "serve", "-p", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "250"},
    )
    row = next(line for line in listed.stdout.splitlines() if "serve.non-root" in line)
    cells = [cell.strip() for cell in row.split("│")]
    assert cells[3] == "waived", row  # the status column (it said "fail")
    assert "waived by Ana: a base image we cannot change this week (the check: fail)" in row

    data = report.build(checklist)
    item = next(i for i in data["items"] if i["id"] == "serve.non-root")
    assert (item["status"], item["shown"]) == ("fail", "waived")
    markdown = next(
        line for line in report.to_markdown(data).splitlines() if "`serve.non-root`" in line
    )
    assert "| waived |" in markdown and "| fail |" not in markdown
    assert "**waived** by Ana: a base image we cannot change this week (the check: fail)" in (
        markdown
    )
    html = report.to_html(data)
    assert "<tr class='waived'><td>🟨</td><td><code>serve.non-root</code>" in html
    # a frozen checklist of an older release has no `shown`: it is worked out the same way
    older = {k: v for k, v in item.items() if k != "shown"}
    assert report.shown(older) == "waived"
