"""Inferring the contract: the model's own knowledge first, then a data sample.

What the model knows (its feature names or count, its classes, whether it gives
probabilities) decides the fields and the response. A sample (example requests,
CSV, Parquet, JSONL) gives the types; its target column is left out; a missing
value is allowed only where the model answers it. Bounds are never taken as
hard limits from a handful of rows: below `MIN_ROWS_FOR_BOUNDS` rows numbers get
none (and `schema.bounded` says so); from that many, the range is widened by
half its span and recorded in `$comment` for a person to confirm. A response is
never bounded by a few answers: only by what the model knows (its classes,
probabilities between 0 and 1). A model trained on bare arrays gets an explicit
`x-feature-order`, so the order of fields in the file can never change which
value goes to which column.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import dump_yaml
from workbench.project.manifest import Manifest
from workbench.project.model_env import predict_in_model_env
from workbench.steps.schema import categories as cats
from workbench.steps.schema import corners
from workbench.steps.schema.contract import json_type
from workbench.steps.schema.sample import read_sample as read_sample  # re-exported

ENUM_LIMIT = 10
MIN_ROWS_FOR_ENUM = 20
MIN_ROWS_FOR_BOUNDS = 30
EXAMPLES_WRITTEN = 3
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# Flavors that answer {"prediction", "probabilities"} from what the model knows, and take
# bare arrays in x-feature-order when the model does not name its features.
ANSWERS_LIKE_SKLEARN = ("sklearn", "onnx", "torch")


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_date(value: str) -> bool:
    """An ISO calendar date (`2026-12-05`), as JSON Schema's `format: date` accepts it."""
    if not ISO_DATE.fullmatch(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _round(value: float, kind: str, *, down: bool) -> float | int:
    if kind == "integer":
        return int(math.floor(value) if down else math.ceil(value))
    return float(f"{value:.6g}")


def infer_value(values: list[Any], *, bounds: bool = True) -> dict[str, Any]:
    """One field's schema from its values. `bounds=False` (a response) gives types only."""
    kinds = {json_type(v) for v in values}
    present = [v for v in values if v is not None]
    rows = len(values)
    schema: dict[str, Any] = {}
    if {"integer", "number"} >= kinds - {"null"} and kinds - {"null"}:
        kind = "integer" if kinds - {"null"} == {"integer"} else "number"
        schema["type"] = kind
        low, high = min(present), max(present)
        if bounds and rows >= MIN_ROWS_FOR_BOUNDS:
            span = (high - low) or abs(high) or 1.0
            floor = low - span / 2
            clipped = low >= 0 > floor  # a quantity never seen negative stays non-negative
            schema["minimum"] = _round(0 if clipped else floor, kind, down=True)
            schema["maximum"] = _round(high + span / 2, kind, down=False)
            held = " (the minimum held at 0: never seen negative)" if clipped else ""
            schema["$comment"] = (
                f"sample of {rows} rows ranged {low} to {high}; the bounds are that range "
                f"widened by half its span{held}: confirm or correct them"
            )
        elif bounds:
            schema["$comment"] = (
                f"sample of {rows} rows ranged {low} to {high}: too few rows to set bounds"
            )
    elif kinds - {"null"} == {"boolean"}:
        schema["type"] = "boolean"
    elif kinds - {"null"} == {"string"}:
        schema["type"] = "string"
        distinct = sorted(set(present))
        repeated = all(present.count(v) >= 2 for v in distinct)
        if bounds and len(distinct) <= ENUM_LIMIT and rows >= MIN_ROWS_FOR_ENUM and repeated:
            schema["enum"] = distinct
        elif bounds:
            longest = max(len(v) for v in present)
            schema["maxLength"] = max(64, 4 * longest)
            schema["$comment"] = (
                f"sample of {rows} rows: the longest was {longest} characters; the limit is "
                "four times that (at least 64): confirm it against the longest real input"
            )
            if all(_is_date(v) for v in present):  # the image checks it: "not a date" is 422
                schema["format"] = "date"
    elif kinds - {"null"} == {"object"}:
        schema.update(infer_record(present, bounds=bounds))
    elif kinds - {"null"} == {"array"}:
        schema["type"] = "array"
        schema["items"] = infer_value([item for v in present for item in v], bounds=bounds)
    elif kinds - {"null"}:
        schema["type"] = sorted(k for k in kinds if k != "null")
    if "null" in kinds and "type" in schema:
        kinds_list = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*kinds_list, "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    schema["description"] = ""
    return schema


def infer_record(
    records: list[dict[str, Any]], *, title: str | None = None, bounds: bool = True
) -> dict[str, Any]:
    if not records or not all(isinstance(r, dict) for r in records):
        raise WorkbenchError(
            "the examples must be JSON objects (one record each).",
            fix="put one request object per example file.",
        )
    names: list[str] = []
    for record in records:
        names += [n for n in record if n not in names]
    properties = {
        name: infer_value([r.get(name) for r in records], bounds=bounds) for name in names
    }
    required = [n for n in names if all(r.get(n) is not None for r in records)]
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False}
    if title:
        schema = {"$schema": DRAFT, "title": title, **schema}
    if required:
        schema["required"] = required
    schema["properties"] = properties
    return schema


