"""Generated payloads: the invalid ones really break the schema, the valid ones pass."""

from __future__ import annotations

import math

import pytest

from workbench.steps.schema.contract import validation_errors
from workbench.steps.schema.payloads import (
    boundary_payloads,
    invalid_payloads,
    labelled_valid_payloads,
    valid_payloads,
)

SCHEMAS = {
    "iris": {
        "type": "object",
        "additionalProperties": False,
        "required": ["sepal_length", "petal_width"],
        "properties": {
            "sepal_length": {"type": "number", "minimum": 0, "maximum": 20},
            "petal_width": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 5},
        },
    },
    "mixed": {
        "type": "object",
        "additionalProperties": False,
        "required": ["plan", "age", "active"],
        "properties": {
            "plan": {"type": "string", "enum": ["free", "pro"]},
            "age": {"type": "integer", "minimum": 18, "maximum": 120},
            "active": {"type": "boolean"},
            "note": {"type": ["string", "null"], "maxLength": 20},
        },
    },
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_valid_payloads_pass_and_are_deterministic(name: str) -> None:
    schema = SCHEMAS[name]
    payloads = valid_payloads(schema, 50, seed=7)
    assert all(validation_errors(schema, p) == [] for p in payloads)
    assert payloads == valid_payloads(schema, 50, seed=7)
    assert payloads != valid_payloads(schema, 50, seed=8)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_invalid_payload_really_breaks_the_schema(name: str) -> None:
    schema = SCHEMAS[name]
    cases = invalid_payloads(schema, seed=3)
    for what, payload in cases:
        assert validation_errors(schema, payload), what
    kinds = " / ".join(what for what, _ in cases)
    assert "missing" in kinds and "wrong type" in kinds and "unknown field" in kinds
    if name == "mixed":
        assert "plan not one of its values" in kinds
        assert "age below its minimum" in kinds and "age above its maximum" in kinds
        assert "note longer than its maxLength" in kinds


RICH = {
    "type": "object",
    "additionalProperties": False,
    "required": ["code", "when", "qty", "ref", "address", "tags"],
    "$defs": {"money": {"type": "number", "minimum": 0, "multipleOf": 0.01}},
    "properties": {
        "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"},
        "when": {"type": "string", "format": "date"},
        "qty": {"type": "integer", "multipleOf": 5, "minimum": 0, "maximum": 100},
        "ref": {"$ref": "#/$defs/money"},
        "either": {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "integer"}]},
        "one": {"oneOf": [{"type": "boolean"}, {"type": "null"}]},
        "address": {
            "type": "object",
            "additionalProperties": False,
            "required": ["zip"],
            "properties": {
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
                "kind": {"enum": ["home", "work"]},
            },
        },
        "tags": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": {"type": "string", "enum": ["a", "b", "c"]},
        },
        "note": {"type": ["string", "null"], "maxLength": 10},
    },
}


def test_generated_payloads_honour_every_keyword_the_old_generator_ignored() -> None:
    # The hand-made generator ignored pattern, format, multipleOf and anyOf: 50 of 50 of its
    # "valid" payloads broke such a schema, so a correct server failed the serve test.
    valid = valid_payloads(RICH, 40, seed=2)
    assert len(valid) == 40
    assert [p for p in valid if validation_errors(RICH, p)] == []
    assert any("either" in p for p in valid) and any(p.get("note") is None for p in valid)
    invalid = invalid_payloads(RICH, seed=2)
    still_valid = [what for what, payload in invalid if not validation_errors(RICH, payload)]
    assert still_valid == []
    kinds = " / ".join(what for what, _ in invalid)
    for expected in (
        "code not matching its pattern",
        "when not a valid date",
        "qty not a multiple of its multipleOf",
        "ref below its minimum",  # through the $ref
        "either matching none of its anyOf/oneOf",
        "address.zip not matching its pattern",  # nested
        "address.kind not one of its values",
        "tags with fewer items than its minItems",
        "tags[0] not one of its values",  # inside an array
        "address with an unknown field",
        "the record with an unknown field",
        "when (required) missing",
    ):
        assert expected in kinds, expected


