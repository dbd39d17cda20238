"""The checklist engine: staleness, gates, waivers, scoring, pair mode, atomic state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.checklist.checks import AutoCheck, CheckContext, CheckResult, Status
from workbench.checklist.definitions import DefinitionError, load_definitions
from workbench.checklist.engine import Checklist, ItemFinished
from workbench.checklist.scoring import StepSummary, readiness
from workbench.checklist.state import STATE_NAME, load_state
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps import all_checks, open_checklist
from workbench.steps.serve.report import ImageFacts


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = copy_example("iris", tmp_path / "iris")
    text = (root / "workbench.yaml").read_text()
    (root / "workbench.yaml").write_text(text.replace("python: .venv/bin/python\n", ""))
    return root


def checklist(root: Path, **kwargs: object) -> Checklist:
    return open_checklist(load_manifest(root), **kwargs)  # type: ignore[arg-type]


def run(c: Checklist, *ids: str) -> dict[str, Status]:
    events = c.run(list(ids), CheckContext(c.manifest))
    return {e.item_id: e.view.status for e in events if isinstance(e, ItemFinished)}


def test_a_result_goes_stale_when_its_inputs_change_and_fresh_when_rerun(project: Path) -> None:
    c = checklist(project)
    assert c.view("schema.valid").status is Status.PENDING
    assert run(c, "schema.valid") == {"schema.valid": Status.PASS}
    assert checklist(project).view("schema.valid").status is Status.PASS  # persisted

    request = project / "schema" / "request.yaml"
    request.write_text(request.read_text().replace("maximum: 20", "maximum: 30", 1))
    c = checklist(project)
    stale = c.view("schema.valid")
    assert stale.status is Status.STALE
    assert stale.score == 0
    assert "inputs changed" in stale.remark
    assert run(c, "schema.valid") == {"schema.valid": Status.PASS}


def test_a_failing_check_names_the_problem(project: Path) -> None:
    request = project / "schema" / "request.yaml"
    request.write_text(request.read_text().replace("type: object", "type: objekt"))
    c = checklist(project)
    assert run(c, "schema.valid") == {"schema.valid": Status.FAIL}
    assert "schema/request.yaml" in c.view("schema.valid").evidence[0]


def test_gates_block_until_passing_or_waived_with_a_reason(project: Path) -> None:
    c = checklist(project)
    blocked = {v.item.id for v in c.blockers(("schema",))}
    assert {"schema.valid", "schema.examples-valid", "schema.responses-valid"} <= blocked
    assert "schema.closed" not in blocked  # not a gate
    with pytest.raises(WorkbenchError, match="cannot tag: gate items are not passing"):
        c.require_gates(("schema",), "tag")

    run(c, "schema.valid", "schema.examples-valid")
    with pytest.raises(WorkbenchError, match="written reason"):
        c.waive("schema.responses-valid", "ok")
    c.waive("schema.responses-valid", "the model is checked by hand in this test")
    c.waive("schema.feature-names", "the model is checked by hand in this test")
    c.require_gates(("schema",), "tag")  # no longer raises
    state = load_state(project)
    assert state.waivers["schema.responses-valid"].reason.startswith("the model is checked")
    c.unwaive("schema.responses-valid")
    assert [v.item.id for v in c.blockers(("schema",))] == ["schema.responses-valid"]


def test_scores_follow_the_ml_test_score(project: Path) -> None:
    c = checklist(project, user="Ana")
    run(
        c,
        "schema.valid",
        "schema.closed",
        "schema.bounded",
        "schema.described",
        "schema.examples-valid",
    )
    assert c.view("schema.valid").score == 1
    c.tick("schema.descriptions-complete", "yes")
    assert c.view("schema.descriptions-complete").score == 0  # a tick without evidence
    c.tick("schema.descriptions-complete", "yes", note="read every field with Ben")
    assert c.view("schema.descriptions-complete").score == 0.5
    summary = c.summary("schema")
    assert summary.max_score == 9
    assert summary.score == 5.5  # 5 auto passes + 0.5 manual; responses-valid pending
    c.tick("schema.descriptions-complete", "n/a", note="no new fields")
    assert c.summary("schema").max_score == 8
    lowest = min(c.summaries(), key=lambda s: s.fraction)
    assert c.readiness().fraction == lowest.fraction
    assert c.readiness().limited_by == lowest.step
    assert c.readiness().fraction == 0  # tag and push have nothing yet


def test_pair_mode_gate_needs_the_navigators_confirmation(project: Path) -> None:
    c = checklist(project, pair=("Ana", "Ben"))
    view = c.tick("snapshot.packages-expected", "yes", note="only sklearn and numpy")
    assert view.status is Status.PENDING
    assert "awaiting Ben's confirmation" in view.remark
    with pytest.raises(WorkbenchError, match="waits for Ben's confirmation, not Cleo's"):
        c.confirm("snapshot.packages-expected", "Cleo")
    view = c.confirm("snapshot.packages-expected", "Ben")
    assert view.status is Status.PASS
    tick = load_state(project).ticks["snapshot.packages-expected"]
    assert (tick.by, tick.navigator, tick.confirmed_by) == ("Ana", "Ben", "Ben")
    # a non-gate item needs no confirmation, nor a note
    assert c.tick("serve.tried-by-hand", "yes").status is Status.PASS
    # a gate answered yes needs a note saying what was looked at (a bare yes is refused)
    with pytest.raises(WorkbenchError, match="is a gate: a yes needs a note"):
        c.tick("snapshot.packages-expected", "yes", note="  ")
    with pytest.raises(WorkbenchError, match="is a gate: a n/a needs a note"):
        c.tick("snapshot.packages-expected", "n/a")  # n/a would pass the gate unexplained
    # A bare yes already in checklist.yaml (written by hand, or before the rule) does not
    # pass the gate.
    from workbench.checklist.state import ManualTick

    with c.writing("a tick written by hand"):
        c.state.ticks["snapshot.packages-expected"] = ManualTick(
            answer="yes", by="Ana", at="2026-01-01T00:00:00Z", note=None, about=[]
        )
    assert c.view("snapshot.packages-expected").status is Status.PENDING
    assert c.tick("snapshot.packages-expected", "no").status is Status.FAIL
    with pytest.raises(WorkbenchError, match="checked by the tool"):
        c.tick("schema.valid", "yes")


def test_a_yes_about_the_runtime_set_goes_stale_when_a_package_arrives(project: Path) -> None:
    """`snapshot.packages-expected` is answered about the runtime set of that moment: a
    package added since is one nobody looked at, so the answer is asked again (a new user's
    trial: the yes stayed green over a new package and the release went ahead)."""
    from tests.helpers import write_runtime_set
    from workbench.project.records import RuntimeEntry

    def snapshot(*names: str) -> None:
        write_runtime_set(project, {n: RuntimeEntry(version="1.0") for n in names})

    snapshot("numpy", "scikit-learn")
    c = checklist(project)
    assert c.tick("snapshot.packages-expected", "yes", note="numpy, sklearn").status is Status.PASS
    snapshot("numpy", "scikit-learn")  # taken again, the same packages: the answer holds
    assert checklist(project).view("snapshot.packages-expected").status is Status.PASS

    snapshot("numpy", "scikit-learn", "requests")
    stale = checklist(project).view("snapshot.packages-expected")
    assert stale.status is Status.STALE and stale.blocks
    assert "1 new (requests)" in stale.remark, stale.remark
    assert "answer again" in stale.next_move and "workbench check" not in stale.next_move
    c = checklist(project)
    c.tick("snapshot.packages-expected", "yes", note="requests: the client of our API")
    assert checklist(project).view("snapshot.packages-expected").status is Status.PASS
    # In pair mode the navigator cannot confirm an answer about an earlier runtime set.
    paired = checklist(project, pair=("Ana", "Ben"))
    paired.tick("snapshot.packages-expected", "yes", note="the three of them")
    snapshot("numpy", "scikit-learn")
    with pytest.raises(WorkbenchError, match="has changed since"):
        checklist(project, pair=("Ana", "Ben")).confirm("snapshot.packages-expected", "Ben")


def test_a_yes_from_before_answers_were_bound_is_asked_again(project: Path) -> None:
    """A tick written by an older workbench records nothing of what it was about: it
    vouched for any later runtime set (a reviewer's read). It is stale, saying why."""
    from tests.helpers import write_runtime_set
    from workbench.checklist.state import save_state
    from workbench.project.records import RuntimeEntry

    write_runtime_set(project, {"numpy": RuntimeEntry(version="1.0")})
    c = checklist(project)
    c.tick("snapshot.packages-expected", "yes", note="numpy")
    state = load_state(project)
    state.ticks["snapshot.packages-expected"].about = None  # as an older workbench wrote it
    save_state(project, state, [i.id for i in c.items])
    stale = checklist(project).view("snapshot.packages-expected")
    assert stale.status is Status.STALE, stale.remark
    assert "answered with an older workbench" in stale.remark
    c.tick("serve.tried-by-hand", "yes", note="curl, setosa")  # about nothing: kept
    state = load_state(project)
    state.ticks["serve.tried-by-hand"].about = None
    save_state(project, state, [i.id for i in c.items])
    assert checklist(project).view("serve.tried-by-hand").status is Status.PASS


def test_a_yes_about_the_descriptions_goes_stale_when_a_field_or_description_changes(
    project: Path,
) -> None:
    """`schema.descriptions-complete` was a yes for ever: a field added since, or a
    description rewritten, kept it green though nobody had read them."""
    c = checklist(project)
    assert c.tick("schema.descriptions-complete", "yes", note="units").status is Status.PASS
    request = project / "schema" / "request.yaml"
    request.write_text(request.read_text().replace("description:", "description: (cm)", 1))
    stale = checklist(project).view("schema.descriptions-complete")
    assert stale.status is Status.STALE and "1 new (request" in stale.remark, stale.remark
    checklist(project).tick("schema.descriptions-complete", "yes", note="read again")
    assert checklist(project).view("schema.descriptions-complete").status is Status.PASS


def test_a_crashing_check_becomes_a_failed_item(project: Path) -> None:
    def boom(ctx: CheckContext) -> CheckResult:
        raise KeyError("surprise")

    checks = {**all_checks(), "schema.closed": AutoCheck("schema.closed", boom, lambda c: {})}
    c = Checklist(load_manifest(project), checks)
    assert run(c, "schema.closed") == {"schema.closed": Status.FAIL}
    assert "the check itself crashed: KeyError" in c.view("schema.closed").evidence[0]


def test_state_file_is_stable_and_ordered(project: Path) -> None:
    c = checklist(project, user="Ana")
    c.tick("push.rollback-known", "yes", note="v1 is the fallback")
    run(c, "schema.valid")
    text = (project / STATE_NAME).read_text()
    assert text.index("schema.valid") < text.index("push.rollback-known")  # definition order
    with c.writing("saving again"):
        pass
    assert (project / STATE_NAME).read_text() == text  # saving again changes nothing


def test_a_write_killed_midway_leaves_the_old_file_intact(tmp_path: Path) -> None:
    target = tmp_path / STATE_NAME
    target.write_text("items: {}\n# the old, good state\n")
    child = textwrap.dedent(f"""
        import os, signal
        import workbench.kernel.atomic as atomic
        def die(fd):
            os.kill(os.getpid(), signal.SIGKILL)  # killed after writing, before the rename
        atomic.os.fsync = die
        atomic.write_text_atomic(__import__("pathlib").Path({str(target)!r}), "items: NEW" * 100000)
    """)
    result = subprocess.run([sys.executable, "-c", child], check=False)
    assert result.returncode == -signal.SIGKILL
    assert target.read_text() == "items: {}\n# the old, good state\n"
    # and the next write succeeds over whatever the killed one left behind
    from workbench.kernel.atomic import write_text_atomic

    write_text_atomic(target, "items: {}\n")
    assert target.read_text() == "items: {}\n"
    assert os.stat(target).st_mode & 0o777 == 0o644


def test_team_file_adds_items_and_disables_builtins(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        textwrap.dedent("""\
        items:
          - id: team.privacy-review
            step: serve
            kind: manual
            gate: true
            summary: Privacy review done
            question: Has the privacy team reviewed the features?
            why: Company policy P-12.
            fix: Book a privacy review.
        """)
    )
    items = load_definitions([team], ["serve.tried-by-hand"], known_checks=set())
    ids = [i.id for i in items]
    assert "team.privacy-review" in ids
    assert "serve.tried-by-hand" not in ids
    assert ids.index("team.privacy-review") > ids.index("schema.valid")  # step order


TEXTS = "    summary: abc\n    question: abc\n    why: abc\n    fix: abc\n"


def team_item(item_id: str, step: str, kind: str, texts: str = TEXTS) -> str:
    return f"items:\n  - id: {item_id}\n    step: {step}\n    kind: {kind}\n{texts}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            team_item("team.x", "serve", "manual", ""),
            "line 2, `items.0`: 'summary' is a required property",
        ),
        (team_item("team.x", "deploy", "manual"), "line 3, `items.0.step`: 'deploy' is not one of"),
        (team_item("team.x", "serve", "auto"), "no check of that id exists"),
        (team_item("schema.valid", "serve", "manual"), "defined twice"),
        ("items: [\n", "not valid YAML"),
    ],
)
def test_invalid_definition_files_get_clear_errors(
    tmp_path: Path, body: str, expected: str
) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(body)
    with pytest.raises(DefinitionError) as caught:
        load_definitions([team], known_checks=set())
    assert expected in str(caught.value)
    assert str(team) in str(caught.value)


