"""Is the model any good? Held-out data scored through the running container (the bytes
that ship), with scikit-learn's metric, and corner cases with their expected answers.

`serve.quality`: the metric of `evaluation:` in workbench.yaml against its bound, on every
held-out record answered by the image, with parity against the model in its own
environment on a sample. `serve.expectations`: each case of the expectations file (an
exact answer, a range, or "the same answer as" another case) asked of the image.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from workbench.checklist.checks import CheckResult
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import file_digest, rows_digest
from workbench.kernel.paths import asset
from workbench.kernel.yamlio import load_yaml, to_plain
from workbench.project.answers_cache import answers_key, cached_payload, keep_payload
from workbench.project.manifest import EvaluationSpec, Manifest
from workbench.project.model_env import predict_in_model_env, run_json_script
from workbench.steps.schema.contract import request_schema, response_schema
from workbench.steps.schema.sample import read_sample
from workbench.steps.serve.batches import ask_container
from workbench.steps.serve.report import ExpectationsMissed, QualityFigures

MAX_RECORDS = 20_000
PARITY_SAMPLE = 100
TOLERANCE = 1e-6  # answers compared to this (golden parity, expectations)
# Run by path in the model's interpreter: kept out of our packages, whose module names
# (secrets.py beside this file) would shadow the standard library's there.
SCRIPT = asset("scripts", "score.py")
# The metrics scored on each answer's class probabilities, not its prediction.
PROBABILITY_METRICS = ("roc_auc", "log_loss")


@dataclass
class Holdout:
    records: list[dict[str, Any]]
    truths: list[Any]
    sha256: str  # of the file
    dropped: list[str]  # columns that are not request fields (ids and the like)
    rows_sha256: str = ""  # of the records and true answers read, in any order


def _with_target(manifest: Manifest, schema: dict[str, Any]) -> dict[str, Any]:
    """The request schema to read held-out data by, with the target column declared as
    the response declares `evaluation.output` (when the request has no field of that name
    and the response schema says it)."""
    evaluation = manifest.evaluation
    properties = schema.get("properties")
    if evaluation is None or not isinstance(properties, dict) or evaluation.target in properties:
        return schema
    try:
        spec = (response_schema(manifest).get("properties") or {}).get(evaluation.output)
    except (WorkbenchError, AttributeError):  # no response schema yet, or no mapping
        return schema
    return {**schema, "properties": {**properties, evaluation.target: spec}} if spec else schema


def load_holdout(manifest: Manifest, evaluation: EvaluationSpec) -> Holdout:
    path = manifest.resolve(evaluation.data)
    schema = request_schema(manifest)
    # Typed by the request schema, column by column: an SMS text "645" is sent as the
    # string it is, not as the integer it looks like; the target as the response schema
    # says the prediction is (classes "01", "02" stay text, not the integers 1, 2).
    rows = read_sample(
        path, limit=MAX_RECORDS, schema=_with_target(manifest, schema), within=manifest.root
    )
    if not rows:
        raise WorkbenchError(
            f"{evaluation.data} holds no records.", fix="save held-out records there."
        )
    if evaluation.target not in rows[0]:
        raise WorkbenchError(
            f"{evaluation.data} has no column `{evaluation.target}` (evaluation.target); its "
            f"columns: {', '.join(map(str, rows[0]))}.",
            fix="name the column that holds the true answer in evaluation.target.",
        )
    fields = set((schema.get("properties") or {}).keys())
    columns = [c for c in rows[0] if c != evaluation.target]
    dropped = [c for c in columns if fields and c not in fields]
    keep = [c for c in columns if c not in dropped]
    records = [{c: row.get(c) for c in keep} for row in rows]
    truths = [row.get(evaluation.target) for row in rows]
    rows_sha256 = rows_digest([[r, t] for r, t in zip(records, truths, strict=True)])
    return Holdout(records, truths, file_digest(path), dropped, rows_sha256)


def _like(truth: Any, example: Any) -> Any:
    """The true answer in the type of the model's answers (a CSV gives 1 or 1.0 or "1")."""
    if isinstance(truth, float) and truth.is_integer() and not isinstance(example, float):
        truth = int(truth)
    if isinstance(example, str) and not isinstance(truth, str):
        return str(truth)
    if isinstance(example, bool) and isinstance(truth, str):
        return truth.strip().lower() == "true"
    return truth