def test_the_runtime_checks_the_formats_the_serve_test_breaks() -> None:
    from workbench.runtime.core import CHECKED_FORMATS as RUNTIME
    from workbench.steps.schema.contract import CHECKED_FORMATS as SERVE_TEST

    assert SERVE_TEST is RUNTIME  # one list, in workbench.runtime.rules


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_runtimes_compiled_check_agrees_with_the_reference_validator(name: str) -> None:
    from workbench.runtime.core import fast_check

    schema = SCHEMAS[name]
    check = fast_check(schema)
    assert check is not None  # jsonschema-rs is installed, the schema has no format
    for payload in valid_payloads(schema, 30, seed=5):
        assert check(payload)
    for what, payload in invalid_payloads(schema, seed=5):
        assert not check(payload), what
    assert fast_check(RICH) is None  # formats: the reference validator alone


def test_the_batch_check_is_used_only_where_it_means_the_same() -> None:
    from workbench.runtime.core import batch_check

    schema = SCHEMAS["mixed"]
    check = batch_check(schema)
    assert check is not None
    valid = valid_payloads(schema, 10, seed=9)
    assert check(valid)
    for what, payload in invalid_payloads(schema, seed=9):
        assert not check([*valid, payload]), what
    recursive = {"type": "object", "properties": {"child": {"$ref": "#"}}}
    assert batch_check(recursive) is None  # `#` would mean the list, not the record


UNBOUNDED = {
    "type": "object",
    "additionalProperties": False,
    "required": ["amount", "count", "text", "items"],
    "properties": {
        "amount": {"type": "number"},
        "count": {"type": "integer"},
        "text": {"type": "string"},
        "items": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 9}},
        "level": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 5}, {"enum": ["x"]}]},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "step": {"type": "integer", "exclusiveMinimum": 2.5, "maximum": 100, "multipleOf": 7},
    },
}


def _values(payloads: list[object], name: str) -> list[object]:
    return [p[name] for p in payloads if isinstance(p, dict) and name in p]


def test_valid_payloads_try_the_extremes_an_unbounded_schema_allows() -> None:
    # Issue 23: an unbounded number accepted 1e308 and the model answered 500 while every
    # gate was green: the valid payloads never tried the extremes a schema allows.
    payloads = valid_payloads(UNBOUNDED, 50, seed=4)
    assert len(payloads) == 50
    assert [p for p in payloads if validation_errors(UNBOUNDED, p)] == []
    assert {1e308, -1e308} <= set(_values(payloads, "amount"))
    assert {2**63 - 1, -(2**63 - 1)} <= set(_values(payloads, "count"))
    assert "x" * 10_000 in _values(payloads, "text") and "" in _values(payloads, "text")
    assert [] in _values(payloads, "items")
    assert {1, 5, "x"} <= set(_values(payloads, "level"))  # each branch's edges
    ratios = _values(payloads, "ratio")
    assert math.nextafter(0, 1) in ratios and math.nextafter(1, 0) in ratios  # inside, not at
    assert {7, 98} <= set(_values(payloads, "step"))  # bounds stepped to multiples of 7
    assert payloads == valid_payloads(UNBOUNDED, 50, seed=4)


def test_the_extremes_come_after_the_typical_payloads_and_are_named() -> None:
    labelled = labelled_valid_payloads(SCHEMAS["mixed"], 50, seed=7)
    kinds = [what for what, _ in labelled]
    first_extreme = next(i for i, k in enumerate(kinds) if k != "typical")
    assert first_extreme >= 25 and all(k != "typical" for k in kinds[first_extreme:])
    assert "age at its maximum 120" in kinds and "note at its longest (20 characters)" in kinds
    typical = [p for what, p in labelled if what == "typical"]
    assert valid_payloads(SCHEMAS["mixed"], 50, seed=7)[: len(typical)] == typical
    assert [what for what, _ in labelled_valid_payloads(SCHEMAS["mixed"], 1, seed=7)] == ["typical"]


@pytest.mark.parametrize("name", ["iris", "mixed", "rich", "unbounded"])
def test_every_boundary_payload_is_valid(name: str) -> None:
    schema = {**SCHEMAS, "rich": RICH, "unbounded": UNBOUNDED}[name]
    base = valid_payloads(schema, 1, seed=3)[0]
    extremes = boundary_payloads(schema, base)
    assert extremes
    assert [what for what, p in extremes if validation_errors(schema, p)] == []