def test_disabling_an_unknown_item_is_an_error() -> None:
    with pytest.raises(DefinitionError, match=r"unknown items: schema\.nope"):
        load_definitions([], ["schema.nope"])


def test_readiness_is_the_lowest_step_fraction_not_the_lowest_raw_score() -> None:
    # Push has 5 items, Serve 13: raw sums would always blame Push. Fractions do not.
    steps = [
        StepSummary("snapshot", 9.0, 10, {}, []),  # 90%
        StepSummary("serve", 6.5, 13, {}, []),  # 50%: the limit
        StepSummary("push", 4.0, 5, {}, []),  # 80%, the lowest raw score
        StepSummary("tag", 0.0, 0, {}, []),  # nothing counted: not a limit
    ]
    result = readiness(steps)
    assert (result.fraction, result.limited_by, result.percent) == (0.5, "serve", 50)
    assert str(result) == "50% (limited by Serve)"
    assert StepSummary("tag", 0.0, 0, {}, []).fraction == 1.0
    assert readiness([StepSummary("push", 5.0, 5, {}, [])]).limited_by is None
    assert readiness([StepSummary("serve", 12.99, 13, {}, [])]).percent == 99  # never rounds up


def test_an_engine_outage_keeps_the_last_results_of_the_serve_items(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The serve items passed earlier; then the engine is gone. Running them again must say
    # they could not run, not overwrite the passes with failures.
    manifest = project / "workbench.yaml"
    manifest.write_text(
        manifest.read_text().replace("serve:\n", "serve:\n  base_image: python:3.11-slim\n")
    )
    c = checklist(project)
    passed = CheckResult.passed("built earlier", report=ImageFacts(image_id="sha256:abc"))
    c.record({"serve.image-built": passed, "serve.base-image": passed})
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    events = list(c.run(["serve.base-image", "serve.image-built"], CheckContext(c.manifest)))
    views = {e.item_id: e.view for e in events if isinstance(e, ItemFinished)}
    for item_id in ("serve.base-image", "serve.image-built"):
        # Kept, but never shown as if just run: stale, the outage named, blocking.
        assert views[item_id].status is Status.STALE
        assert "not checked now (no Docker engine answers" in views[item_id].remark
        assert "the last result, pass at" in views[item_id].remark
        assert checklist(project).state.results[item_id].evidence == ["built earlier"]
    assert {v.item.id for v in c.blockers(("serve",))} >= {"serve.base-image", "serve.image-built"}


def test_an_engine_that_does_not_answer_is_a_clear_error_within_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A socket that accepts and never answers: the engine hangs.
    import socket
    import threading

    from workbench.kernel.docker import docker_client
    from workbench.kernel.errors import UnavailableError

    path = tmp_path / "hung.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(server.accept()[0]), daemon=True).start()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    with pytest.raises(UnavailableError, match="did not answer a ping within 1 s: it hangs"):
        docker_client(timeout=1)
    server.close()


def test_a_serve_setting_does_not_make_the_models_checks_stale(tmp_path: Path) -> None:
    from workbench.checklist.checks import CheckContext
    from workbench.project.manifest import load_manifest
    from workbench.project.scaffold import copy_example
    from workbench.steps.shared import model_inputs

    project = copy_example("iris", tmp_path / "iris")
    before = model_inputs(CheckContext(load_manifest(project)))
    manifest = project / "workbench.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("serve:\n", "serve:\n  system_packages: [libgomp1]\n", 1))
    assert model_inputs(CheckContext(load_manifest(project))) == before
    manifest.write_text(text.replace("model.joblib", "other.joblib", 1))
    (project / "model" / "other.joblib").write_bytes(
        (project / "model" / "model.joblib").read_bytes()
    )
    assert model_inputs(CheckContext(load_manifest(project))) != before  # the model's own section


def test_a_result_older_than_its_max_age_is_stale_with_its_age_a_skip_never(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An item reading outside the project (a registry) declares a max_age: its result is
    stale after that, said with its age; a skip (for a reason its inputs hold) stays."""
    from workbench.checklist import checks as checks_module

    outcome = {"result": CheckResult.passed("the registry answered")}
    reads = AutoCheck("schema.closed", lambda c: outcome["result"], lambda c: {}, max_age=3600.0)
    c = Checklist(load_manifest(project), {**all_checks(), "schema.closed": reads})
    assert run(c, "schema.closed") == {"schema.closed": Status.PASS}
    assert c.view("schema.closed").status is Status.PASS  # fresh: just read
    real = checks_module.datetime

    class Later(real):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz: object = None) -> real:  # type: ignore[override, valid-type]
            return real.now(tz) + __import__("datetime").timedelta(hours=2)  # type: ignore[arg-type]

    monkeypatch.setattr(checks_module, "datetime", Later)
    view = c.view("schema.closed")
    assert view.status is Status.STALE and view.remark.startswith("read 2 hours ago")
    monkeypatch.setattr(checks_module, "datetime", real)
    outcome["result"] = CheckResult.skipped("nothing deployed")
    assert run(c, "schema.closed") == {"schema.closed": Status.SKIPPED}
    monkeypatch.setattr(checks_module, "datetime", Later)
    assert c.view("schema.closed").status is Status.SKIPPED


def test_a_stale_item_names_the_inputs_that_changed(project: Path) -> None:
    """A stale item said only "inputs changed": a user who upgraded the workbench, or
    edited one file, could not tell why every serve item went stale (a new user's trial).
    The verdict keeps a digest per input; staleness names those that differ."""
    c = checklist(project)
    assert run(c, "schema.valid") == {"schema.valid": Status.PASS}
    stored = load_state(project).results["schema.valid"]
    assert stored.inputs and all(len(d) == 16 for d in stored.inputs.values())
    request = project / "schema" / "request.yaml"
    request.write_text(request.read_text() + "# a comment\n")
    view = checklist(project).view("schema.valid")
    assert view.status is Status.STALE
    changed = [name for name in stored.inputs if "request" in name]
    assert changed and view.remark.endswith(": " + ", ".join(changed)), view.remark
    # A result stored by an older workbench (no digests): stale, said as before.
    state = load_state(project)
    state.results["schema.valid"].inputs = {}
    from workbench.checklist.state import save_state

    save_state(project, state, [i.id for i in c.items])
    view = checklist(project).view("schema.valid")
    assert view.status is Status.STALE and view.remark.endswith(")"), view.remark


def test_a_misspelt_item_gets_a_did_you_mean(project: Path) -> None:
    with pytest.raises(WorkbenchError, match=r"Did you mean tag\.release-note"):
        checklist(project).tick("tag.relase-note", "yes", note="x")


def test_what_several_items_read_is_read_once_when_their_step_is_shown(project: Path) -> None:
    """The items of a step are measured together, in one context: an input several of them
    share (the project's content, for six tag items) was read once per item before."""
    reads: list[str] = []

    def shared(ctx: CheckContext) -> dict[str, str]:
        def read() -> str:
            reads.append("read")
            return "the project's content"

        return {"tree": str(ctx.memo("test.tree", read))}

    def passing(ctx: CheckContext) -> CheckResult:
        return CheckResult.passed("fine")

    ids = ("schema.valid", "schema.closed", "schema.examples-valid")
    checks = {**all_checks(), **{i: AutoCheck(i, passing, shared) for i in ids}}
    run(Checklist(load_manifest(project), checks), *ids)
    reads.clear()
    shown = Checklist(load_manifest(project), checks)
    assert {shown.view(i).status for i in ids} == {Status.PASS}
    assert len(reads) == 3  # one item viewed alone is measured alone
    reads.clear()
    again = Checklist(load_manifest(project), checks)
    statuses = {v.item.id: v.status for v in again.views("schema")}
    assert {statuses[i] for i in ids} == {Status.PASS}
    assert reads == ["read"]  # once for the three, not once each
    again.summaries()
    assert reads == ["read"]  # measured already: not again