def score(
    manifest: Manifest, evaluation: EvaluationSpec, truths: list[Any], answers: list[dict[str, Any]]
) -> dict[str, Any]:
    output = evaluation.output
    missing = [i for i, a in enumerate(answers) if output not in a]
    if missing:
        raise WorkbenchError(
            f"the answers have no field `{output}` (evaluation.output), e.g. record {missing[0]}: "
            f"{json.dumps(answers[missing[0]])[:200]}",
            fix="name the answer's field that holds the prediction in evaluation.output.",
        )
    predictions = [a[output] for a in answers]
    y_true = [_like(t, predictions[0]) for t in truths]
    labels = proba = None
    probabilities = answers[0].get("probabilities")
    if evaluation.metric in PROBABILITY_METRICS and not isinstance(probabilities, dict):
        raise WorkbenchError(
            f"{evaluation.metric} (evaluation.metric) scores class probabilities, and the "
            f"answers have none: record 0 answered {json.dumps(answers[0])[:200]}; it needs "
            'a `probabilities` field, {"<class>": <probability>, ...}, in every answer.',
            fix="return the probabilities from predict() (a scikit-learn classifier with "
            "predict_proba gives them), or choose a metric of the prediction alone "
            "(accuracy, balanced_accuracy, f1_macro).",
        )
    if isinstance(probabilities, dict):
        labels = list(probabilities)
        proba = [[a["probabilities"][k] for k in labels] for a in answers]
        if evaluation.metric in ("roc_auc", "log_loss"):
            y_true = [str(t) for t in y_true]
    asked: dict[str, Any] = {"metric": evaluation.metric, "y_true": y_true, "y_pred": predictions}
    asked |= {"labels": labels, "proba": proba}
    key = answers_key(manifest, asked, script=SCRIPT)
    payload = cached_payload(manifest, key)  # the candidate's answers scored at serve --test
    if payload is None:
        payload = run_json_script(
            manifest.interpreter(), SCRIPT, json.dumps(asked), timeout=300, cwd=manifest.root
        )
        if answers_key(manifest, asked, script=SCRIPT) == key:  # the environment stayed
            keep_payload(manifest, key, payload)
    if "error" in payload:
        unscorable = "not importable" not in str(payload["error"])
        raise WorkbenchError(
            f"scoring {evaluation.metric} in {manifest.interpreter()} failed: {payload['error']}",
            fix=f"make the answers' `{evaluation.output}` (evaluation.output) of the kind the "
            "truth column holds (README, Quality: the answer each metric needs)."
            if unscorable
            else "the metric is scikit-learn's: install scikit-learn in the model's environment.",
        )
    return payload


def meets(evaluation: EvaluationSpec, value: float) -> bool | None:
    bound = evaluation.bound
    if bound is None:
        return None
    return value <= bound if evaluation.lower_is_better else value >= bound


def _describe(result: dict[str, Any]) -> list[str]:
    if "confusion" in result:
        labels = result["confusion"]["labels"]
        rows = [
            f"{label}: " + " ".join(str(n) for n in row)
            for label, row in zip(labels, result["confusion"]["matrix"], strict=True)
        ][:12]
        return [
            f"confusion matrix (rows true, columns predicted; {' '.join(labels)}): "
            + "; ".join(rows)
        ]
    r = result.get("residuals") or {}
    return [
        f"residuals: mean |error| {r.get('mean_abs', 0):.4g}, 95th percentile "
        f"{r.get('p95_abs', 0):.4g}, max {r.get('max_abs', 0):.4g}, mean signed "
        f"{r.get('mean_signed', 0):+.4g}"
    ]


