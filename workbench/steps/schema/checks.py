"""Step 2 checks: the request/response contract."""

from __future__ import annotations

import re
from typing import Any

from workbench.checklist.checks import CheckContext, CheckResult, CheckSet
from workbench.project.model_env import load_examples
from workbench.project.releases import baseline_version, file_at_release, last_version, tag_name
from workbench.steps.schema.contract import (
    CHECKED_FORMATS,
    request_schema,
    response_schema,
    schema_problems,
    validation_errors,
    walk_fields,
    walk_objects,
)
from workbench.steps.schema.diff import required_bump, schema_changes
from workbench.steps.shared import (
    examples_and_schema_inputs,
    model_answers,
    model_inputs,
    schema_inputs,
)

checks = CheckSet()


def _schemas(ctx: CheckContext) -> dict[str, dict[str, Any]]:
    m = ctx.manifest
    return {
        m.schema.request: request_schema(m),
        m.schema.response: response_schema(m),
    }


@checks.auto("schema.valid", inputs=schema_inputs)
def valid(ctx: CheckContext) -> CheckResult:
    problems = [f"{name}: {p}" for name, s in _schemas(ctx).items() for p in schema_problems(s)]
    if problems:
        return CheckResult.failed(*problems)
    return CheckResult.passed("both schemas are valid draft 2020-12 object records")


@checks.auto("schema.closed", inputs=schema_inputs)
def closed(ctx: CheckContext) -> CheckResult:
    m = ctx.manifest
    request = request_schema(m)
    open_objects = list(
        dict.fromkeys(
            path
            for path, obj in walk_objects(request)
            if obj.get("additionalProperties") is not False
        )
    )
    if open_objects:
        return CheckResult.failed(*(f"{path} accepts unknown fields" for path in open_objects))
    return CheckResult.passed("every request object sets additionalProperties: false")


@checks.auto("schema.bounded", inputs=schema_inputs)
def bounded(ctx: CheckContext) -> CheckResult:
    m = ctx.manifest
    request = request_schema(m)
    loose = []
    for name, sub in walk_fields(request, values=True):
        kinds = sub.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        # A number limited to a list (a model's integer categories) is bounded by it.
        if {"number", "integer"} & set(kinds) and not (
            (
                {"minimum", "exclusiveMinimum"} & set(sub)
                and {"maximum", "exclusiveMaximum"} & set(sub)
            )
            or {"enum", "const"} & set(sub)
        ):
            loose.append(f"{name}: a number without minimum and maximum")
        checked = sub.get("format") in CHECKED_FORMATS  # another format: any string passes
        if (
            "string" in kinds
            and not checked
            and not {"enum", "const", "pattern", "maxLength"} & set(sub)
        ):
            unchecked = (
                f" (its format {sub['format']} is not checked by the image, which checks "
                f"{', '.join(CHECKED_FORMATS)}: any string is taken)"
                if "format" in sub
                else ""
            )
            loose.append(f"{name}: a string without enum, pattern or maxLength{unchecked}")
    if loose:
        return CheckResult.warned(*dict.fromkeys(loose))
    return CheckResult.passed("every number is bounded and every string constrained")


@checks.auto("schema.described", inputs=schema_inputs)
def described(ctx: CheckContext) -> CheckResult:
    missing = [
        f"{file}: {name}"
        for file, s in _schemas(ctx).items()
        for name, sub in walk_fields(s)
        if not str(sub.get("description", "")).strip()
    ]
    if missing:
        return CheckResult.warned(*(f"no description: {m}" for m in missing))
    return CheckResult.passed("every field has a description")


@checks.auto("schema.examples-valid", inputs=examples_and_schema_inputs)
def examples_valid(ctx: CheckContext) -> CheckResult:
    m = ctx.manifest
    request = request_schema(m)
    if schema_problems(request):
        return CheckResult.failed("the request schema is not valid; see schema.valid")
    examples = load_examples(m)
    if not examples:
        return CheckResult.failed(f"no example requests in {m.schema.examples}")
    errors = [
        f"{name} {path}: {message}"
        for name, record in examples
        for path, message in validation_errors(request, record)
    ]
    if errors:
        return CheckResult.failed(*errors)
    return CheckResult.passed(
        f"{len(examples)} examples valid: " + ", ".join(name for name, _ in examples)
    )


