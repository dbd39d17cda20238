"""Findings travel as typed records: a step's report is declared once (its `report.py`),
stored with the same keys as ever, read back with its type, and nobody outside the step's
own checks/report modules and the checklist engine reads a check's details by key."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from workbench.checklist.checks import CheckResult, report_of
from workbench.checklist.state import STATE_NAME, StoredResult, load_state
from workbench.kernel.errors import WorkbenchError
from workbench.steps.serve.report import (
    REPORTS,
    BaseImageFacts,
    ExpectationsMissed,
    Figures,
    ImageFacts,
    LayerSize,
    PackageSize,
    QualityFigures,
    built_image,
    quality_figures,
    serve_figures,
)
from workbench.steps.tag.regression import quality_from

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("workbench", "commands", "screens")
READERS = ("get", "pop", "setdefault", "keys", "items", "values")


def _allowed(relative: Path) -> bool:
    """The engine stores details; a step's checks and report modules write and decode them."""
    parts = relative.parts
    if parts[:2] == ("workbench", "checklist"):
        return True
    return parts[:2] == ("workbench", "steps") and relative.name in ("checks.py", "report.py")


def _aliases(tree: ast.AST) -> set[str]:
    """Names bound to a result's details (`d = result.details`, a `details` parameter)."""
    names = {"details"}  # a parameter or local named so holds them, by convention
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_details(node.value, set()):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.NamedExpr) and _is_details(node.value, set()):
            names.add(node.target.id)
    return names