def _parity(
    manifest: Manifest, records: list[dict[str, Any]], answers: list[dict[str, Any]], output: str
) -> str:
    sample = records[:PARITY_SAMPLE]
    local = predict_in_model_env(manifest, sample).answers
    differ = [
        i
        for i, (a, b) in enumerate(zip(local, answers[: len(sample)], strict=True))
        if not close(a.get(output), b.get(output))
    ]
    if differ:
        raise WorkbenchError(
            f"the image and the model in its own environment disagree on {len(differ)} of "
            f"{len(sample)} held-out records (first: record {differ[0]}: in process "
            f"{local[differ[0]].get(output)!r}, image {answers[differ[0]].get(output)!r}).",
            fix="rebuild from the current snapshot; the image must be the model you evaluated.",
        )
    n = len(sample)
    return f"parity: the image and the model in its own environment agree on {n} of {n}"


def close(a: Any, b: Any, tolerance: float = TOLERANCE) -> bool:
    """Two answers equal, numbers to `tolerance` (inside objects and arrays too)."""
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=tolerance, abs_tol=tolerance)
        except (TypeError, ValueError):
            return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, tolerance) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def difference(image: Any, local: Any, path: str = "") -> str | None:
    """Where two answers first differ (beyond `close`), said as `path`: both values; None
    when they agree. Evidence names the field, whatever its depth in a long answer."""
    where = f"`{path or '(top)'}`"
    if isinstance(image, dict) and isinstance(local, dict):
        for key in [*image, *(k for k in local if k not in image)]:
            at = f"{path}.{key}" if path else str(key)
            if key not in image or key not in local:
                said = [json.dumps(d[key]) if key in d else "(absent)" for d in (image, local)]
                return f"`{at}`: the image {said[0]}, in process {said[1]}"
            if found := difference(image[key], local[key], at):
                return found
        return None
    if isinstance(image, list) and isinstance(local, list):
        if len(image) != len(local):
            return f"{where}: the image {len(image)} items, in process {len(local)} items"
        pairs = enumerate(zip(image, local, strict=True))
        return next((f for i, (a, b) in pairs if (f := difference(a, b, f"{path}[{i}]"))), None)
    if close(image, local):
        return None
    return f"{where}: the image {json.dumps(image)}, in process {json.dumps(local)}"


def quality(manifest: Manifest, url: str, log: Any) -> CheckResult:
    evaluation = manifest.evaluation
    if evaluation is None:
        return CheckResult.warned(
            "no `evaluation:` block in workbench.yaml: the answers are checked against the "
            "contract, not for quality",
            "add held-out data, its target, a metric and a bound (see the README)",
        )
    try:
        holdout = load_holdout(manifest, evaluation)
        log(f"scoring {len(holdout.records)} held-out records through the image")
        answers = ask_container(url, holdout.records, manifest.serve.max_body_bytes)
        result = score(manifest, evaluation, holdout.truths, answers)
        parity = _parity(manifest, holdout.records, answers, evaluation.output)
    except WorkbenchError as exc:
        return CheckResult.failed(exc.paragraph)
    value = float(result["value"])
    verdict = meets(evaluation, value)
    bound = evaluation.bound
    sign = "<=" if evaluation.lower_is_better else ">="
    head = (
        f"{evaluation.metric} {value:.4g} on {result['n']} held-out records of "
        f"{evaluation.data} ({holdout.sha256[:19]}), answered by the image; "
        + (
            f"bound {sign} {bound:g}: {'met' if verdict else 'NOT met'}"
            if bound is not None
            else "no bound set"
        )
    )
    evidence = [head, *_describe(result), parity]
    if holdout.dropped:
        evidence.append("columns left out (not request fields): " + ", ".join(holdout.dropped))
    report = QualityFigures(
        metric=evaluation.metric,
        value=value,
        n=int(result["n"]),
        data=evaluation.data,
        data_sha256=holdout.sha256,
        data_rows_sha256=holdout.rows_sha256,
        bound=bound,
    )
    if verdict is None:
        return CheckResult.warned(
            *evidence, "set evaluation.minimum (or maximum for errors)", report=report
        )
    return (CheckResult.passed if verdict else CheckResult.failed)(*evidence, report=report)


