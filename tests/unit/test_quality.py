"""Quality on held-out data and corner cases (issue #17): the manifest's evaluation block,
scikit-learn's metric in the model's interpreter, the judge of expectations, and the
regression rule between releases."""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import pytest
from sklearn import metrics

from tests.unit.test_manifest import GOOD, error_of, project
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.records import QualityInfo, ReleaseRecord
from workbench.project.semver import SemVer
from workbench.steps.serve import quality
from workbench.steps.tag.regression import regression, waived_since


def evaluation_manifest(tmp_path: Path, block: str) -> Path:
    root = project(tmp_path, GOOD + block)
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "holdout.csv").write_text("x,y\n1,2\n")
    return root


def test_an_evaluation_block_is_read_with_its_direction(tmp_path: Path) -> None:
    root = evaluation_manifest(
        tmp_path,
        "evaluation:\n  data: data/holdout.csv\n  target: y\n  metric: rmse\n  maximum: 2\n",
    )
    evaluation = load_manifest(root).evaluation
    assert evaluation is not None and evaluation.lower_is_better and evaluation.bound == 2.0
    assert evaluation.tolerance == 0.0 and evaluation.output == "prediction"


@pytest.mark.parametrize(
    ("block", "words"),
    [
        ("  target: y\n  metric: accuracy\n", "`evaluation.data`: is missing"),
        ("  data: data/holdout.csv\n  target: y\n  metric: acuracy\n", "did you mean `accuracy`"),
        (
            "  data: data/holdout.csv\n  target: y\n  metric: rmse\n  minimum: 0.9\n",
            "its bound is `maximum`",
        ),
        ("  data: data/nope.csv\n  target: y\n  metric: r2\n", "`data/nope.csv` does not exist"),
        ("  data: ../outside.csv\n  target: y\n  metric: r2\n", "resolves outside the project"),
        (
            "  data: data/holdout.csv\n  target: y\n  metric: r2\n  minimum: high\n",
            "expected a number",
        ),
    ],
)
def test_a_wrong_evaluation_block_is_one_clear_error(
    tmp_path: Path, block: str, words: str
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "holdout.csv").write_text("x,y\n1,2\n")
    assert words in error_of(tmp_path, GOOD + "evaluation:\n" + block)