def write_schema(
    path: Path, schema: dict[str, Any], *, force: bool, comment: str, within: Path
) -> None:
    """Write an inferred schema into the project at `within`; a file that exists (maybe
    hand-edited) needs force."""
    if path.exists() and not force:
        raise WorkbenchError(
            f"{path} exists and may hold your edits; it was left as it is.",
            fix="pass --force to replace it with the inferred schema.",
        )
    write_text_atomic(path, f"# {comment}\n" + dump_yaml(schema), within=within, what="the schema")


# --- the whole contract, from the model and a sample ------------------------------------------


@dataclass
class Inferred:
    request: dict[str, Any]
    response: dict[str, Any]
    examples: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)  # proposed corner cases


def _columns(records: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for record in records:
        names += [str(n) for n in record if n not in names]
    return names


def _fields(
    columns: list[str], facts: dict[str, Any], target: str | None, notes: list[str]
) -> tuple[list[str], str | None]:
    """The request's fields (in the model's order when it knows it) and the target column."""
    known = facts.get("feature_names")
    count = facts.get("n_features_in")
    if target is not None and target not in columns:
        raise WorkbenchError(
            f"the sample has no column `{target}` (--target); its columns: {', '.join(columns)}.",
            fix="name one of those columns as the target.",
        )
    if known:
        missing = [f for f in known if f not in columns]
        if missing:
            raise WorkbenchError(
                "the sample lacks features the model was trained on: " + ", ".join(missing) + ".",
                fix="use a sample with every feature the model knows: " + ", ".join(known) + ".",
            )
        extra = [c for c in columns if c not in known and c != target]
        if target is None and len(extra) == 1:
            target = extra[0]
            notes.append(f"`{target}` is not one of the model's features: taken as the target")
        elif extra:
            notes.append("left out, the model does not know them: " + ", ".join(extra))
        return [str(f) for f in known], target
    fields = [c for c in columns if c != target]
    if count is not None and len(fields) != count:
        if target is None and len(fields) == count + 1:
            raise WorkbenchError(
                f"the model takes {count} features, the sample has {len(fields)} columns: one "
                "of them is probably the target, but the model (trained on bare arrays) "
                "cannot say which.",
                fix="name it with --target COLUMN.",
            )
        raise WorkbenchError(
            f"the model takes {count} features but the sample has {len(fields)} "
            f"({', '.join(fields)}).",
            fix="use a sample with exactly the model's features (and --target for the target).",
        )
    return fields, target


# (name, request) at each numeric field's extremes, and the model's answers there.
Corners = tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]