# --- corner cases ---------------------------------------------------------------------------


def _at(answer: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(answer, dict) or part not in answer:
            raise KeyError(path)
        answer = answer[part]
    return answer


def load_cases(manifest: Manifest, relative: str) -> list[dict[str, Any]]:
    path = manifest.resolve(relative)
    data = to_plain(load_yaml(path, what="expectations file"))
    cases = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(cases, list) or not cases:
        raise WorkbenchError(
            f"{relative}: expected `cases:`, a list of {{name, request, and expect, within or "
            "same_as}}.",
            fix="see the README's expectations example.",
        )
    names = set()
    for index, case in enumerate(cases):
        where = f"{relative}: case {index + 1}"
        if not isinstance(case, dict) or not isinstance(case.get("name"), str):
            raise WorkbenchError(f"{where} has no `name`.", fix="give every case a name.")
        if not isinstance(case.get("request"), dict):
            raise WorkbenchError(f"{where} ({case['name']}) has no `request` mapping.")
        if not {"expect", "within", "same_as"} & set(case):
            raise WorkbenchError(
                f"{where} ({case['name']}) says nothing to check.",
                fix="add `expect` (fields and values), `within` (field: [low, high]) or "
                "`same_as` (another case's name).",
            )
        names.add(case["name"])
    for case in cases:
        if "same_as" in case and case["same_as"] not in names:
            raise WorkbenchError(
                f"{relative}: case {case['name']} is the same as `{case['same_as']}`, which is "
                "no case's name."
            )
    return cases


def judge(
    cases: list[dict[str, Any]], answers: dict[str, Any], output: str
) -> list[tuple[str, str]]:
    """(case, what went wrong) for each failure: what was expected and what came."""
    failures: list[tuple[str, str]] = []
    for case in cases:
        name, got = case["name"], answers[case["name"]]
        for path, expected in (case.get("expect") or {}).items():
            try:
                value = _at(got, path)
            except KeyError:
                failures.append((name, f"the answer has no `{path}` ({json.dumps(got)[:120]})"))
                continue
            if not close(value, expected):
                failures.append((name, f"{path} is {value!r}, expected {expected!r}"))
        for path, bounds in (case.get("within") or {}).items():
            low, high = [*list(bounds), None, None][:2]
            try:
                value = _at(got, path)
            except KeyError:
                failures.append((name, f"the answer has no `{path}`"))
                continue
            if (low is not None and value < low) or (high is not None and value > high):
                failures.append((name, f"{path} is {value!r}, expected within [{low}, {high}]"))
        if "same_as" in case:
            other = answers[case["same_as"]]
            if not close(got.get(output), other.get(output)):
                failures.append(
                    (
                        name,
                        f"{output} is {got.get(output)!r}, but {case['same_as']} answers "
                        f"{other.get(output)!r} (expected the same)",
                    )
                )
    return failures


def expectations(manifest: Manifest, url: str, log: Any) -> CheckResult:
    evaluation = manifest.evaluation
    if evaluation is None or not evaluation.expectations:
        return CheckResult.skipped(
            "no expectations file (evaluation.expectations in workbench.yaml): add corner "
            "cases with their expected answers (see the README)"
        )
    try:
        cases = load_cases(manifest, evaluation.expectations)
        log(f"asking the image {len(cases)} corner cases")
        answers_list = ask_container(
            url, [c["request"] for c in cases], manifest.serve.max_body_bytes
        )
    except WorkbenchError as exc:
        return CheckResult.failed(exc.paragraph)
    answers = {c["name"]: a for c, a in zip(cases, answers_list, strict=True)}
    failures = judge(cases, answers, evaluation.output)
    failing = {name for name, _ in failures}
    where = (
        f"{evaluation.expectations}: {len(cases) - len(failing)} of {len(cases)} cases as expected"
    )
    if failures:
        named = [f"{name}: {what}" for name, what in failures[:20]]
        return CheckResult.failed(where, *named, report=ExpectationsMissed(failed=sorted(failing)))
    return CheckResult.passed(where, "cases: " + ", ".join(c["name"] for c in cases))
