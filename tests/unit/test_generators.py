"""Generated payloads: the invalid ones really break the schema, the valid ones pass."""

from __future__ import annotations

import pytest

from workbench.steps.schema.contract import invalid_payloads, valid_payloads, validation_errors

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
        assert "note too long" in kinds
