"""The request/response contract: JSON Schema (draft 2020-12) kept as YAML."""

from __future__ import annotations

import difflib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import load_yaml, to_plain
from workbench.project.manifest import Manifest


def load_schema(path: Path, what: str) -> dict[str, Any]:
    data = to_plain(load_yaml(path, what=what))
    if not isinstance(data, dict):
        raise WorkbenchError(
            f"{path}: the {what} must be a mapping (a JSON Schema object).",
            fix="start the file with `type: object` and `properties:`.",
        )
    return data


def request_schema(manifest: Manifest) -> dict[str, Any]:
    return load_schema(manifest.resolve(manifest.schema.request), "request schema")


def response_schema(manifest: Manifest) -> dict[str, Any]:
    return load_schema(manifest.resolve(manifest.schema.response), "response schema")


ANNOTATIONS = {
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "$comment",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$vocabulary",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "format",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
}
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_VALUES = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)


def unknown_keywords(schema: Any, path: str = "$") -> list[str]:
    """Keywords JSON Schema does not know (it ignores them silently): likely typos."""
    if not isinstance(schema, dict):
        return []
    known = set(Draft202012Validator.VALIDATORS) | ANNOTATIONS
    found = []
    for key, value in schema.items():
        if key.startswith("x-"):
            continue  # an extension keyword on purpose (x-feature-order ...)
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            found.append(f"at {path}: unknown keyword `{key}`{hint}")
        elif key in SCHEMA_MAPS and isinstance(value, dict):
            for name, sub in value.items():
                found += unknown_keywords(sub, f"{path}.{key}.{name}")
        elif key in SCHEMA_LISTS and isinstance(value, list):
            for index, sub in enumerate(value):
                found += unknown_keywords(sub, f"{path}.{key}[{index}]")
        elif key in SCHEMA_VALUES:
            found += unknown_keywords(value, f"{path}.{key}")
    return found


def schema_problems(schema: dict[str, Any]) -> list[str]:
    """Why `schema` is not a valid JSON Schema describing one object record (empty if it is)."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top level)"
        return [f"at {where}: {exc.message}"]
    problems = unknown_keywords(schema)
    if schema.get("type") != "object":
        problems.append("the top level must be `type: object` (one record)")
    if not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        problems.append("the record needs `properties` (its fields)")
    known = set(schema.get("properties") or {})
    for name in schema.get("required") or []:
        if name not in known:
            problems.append(f"`required` names `{name}`, which is not in properties")
    return problems


def validation_errors(schema: dict[str, Any], record: Any) -> list[tuple[str, str]]:
    """Each way `record` breaks `schema`, as (JSON path, message)."""
    validator = Draft202012Validator(schema)
    out = []
    for error in sorted(validator.iter_errors(record), key=lambda e: list(e.path)):
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        out.append((path, error.message))
    return out


def walk_fields(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named field of a schema, nested objects included, as (dotted name, subschema)."""
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        dotted = f"{prefix}{name}"
        yield dotted, sub
        if sub.get("type") == "object":
            yield from walk_fields(sub, dotted + ".")


def walk_objects(schema: dict[str, Any], path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if schema.get("type") == "object":
        yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            yield from walk_objects(sub, f"{path}.{name}")


# --- payload generators for the serve test (deterministic with a seed) ---------------------


def _example_value(schema: dict[str, Any], rng: Any) -> Any:
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kinds = schema.get("type", "string")
    kind = rng.choice(kinds) if isinstance(kinds, list) else kinds
    if kind == "null":
        return None
    if kind in ("number", "integer"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1000))
        high = schema.get("maximum", schema.get("exclusiveMaximum", 1000))
        if "exclusiveMinimum" in schema:
            low = low + (1 if kind == "integer" else 1e-6)
        if "exclusiveMaximum" in schema:
            high = high - (1 if kind == "integer" else 1e-6)
        if kind == "integer":
            return rng.randint(int(low), int(high))
        return round(rng.uniform(low, high), 4)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "object":
        return valid_record(schema, rng)
    if kind == "array":
        items = schema.get("items", {})
        return [_example_value(items, rng) for _ in range(schema.get("minItems", 1))]
    length = max(schema.get("minLength", 1), min(schema.get("maxLength", 8), 8))
    return "".join(rng.choice("abcdefgh") for _ in range(length))


def valid_record(schema: dict[str, Any], rng: Any) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    return {
        name: _example_value(sub, rng)
        for name, sub in properties.items()
        if name in required or rng.random() < 0.7
    }


def valid_payloads(schema: dict[str, Any], count: int, seed: int = 0) -> list[dict[str, Any]]:
    """Records that satisfy the schema, drawn from its types, bounds and enums."""
    rng = random.Random(seed)
    return [valid_record(schema, rng) for _ in range(count)]


def invalid_payloads(schema: dict[str, Any], seed: int = 0) -> list[tuple[str, Any]]:
    """For each constraint, a payload that breaks exactly it: (what is broken, payload)."""
    rng = random.Random(seed)
    base = {
        name: _example_value(sub, rng) for name, sub in (schema.get("properties") or {}).items()
    }
    cases: list[tuple[str, Any]] = [("not an object", [base]), ("an empty string body", "")]
    for name in schema.get("required") or []:
        broken = dict(base)
        broken.pop(name, None)
        cases.append((f"required field {name} missing", broken))
    if schema.get("additionalProperties") is False:
        cases.append(("an unknown field", {**base, "not_a_field_": 1}))
    for name, sub in (schema.get("properties") or {}).items():
        kinds = sub.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        wrong: Any = "text" if {"number", "integer", "boolean"} & set(kinds) else 12345
        if "string" in kinds and "number" in kinds:
            wrong = [1]
        if "null" not in kinds:
            cases.append((f"{name} of the wrong type", {**base, name: wrong}))
        if "minimum" in sub:
            cases.append((f"{name} below its minimum", {**base, name: sub["minimum"] - 1}))
        if "exclusiveMinimum" in sub:
            cases.append(
                (f"{name} at its exclusive minimum", {**base, name: sub["exclusiveMinimum"]})
            )
        if "maximum" in sub:
            cases.append((f"{name} above its maximum", {**base, name: sub["maximum"] + 1}))
        if "exclusiveMaximum" in sub:
            cases.append(
                (f"{name} at its exclusive maximum", {**base, name: sub["exclusiveMaximum"]})
            )
        if "enum" in sub:
            cases.append((f"{name} not one of its values", {**base, name: "__not_an_option__"}))
        if "maxLength" in sub:
            cases.append((f"{name} too long", {**base, name: "x" * (sub["maxLength"] + 1)}))
    return cases