def _is_details(node: ast.expr, aliases: set[str]) -> bool:
    """`x.details`, `(x.details or {})`, `getattr(x, "details")`, or a name bound to them."""
    if isinstance(node, ast.Attribute):
        return node.attr == "details"
    if isinstance(node, ast.Name):
        return node.id in aliases
    if isinstance(node, ast.BoolOp | ast.IfExp):
        parts = node.values if isinstance(node, ast.BoolOp) else [node.body, node.orelse]
        return any(_is_details(part, aliases) for part in parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        said = [a.value for a in node.args if isinstance(a, ast.Constant)]
        return node.func.id == "getattr" and "details" in said
    return False


def _keyed_read(node: ast.AST, aliases: set[str]) -> bool:
    if isinstance(node, ast.Subscript):
        return _is_details(node.value, aliases)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in READERS and _is_details(node.func.value, aliases)
    if isinstance(node, ast.Compare):
        return any(
            isinstance(op, ast.In | ast.NotIn) and _is_details(right, aliases)
            for op, right in zip(node.ops, node.comparators, strict=True)
        )
    return False


def keyed_reads(source: str) -> list[int]:
    """Lines where check details are read by key: `[...]`, `.get(...)` and friends, `in`."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    found = [n for n in ast.walk(tree) if isinstance(n, ast.expr) and _keyed_read(n, aliases)]
    return sorted({n.lineno for n in found})


@pytest.mark.parametrize(
    "source",
    [
        'image_id = view.result.details["image_id"]',
        'image_id = (result.details or {}).get("image_id")',
        'p99 = float(getattr(result, "details", {}).get("p99_ms") or 0)',
        'd = stored.details\nvalue = d["value"]',
        'if "p99_ms" in details:\n    pass',
        'def picture(details):\n    return float(details.get("p99_ms") or 0)',
        'value = (r.details if r else {})["value"]',
    ],
)
def test_the_scan_finds_every_shape_of_a_keyed_read(source: str) -> None:
    assert keyed_reads(source) != []


def test_the_scan_lets_a_result_go_to_its_accessor() -> None:
    assert keyed_reads("figures = serve_figures(view.result)\nresult.evidence[0]") == []


def test_no_keyed_read_of_check_details_outside_the_steps_reports_and_the_engine() -> None:
    scanned, found = 0, []
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if _allowed(relative):
                continue
            scanned += 1
            found += [f"{relative}:{line}" for line in keyed_reads(path.read_text())]
    assert scanned > 50  # the scan saw the code, not an empty folder
    assert found == [], (
        "read a check's findings through its step's typed accessor "
        "(workbench/steps/<step>/report.py), never by key: " + ", ".join(found)
    )


# --- the records: stored with the keys as ever, read back typed -------------------------------

# The keys each item wrote before its report was typed: files already committed hold them.
KEYS_ON_DISK = {
    "serve.base-image": ["image_id"],
    "serve.image-built": ["image_id", "size_bytes", "packages", "layers"],
    "serve.performance": [
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "p99_concurrent_ms",
        "error_rate",
        "cold_start_s",
        "peak_memory_mb",
        "image_mb",
        "rps_concurrent",
        "batching",
    ],
    "serve.quality": ["metric", "value", "n", "data", "data_sha256", "bound", "data_rows_sha256"],
    "serve.expectations": ["failed"],
}
SAMPLES = {
    "serve.base-image": BaseImageFacts(image_id="sha256:base"),
    "serve.image-built": ImageFacts(
        image_id="sha256:abc",
        size_bytes=150_000_000,
        packages=[PackageSize(name="numpy", version="2.1.3", size_bytes=40_000_000)],
        layers=[LayerSize(step="COPY /opt/venv /opt/venv # buildkit", size_bytes=90_000_000)],
    ),
    "serve.performance": Figures(
        p50_ms=1.5,
        p95_ms=2.5,
        p99_ms=4.0,
        p99_concurrent_ms=9.0,
        error_rate=0.0,
        cold_start_s=1.25,
        peak_memory_mb=120.5,
        image_mb=150.0,
        rps_concurrent=410.5,
        batching="off (the model answers inline, under 2 ms a call)",
    ),
    "serve.quality": QualityFigures(
        metric="accuracy", value=0.9667, n=30, data="data/holdout.csv", data_sha256="d"
    ),
    "serve.expectations": ExpectationsMissed(failed=["one tripled"]),
}


def test_every_report_is_stored_under_the_keys_files_already_hold() -> None:
    assert set(REPORTS) == set(KEYS_ON_DISK) == set(SAMPLES)
    for item_id, kind in REPORTS.items():
        sample = SAMPLES[item_id]
        assert type(sample) is kind
        details = CheckResult.passed("measured", report=sample).details
        assert list(details) == KEYS_ON_DISK[item_id], item_id
        assert report_of(CheckResult.passed(report=sample), kind, item_id) == sample


def test_a_stored_report_reads_back_typed_from_checklist_yaml(tmp_path: Path) -> None:
    from workbench.checklist.state import ChecklistState, save_state

    state = ChecklistState()
    for item_id, sample in SAMPLES.items():
        stored = CheckResult.passed("measured", report=sample)
        state.results[item_id] = StoredResult(
            status="pass", fingerprint="f", checked_at="t", details=stored.details
        )
    save_state(tmp_path, state, list(SAMPLES))
    read = load_state(tmp_path).results
    assert built_image(read["serve.image-built"]) == SAMPLES["serve.image-built"]
    assert serve_figures(read["serve.performance"]) == SAMPLES["serve.performance"]
    assert quality_figures(read["serve.quality"]) == SAMPLES["serve.quality"]
    quality = quality_from(read["serve.quality"])
    assert quality is not None and (quality.metric, quality.value, quality.n) == (
        "accuracy",
        0.9667,
        30,
    )


def test_an_older_file_reads_with_what_it_never_measured_as_none(tmp_path: Path) -> None:
    # As the serve test wrote serve.performance before #23: four figures and a mean.
    (tmp_path / STATE_NAME).write_text(
        "items:\n"
        "  serve.performance:\n"
        "    status: pass\n    fingerprint: f\n    checked_at: t\n"
        "    details: {p50_ms: 1.2, p95_ms: 2, p99_ms: 3.5, peak_memory_mb: 90.1, mean_ms: 1.4}\n"
        "  serve.image-built:\n"
        "    status: fail\n    fingerprint: f\n    checked_at: t\n"
    )
    read = load_state(tmp_path).results
    figures = serve_figures(read["serve.performance"])
    assert figures is not None and (figures.p95_ms, figures.p99_ms) == (2.0, 3.5)
    assert figures.p99_concurrent_ms is None and figures.error_rate is None
    assert built_image(read["serve.image-built"]) is None  # built nothing
    assert built_image(None) is None and quality_from(None) is None


def test_details_that_do_not_read_as_the_report_name_the_item() -> None:
    edited = StoredResult(status="pass", fingerprint="f", checked_at="t", details={"value": 1})
    with pytest.raises(WorkbenchError, match=r"serve\.quality.*QualityFigures.*metric"):
        quality_figures(edited)


# The replay (`push.replay`): the keys it is stored under, pinned (new fields at the end).
REPLAY_KEYS = [
    "channel",
    "candidate",
    "production",
    "source",
    "replayed_at",
    "logged",
    "sent",
    "answered",
    "agreed",
    "fields",
    "absent_inputs",
    "candidate_p50_ms",
    "candidate_p99_ms",
    "production_p50_ms",
    "production_p99_ms",
    "errors",
    "minimum",
]


def test_the_replay_is_stored_under_pinned_keys_and_reads_back_typed() -> None:
    from workbench.steps.push.report import (
        FieldAgreement,
        ReplayError,
        ReplayReport,
        Replays,
        replays_of,
    )

    replay = ReplayReport(
        channel="production",
        candidate="1.1.0",
        production="1.0.0",
        source="a file",
        replayed_at="t",
        logged=3,
        sent=2,
        answered=1,
        agreed=1,
        fields=[FieldAgreement(field="prediction", agreed=1, compared=1)],
        errors=[ReplayError(status=422, request_id="c", production_request_id="p", message="m")],
        minimum=0.9,
    )
    details = CheckResult.passed("replayed", report=Replays(replays=[replay])).details
    assert list(details) == ["replays"]
    (stored,) = details["replays"]
    assert list(stored) == REPLAY_KEYS
    assert list(stored["fields"][0]) == ["field", "agreed", "compared", "absent"]
    assert list(stored["errors"][0]) == ["status", "request_id", "production_request_id", "message"]
    read = replays_of(StoredResult(status="pass", fingerprint="f", checked_at="t", details=details))
    assert read == Replays(replays=[replay]) and read.replays[0].agreement == 0.5
    edited = StoredResult(status="pass", fingerprint="f", checked_at="t", details={"replays": 1})
    with pytest.raises(WorkbenchError, match=r"push\.replay.*Replays"):
        replays_of(edited)


def test_the_rollback_rehearsal_is_stored_under_its_keys() -> None:
    """push.rollback-rehearsed's report (workbench/steps/push/rehearsal.py): its keys on disk,
    new fields appended at the end, and read back typed."""
    from workbench.steps.push.rehearsal import Rehearsal, Rehearsals

    sample = Rehearsals(
        rehearsals=[
            Rehearsal(
                channels=["production"],
                version="1.0.0",
                digest="sha256:d",
                image_id="sha256:i",
                ready_seconds=1.5,
                example="setosa.json",
                status=200,
                answer='{"prediction": "setosa"}',
            )
        ]
    )
    details = CheckResult.passed("rehearsed", report=sample).details
    assert list(details) == ["rehearsals"]
    assert list(details["rehearsals"][0]) == [
        "channels",
        "version",
        "digest",
        "image_id",
        "ready_seconds",
        "example",
        "status",
        "answer",
        "cause",
    ]
    read = report_of(CheckResult.passed(report=sample), Rehearsals, "push.rollback-rehearsed")
    assert read == sample