def _ask_model(
    manifest: Manifest, fields: list[str], rows: list[dict[str, Any]], order: list[str]
) -> tuple[dict[str, str], list[dict[str, Any]], list[dict[str, Any]], Corners]:
    """One run of the model's interpreter for two questions: for each field with missing
    values in the sample, why the model refuses a missing value there (absent when it
    answers it); its answers to a few complete rows, the example requests; and each
    numeric field's extremes with its answers there, the proposed corner cases."""
    candidates = [f for f in fields if any(r.get(f) is None for r in rows)]
    complete = [r for r in rows if all(r.get(f) is not None for f in fields)]
    examples = complete[:EXAMPLES_WRITTEN]
    if not examples:
        raise WorkbenchError(
            "the sample has no row without a missing value, so neither what the model does "
            "with a missing value nor its answers can be tried.",
            fix="use a sample with some complete rows.",
        )
    probes = [{**examples[0], name: None} for name in candidates]
    at_corners = corners.corner_requests(fields, rows, examples[0])
    answers = predict_in_model_env(
        manifest,
        probes + examples + [request for _, request in at_corners],
        tolerate=True,
        features=order,
    ).answers
    corner_answers = (at_corners, answers[len(probes) + len(examples) :])
    answers = answers[: len(probes) + len(examples)]
    refused = {
        name: str(answer["__error__"])
        for name, answer in zip(candidates, answers, strict=False)
        if "__error__" in answer
    }
    replies = answers[len(probes) :]
    failed = next((a["__error__"] for a in replies if "__error__" in a), None)
    if failed is not None:
        raise WorkbenchError(
            f"predicting failed in {manifest.interpreter()} on a complete sample row: {failed}.",
            fix="make the model answer the sample's rows in its own environment first.",
        )
    return refused, examples, replies, corner_answers


def _graph_datatypes(request: dict[str, Any], datatypes: dict[str, str], notes: list[str]) -> None:
    """Each field's tensor datatype as the graph declares it (`x-datatype`, for the Open
    Inference Protocol v2 routes): what an ONNX model takes, FP32 rather than FP64."""
    # "" stands for every column of a graph's one matrix input.
    found = {f: datatypes.get(f) or datatypes.get("") for f in request["properties"]}
    typed = {
        f: kind
        for f, kind in found.items()
        if kind and _fits(kind, request["properties"][f].get("type"))
    }
    for name, kind in typed.items():
        request["properties"][name]["x-datatype"] = kind
    if typed:
        kinds = sorted(set(typed.values()))
        notes.append(f"tensor datatypes from the graph: {', '.join(kinds)} (x-datatype)")


def _fits(datatype: str, kinds: Any) -> bool:
    """A tensor datatype that a field of these JSON types can carry (an FP32 graph input
    fed from an integer field keeps INT64 on the v2 routes: the contract says integer)."""
    allowed = {
        "number": ("FP", "INT", "UINT"),
        "integer": ("INT", "UINT"),
        "string": ("BYTES",),
        "boolean": ("BOOL",),
    }
    kinds = [k for k in (kinds if isinstance(kinds, list) else [kinds]) if k != "null"]
    return len(kinds) == 1 and datatype.startswith(allowed.get(str(kinds[0]), ("?",)))


def _answer_shape(predictions: list[Any]) -> dict[str, Any]:
    """A regressor's prediction as its answers show it: a number (never an integer a
    float answer would break, never bounded by a few answers), else their shape."""
    if all(isinstance(p, int | float) and not isinstance(p, bool) for p in predictions):
        return {"type": "number", "description": ""}
    return infer_value(predictions, bounds=False)