def _responses_inputs(ctx: CheckContext) -> dict[str, str]:
    return {**model_inputs(ctx), **schema_inputs(ctx)}


@checks.auto("schema.responses-valid", inputs=_responses_inputs)
def responses_valid(ctx: CheckContext) -> CheckResult:
    m = ctx.manifest
    response = response_schema(m)
    if schema_problems(response):
        return CheckResult.failed("the response schema is not valid; see schema.valid")
    if not load_examples(m):
        return CheckResult.failed(
            f"no example requests in {m.schema.examples}, so no answer could be checked"
        )
    names, answers = model_answers(ctx)
    errors = [
        f"answer to {name} {path}: {message}"
        for name, answer in zip(names, answers.answers, strict=True)
        for path, message in validation_errors(response, answer)
    ]
    if errors:
        return CheckResult.failed(*errors)
    return CheckResult.passed(f"the model's answers to {len(names)} examples are valid")


@checks.auto("schema.feature-names", inputs=_responses_inputs)
def feature_names(ctx: CheckContext) -> CheckResult:
    """Which field goes to which input of the model: by name when the model knows its
    features, else by the explicit x-feature-order; never by the order of the file."""
    _, answers = model_answers(ctx)
    known = answers.feature_names
    request = request_schema(ctx.manifest)
    fields = list(request.get("properties") or {})
    if not known and ctx.manifest.model.flavor not in ("sklearn", "onnx", "torch"):
        if "fields_read" not in answers.facts:
            return CheckResult.skipped("what the predictor read was not noted in this run")
        return _fields_read(request, fields, answers.facts["fields_read"], len(answers.answers))
    if not known:
        return _array_order(request, fields, answers.facts.get("n_features_in"))
    missing = [f for f in known if f not in fields]
    extra = [f for f in fields if f not in known]
    if missing or extra:
        return CheckResult.failed(
            *(
                [f"the model needs fields the schema lacks: {', '.join(missing)}"]
                if missing
                else []
            ),
            *([f"the schema has fields the model never sees: {', '.join(extra)}"] if extra else []),
        )
    return CheckResult.passed(
        f"the schema's {len(fields)} fields are the model's features: " + ", ".join(known)
    )


def _fields_read(
    request: dict[str, Any], fields: list[str], noted: Any, examples: int
) -> CheckResult:
    """A predictor class gets each record as a mapping, by field name (the order of fields
    cannot change its answers); what it read of the examples' records is what it uses.
    Failed only for a rename: a name asked for that a closed request cannot carry while a
    declared field went unread (a derived key it wrote, a probe with `in`, an optional
    switch asked beside every declared field: a warning at most)."""
    if noted is None:
        return CheckResult.skipped(
            f"the predictor read each of the {examples} example records whole (iterated, "
            "copied or made into a frame): which fields it uses cannot be told from here"
        )
    read, asked = list(noted.get("read") or []), list(noted.get("asked") or [])
    patterns = [str(p) for p in (request.get("patternProperties") or {})]
    unread = [f for f in fields if f not in read]
    unknown = [r for r in asked if r not in fields and not _matches(r, patterns)]
    closed = False in (request.get("additionalProperties"), request.get("unevaluatedProperties"))
    if unknown:  # asked for by a name no request carries: None (or a KeyError) every time
        renamed = f" (it never read {', '.join(unread)}: renamed?)" if unread else ""
        fix = "name the field in the predictor as the request schema does, or add it to it"
        said = (
            f"the predictor asks for {', '.join(unknown)}, which the request schema does not "
            + ("have: no request carries it" if closed else "declare")
        )
        if closed and unread:
            return CheckResult.failed(f"{said}, so the model gets nothing there{renamed}", fix)
        return CheckResult.warned(said + renamed, fix)
    if unread:
        them, seen = ("it" if len(unread) == 1 else "them"), ", ".join(read) or "no field"
        return CheckResult.warned(
            f"the predictor never read {', '.join(unread)} while answering the {examples} "
            f"examples (it read {seen}): callers send {them} for nothing, or the model "
            f"forgot {them}",
            "remove the field from the request schema, use it in the predictor, or add an "
            "example taking the code path that reads it",
        )
    return CheckResult.passed(
        f"the predictor read each of the schema's {len(fields)} fields by name while "
        f"answering the {examples} examples"
    )