def score_here(payload: dict[str, object]) -> dict[str, object]:
    """The scoring script as the workbench runs it, in an interpreter with scikit-learn."""
    import json
    import subprocess

    out = subprocess.run(
        [sys.executable, str(quality.SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_the_scores_are_scikit_learns() -> None:
    truth, pred = ["a", "b", "b", "c", "a"], ["a", "b", "c", "c", "b"]
    result = score_here({"metric": "f1_macro", "y_true": truth, "y_pred": pred})
    assert result["value"] == pytest.approx(metrics.f1_score(truth, pred, average="macro"))
    assert result["confusion"] == {
        "labels": ["a", "b", "c"],
        "matrix": [[1, 1, 0], [0, 1, 1], [0, 0, 1]],
    }
    proba = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]]
    truth2 = ["no", "yes", "yes", "yes"]
    result = score_here(
        {
            "metric": "roc_auc",
            "y_true": truth2,
            "y_pred": [],
            "labels": ["no", "yes"],
            "proba": proba,
        }
    )
    assert result["value"] == pytest.approx(
        metrics.roc_auc_score([t == "yes" for t in truth2], [p[1] for p in proba])
    )
    result = score_here({"metric": "rmse", "y_true": [1.0, 2.0, 4.0], "y_pred": [1.0, 3.0, 2.0]})
    assert result["value"] == pytest.approx((5 / 3) ** 0.5)
    assert result["residuals"]["max_abs"] == 2.0
    assert (
        "needs probabilities"
        in score_here({"metric": "log_loss", "y_true": ["a"], "y_pred": ["a"]})["error"]
    )


def test_true_answers_are_compared_in_the_type_of_the_models_answers() -> None:
    assert quality._like(1.0, 1) == 1 and quality._like(1, "1") == "1"
    assert quality._like(2.0, "2") == "2" and quality._like("true", True) is True
    assert quality._like(0.5, 0.25) == 0.5


CASES = [
    {"name": "low", "request": {"x": 0}, "expect": {"prediction": "no"}},
    {"name": "high", "request": {"x": 9}, "within": {"probabilities.yes": [0.8, 1.0]}},
    {"name": "low again", "request": {"x": 0.1}, "same_as": "low"},
]


def test_each_failing_case_is_named_with_what_was_expected() -> None:
    answers = {
        "low": {"prediction": "no", "probabilities": {"yes": 0.1}},
        "high": {"prediction": "yes", "probabilities": {"yes": 0.95}},
        "low again": {"prediction": "no", "probabilities": {"yes": 0.12}},
    }
    assert quality.judge(CASES, answers, "prediction") == []
    answers["high"]["probabilities"]["yes"] = 0.6  # type: ignore[index]
    answers["low again"]["prediction"] = "yes"
    assert quality.judge(CASES, answers, "prediction") == [
        ("high", "probabilities.yes is 0.6, expected within [0.8, 1.0]"),
        ("low again", "prediction is 'yes', but low answers 'no' (expected the same)"),
    ]


def test_an_expectations_file_that_says_nothing_is_refused(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    manifest = load_manifest(root)
    (root / "cases.yaml").write_text("cases:\n  - name: a\n    request: {x: 1}\n")
    with pytest.raises(WorkbenchError, match="says nothing to check"):
        quality.load_cases(manifest, "cases.yaml")
    (root / "cases.yaml").write_text("cases:\n  - name: a\n    request: {x: 1}\n    same_as: b\n")
    with pytest.raises(WorkbenchError, match="which is no case's name"):
        quality.load_cases(manifest, "cases.yaml")


def info(value: float, data: str = "sha256:a") -> QualityInfo:
    return QualityInfo(metric="accuracy", value=value, n=30, data="d.csv", data_sha256=data)


def test_a_drop_beyond_the_tolerance_is_a_regression_and_only_that(tmp_path: Path) -> None:
    root = evaluation_manifest(
        tmp_path,
        "evaluation:\n  data: data/holdout.csv\n  target: y\n  metric: accuracy\n"
        "  minimum: 0.5\n  tolerance: 0.02\n",
    )
    manifest = load_manifest(root)
    assert regression(manifest, info(0.95), info(0.94), "1.0.0") is None  # within 0.02
    assert regression(manifest, info(0.95), info(0.99), "1.0.0") is None  # better
    why = regression(manifest, info(0.95), info(0.90), "1.0.0")
    assert why is not None and "accuracy 0.9 against 0.95 for 1.0.0: lower by 0.05" in why
    # Scores on other held-out data compare the data as much as the models: never "within
    # the tolerance" (a new user's trial: a worse model scored better on easier rows, and
    # the gate passed it).
    for better in (0.99, 0.95, 0.90):
        why = regression(manifest, info(0.95), info(better, "sha256:b"), "1.0.0")
        assert why is not None and "1.0.0 was scored on other held-out data" in why, why
        assert "a regression cannot be ruled out" in why
    # A release recorded without the data's hash (none is known) is compared as before.
    assert regression(manifest, info(0.95, ""), info(0.99, "sha256:b"), "1.0.0") is None
    # Another metric is never "within the tolerance": nothing was compared (a release
    # scored 0.95 by accuracy, the next 0.40 by f1_macro, passed as no regression before).
    f1 = QualityInfo(metric="f1_macro", value=0.40, n=30, data="d.csv", data_sha256="sha256:a")
    why = regression(manifest, info(0.95), f1, "1.0.0")
    assert why is not None and "1.0.0 was measured by accuracy (0.95)" in why
    assert "f1_macro (0.4)" in why and "cannot be compared" in why


def test_a_waiver_counts_only_for_the_release_after_it() -> None:
    class Released:
        created = "2026-11-20T10:00:00Z"

    record = Released()
    assert waived_since(record, "2026-11-21T09:00:00Z")  # type: ignore[arg-type]
    assert not waived_since(record, "2026-11-19T09:00:00Z")  # type: ignore[arg-type]
    assert not waived_since(record, None)  # type: ignore[arg-type]
    assert ReleaseRecord.__struct_fields__.count("quality") == 1


def test_corner_cases_are_proposed_at_each_numeric_fields_extremes() -> None:
    from workbench.steps.schema.corners import corner_requests, propose_cases

    rows = [{"x": 1, "y": 5.5, "kind": "a"}, {"x": 9, "y": -2.0, "kind": "b"}]
    corners = corner_requests(["x", "y", "kind"], rows, rows[0])
    assert [(n, r["x"], r["y"]) for n, r in corners] == [
        ("x at its lowest in the sample", 1, 5.5),
        ("x at its highest in the sample", 9, 5.5),
        ("y at its lowest in the sample", 1, -2.0),
        ("y at its highest in the sample", 1, 5.5),
    ]
    answers = [
        {"prediction": "no"},
        {"prediction": "yes"},
        {"prediction": 10.0},
        {"__error__": "ValueError: y out of range"},
    ]
    cases = propose_cases(corners, answers)
    assert [c.get("expect") or c.get("within") for c in cases] == [
        {"prediction": "no"},
        {"prediction": "yes"},
        {"prediction": [9.5, 10.5]},
    ]  # a corner the model fails on is not proposed
    # A regression of counts answers integers: numbers, not classes (a new user's trial: an
    # exact 294 pinned, and the retrained model's 282 failed serve.expectations).
    counts = [{"prediction": 294}, {"prediction": 300}]
    assert propose_cases(corners[:2], counts)[0]["expect"] == {"prediction": 294}
    assert propose_cases(corners[:2], counts, numeric=True)[0]["within"] == {
        "prediction": [279.3, 308.7]
    }


def test_a_probability_metric_without_probabilities_says_so_not_install_scikit_learn(
    tmp_path: Path,
) -> None:
    root = evaluation_manifest(
        tmp_path,
        "evaluation:\n  data: data/holdout.csv\n  target: y\n  metric: roc_auc\n",
    )
    manifest = load_manifest(root)
    assert manifest.evaluation is not None
    with pytest.raises(WorkbenchError) as caught:
        quality.score(manifest, manifest.evaluation, ["a", "b"], [{"prediction": "a"}] * 2)
    assert "roc_auc (evaluation.metric) scores class probabilities" in str(caught.value)
    assert "a `probabilities` field" in str(caught.value)
    assert "install scikit-learn" not in str(caught.value.fix)
    assert "accuracy" in str(caught.value.fix)


def test_a_parity_failure_names_where_the_answers_differ() -> None:
    """The trial of a scorer whose `flag` read a threshold from the environment: the image
    and the model in-process differed in one field of a nested answer, and the evidence gave
    both answers cut at 120 characters, so a difference past the cut was not shown at all."""
    container = {"risk": 0.52, "detail": {"z": 0.1, "parts": [1.2, -0.6]}, "flag": True}
    local = {"risk": 0.52, "detail": {"z": 0.1, "parts": [1.2, -0.6]}, "flag": False}
    assert quality.difference(container, local) == "`flag`: the image true, in process false"
    deep = {**local, "flag": True, "detail": {"z": 0.1, "parts": [1.2, -0.7]}}
    assert quality.difference(container, deep) == (
        "`detail.parts[1]`: the image -0.6, in process -0.7"
    )
    assert quality.difference({"a": 1}, {"a": 1, "b": 2}) == (
        "`b`: the image (absent), in process 2"
    )
    assert quality.difference([1, 2], [1]) == "`(top)`: the image 2 items, in process 1 items"
    assert quality.difference(container, dict(container)) is None
    assert quality.difference({"p": 0.1 + 1e-9}, {"p": 0.1}) is None  # within the tolerance


def test_the_same_rows_saved_again_are_the_same_held_out_data(tmp_path: Path) -> None:
    """Held-out data re-exported (other quoting, CRLF, column and row order) is the same
    data: comparing the file's bytes asked for a waiver of tag.no-regression for it. Other
    rows are still other data."""
    root = evaluation_manifest(
        tmp_path, "evaluation:\n  data: data/holdout.csv\n  target: y\n  metric: accuracy\n"
    )
    (root / "schema").mkdir(exist_ok=True)
    (root / "schema" / "request.yaml").write_text(
        "type: object\nproperties:\n  x: {type: number}\n  city: {type: string}\n"
    )
    csv = root / "data" / "holdout.csv"
    manifest = load_manifest(root)
    assert manifest.evaluation is not None

    def measured(text: str, value: float) -> QualityInfo:
        csv.write_bytes(text.encode())
        held = quality.load_holdout(manifest, manifest.evaluation)  # type: ignore[arg-type]
        return QualityInfo(
            metric="accuracy", value=value, n=len(held.records), data="data/holdout.csv",
            data_sha256=held.sha256, data_rows_sha256=held.rows_sha256,
        )  # fmt: skip

    first = measured("x,city,y\n1.5,Köln,a\n2,Paris,b\n", 0.95)
    again = measured('"y","city","x"\r\n"b","Paris","2.0"\r\n"a","Köln","1.50"\r\n', 0.99)
    assert first.data_sha256 != again.data_sha256  # other bytes
    assert first.data_rows_sha256 == again.data_rows_sha256  # the same rows
    assert regression(manifest, first, again, "1.0.0") is None
    assert regression(manifest, first, msgspec.structs.replace(again, value=0.8), "1.0.0")

    other = measured("x,city,y\n1.5,Köln,a\n3,Paris,b\n", 0.99)
    why = regression(manifest, first, other, "1.0.0")
    assert why is not None and "1.0.0 was scored on other held-out data" in why, why
    assert f"rows {first.data_rows_sha256.removeprefix('sha256:')[:12]}" in why


def test_the_same_file_read_for_another_target_is_other_data(tmp_path: Path) -> None:
    """The file's hash alone called it the same data (a reviewer's read): another
    `evaluation.target` scores other true answers."""
    same_file = "sha256:" + "f" * 64
    before = QualityInfo(
        metric="accuracy", value=0.9, n=2, data="d.csv", data_sha256=same_file,
        data_rows_sha256="sha256:rows-for-target-y",
    )  # fmt: skip
    now = msgspec.structs.replace(before, value=0.95, data_rows_sha256="sha256:rows-for-z")
    root = evaluation_manifest(
        tmp_path, "evaluation:\n  data: data/holdout.csv\n  target: y\n  metric: accuracy\n"
    )
    why = regression(load_manifest(root), before, now, "1.0.0")
    assert why is not None and "other held-out data" in why, why


def test_drops_within_the_tolerance_do_not_add_up_unseen(example_project: Path) -> None:
    """0.958, then 0.942 (within 0.02), then 0.933: each step within the tolerance, 0.025 in
    all, and tag.no-regression passed every one (a new user's trial). A release is held to
    the best since the last release that accepted a drop (its waiver written after the
    release before it)."""
    from tests.helpers import hand_made_release
    from workbench.project.records import WaiverInfo
    from workbench.project.releases import load_release, save_release
    from workbench.steps.tag.regression import held_to

    manifest = load_manifest(example_project)
    assert manifest.evaluation is not None and manifest.evaluation.tolerance == 0.02

    def released(version: str, value: float, day: int, waived_at: str | None = None) -> None:
        hand_made_release(manifest, version, [])
        record = load_release(manifest, version)
        record.created = f"2026-11-{day:02d}T10:00:00Z"
        record.quality = QualityInfo(
            metric="accuracy", value=value, n=120, data="d.csv", data_sha256="sha256:d"
        )
        if waived_at:
            record.waivers = {
                "tag.no-regression": WaiverInfo(reason="worth it", by="Ana", at=waived_at)
            }
        save_release(manifest, record)

    released("1.0.0", 0.958, 10)
    released("1.0.1", 0.942, 11)
    held = held_to(manifest)
    assert held is not None and held[0] == "1.0.0" and held[1].value == 0.958
    candidate = QualityInfo(
        metric="accuracy", value=0.933, n=120, data="d.csv", data_sha256="sha256:d"
    )
    why = regression(manifest, held[1], candidate, held[0])
    assert why is not None and "0.933 against 0.958 for 1.0.0" in why, why
    assert regression(manifest, load_release(manifest, "1.0.1").quality, candidate, "1.0.1") is None

    # 1.0.2 accepted a drop (waived after 1.0.1 was made): what came before holds no more.
    released("1.0.2", 0.90, 12, waived_at="2026-11-11T12:00:00Z")
    held = held_to(manifest)
    assert held is not None and (held[0], held[1].value) == ("1.0.2", 0.90)
    # A waiver older than the release before it is a waiver for that one, not an acceptance.
    released("1.0.3", 0.91, 13, waived_at="2026-11-11T12:00:00Z")
    held = held_to(manifest)
    assert held is not None and (held[0], held[1].value) == ("1.0.3", 0.91)
    upto = held_to(manifest, upto=SemVer(1, 0, 2))  # what 1.0.2 itself was held to
    assert upto is not None and upto[0] == "1.0.0"