def _response(
    manifest: Manifest, facts: dict[str, Any], answers: list[dict[str, Any]]
) -> dict[str, Any]:
    """The response from what the model knows; types only from its answers otherwise."""
    title = f"{manifest.name} response"
    classes = facts.get("classes")
    if (
        manifest.model.flavor in ANSWERS_LIKE_SKLEARN
        and answers
        and set(answers[0])
        <= {
            "prediction",
            "probabilities",
        }
    ):
        properties: dict[str, Any] = {}
        if classes:
            kinds = {json_type(c) for c in classes}
            properties["prediction"] = {
                "type": kinds.pop() if len(kinds) == 1 else sorted(kinds),
                "enum": list(classes),
                "description": "",
            }
        else:  # a regressor: the shape of its real answers (a number, or a list of them)
            properties["prediction"] = _answer_shape([a.get("prediction") for a in answers])
        if facts.get("has_proba") and classes:
            properties["probabilities"] = {
                "type": "object",
                "additionalProperties": False,
                "required": [str(c) for c in classes],
                "properties": {
                    str(c): {"type": "number", "minimum": 0, "maximum": 1, "description": ""}
                    for c in classes
                },
                "description": "",
            }
        return {
            "$schema": DRAFT,
            "title": title,
            "type": "object",
            "additionalProperties": False,
            "required": list(properties),
            "properties": properties,
        }
    return infer_record(answers, title=title, bounds=False)


def infer_contract(
    manifest: Manifest,
    records: list[dict[str, Any]],
    *,
    target: str | None = None,
    reread: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> Inferred:
    """The request and response schemas of this model, from itself and a sample (`reread`:
    the sample read again with some columns declared, see `reread_as_text`)."""
    if not records:
        raise WorkbenchError(
            "there is nothing to infer the contract from: no sample and no example requests.",
            fix="pass a data sample with --from (CSV, Parquet, JSONL), or add example "
            f"requests to {manifest.schema.examples}.",
        )
    notes: list[str] = []
    facts = predict_in_model_env(manifest, []).facts
    fields, target = _fields(_columns(records), facts, target, notes)
    records = cats.reread_as_text(records, fields, facts, reread)
    # Categorical features typed as the model takes them (CatBoost's text, a CSV's "645"
    # kept "645"; LightGBM's and XGBoost's categories as they were in training).
    rows = cats.model_typed_rows(
        [{f: r.get(f) for f in fields} for r in records], fields, facts, notes
    )
    rows = cats.known_rows(rows, facts, notes)
    # Bare arrays: an sklearn model that does not know its feature names. A predictor class
    # gets records by field name, so the order cannot matter there.
    arrays = manifest.model.flavor in ANSWERS_LIKE_SKLEARN and not facts.get("feature_names")
    order = fields if arrays else []
    refused, examples, answers, corner_answers = _ask_model(manifest, fields, rows, order or fields)
    request = infer_record(rows, title=f"{manifest.name} request")
    cats.categories_as_enums(request, facts, notes)
    cats.encoder_enums(request, facts, notes)
    for name, why in refused.items():
        schema = request["properties"][name]
        kinds = schema.get("type")
        if isinstance(kinds, list) and "null" in kinds:
            rest = [k for k in kinds if k != "null"]
            schema["type"] = rest[0] if len(rest) == 1 else rest
            if "enum" in schema:
                schema["enum"] = [v for v in schema["enum"] if v is not None]
        notes.append(f"`{name}` is required: the model fails on a missing value ({why[:120]})")
    request["required"] = [
        f for f in fields if f in refused or all(r.get(f) is not None for r in rows)
    ]
    if order:
        request["x-feature-order"] = order
        notes.append(
            "the model was trained on bare arrays: x-feature-order says which field is which "
            "column, whatever the order of the properties"
        )
    _graph_datatypes(request, facts.get("datatypes") or {}, notes)
    response = _response(manifest, facts, answers)
    if target is not None:
        notes.append(f"`{target}` left out of the request: it is the target")
    notes.append(f"{len(rows)} sample rows, {len(fields)} fields")
    # A regression's integer answers (counts) are numbers, not classes: no classes known,
    # and a regression metric declared (else an integer class of 20 would get a range).
    metric = manifest.evaluation.metric if manifest.evaluation else None
    numeric = not facts.get("classes") and metric in corners.REGRESSION_METRICS
    cases = corners.propose_cases(corner_answers[0], corner_answers[1], numeric)
    return Inferred(request, response, examples, notes, cases)