def _matches(name: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        try:
            if re.search(pattern, name):
                return True
        except re.error:
            return True  # a pattern Python cannot read: the name may be the schema's
    return False


def _baseline(ctx: CheckContext) -> str | None:
    """The release the contract is compared with: the latest, unless it released exactly
    these schemas (then the one before it, so releasing changes nothing here)."""
    current = schema_inputs(ctx)
    return baseline_version(
        ctx.manifest,
        lambda r: (
            (r.hashes.request_schema, r.hashes.response_schema)
            == (current["request"], current["response"])
        ),
    )


def _array_order(request: dict[str, Any], fields: list[str], count: int | None) -> CheckResult:
    order = request.get("x-feature-order")
    if not isinstance(order, list):
        return CheckResult.failed(
            "the model was trained on bare arrays (it does not know its feature names), and "
            "the request schema does not say which field is which column: reordering or "
            "renaming fields in the file would silently change every prediction",
            "add x-feature-order: [the fields in training order] (schema infer writes it)",
        )
    problems = []
    if sorted(map(str, order)) != sorted(fields):
        missing = [f for f in fields if f not in order]
        unknown = [f for f in order if f not in fields]
        problems += [f"fields not in x-feature-order: {', '.join(missing)}"] if missing else []
        problems += (
            [f"x-feature-order names no such field: {', '.join(unknown)}"] if unknown else []
        )
    if count is not None and len(order) != count:
        problems.append(f"x-feature-order has {len(order)} fields, the model takes {count}")
    if problems:
        return CheckResult.failed(*problems)
    return CheckResult.passed(
        f"the model takes {len(order)} columns in x-feature-order: {', '.join(map(str, order))}",
        "the order of the properties in the file does not matter; a change of x-feature-order "
        "is a breaking change in the schema diff",
    )


def _change_inputs(ctx: CheckContext) -> dict[str, str]:
    return {**schema_inputs(ctx), "baseline": _baseline(ctx) or "none"}


@checks.auto("schema.change-classified", inputs=_change_inputs)
def change_classified(ctx: CheckContext) -> CheckResult:
    latest = last_version(ctx.manifest)
    baseline = _baseline(ctx)
    released = (
        f"this contract is the one released as {latest}; "
        if latest is not None and baseline != latest
        else ""
    )
    if baseline is None:
        return CheckResult.passed(
            released + "no release before it: the first release sets the contract"
        )
    m = ctx.manifest
    unread = [
        relative
        for relative in (m.schema.request, m.schema.response)
        if file_at_release(m, baseline, relative) is None
    ]
    if unread:
        # Without the released contract there is nothing to compare with: never "no change".
        return CheckResult.failed(
            f"release {baseline}'s {' and '.join(unread)} cannot be read at its tag "
            f"{tag_name(m, baseline)}, so the change since it cannot be classified",
            "restore the tag (`git fetch --tags`), or keep the schema files at the paths "
            "they had in that release",
        )
    changes = schema_changes(m, baseline)
    if not changes:
        return CheckResult.passed(
            released + f"no contract change since {baseline} (a patch release)"
        )
    return CheckResult.passed(
        released
        + f"{len(changes)} changes since {baseline}: a {required_bump(changes)} bump is needed",
        *(f"{c.kind}: {c.where} {c.path}: {c.what}" for c in changes[:20]),
    )
