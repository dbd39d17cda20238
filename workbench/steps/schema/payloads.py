"""Payloads for the serve test, generated from the request schema.

Valid ones come from hypothesis-jsonschema, which honours every keyword
(`pattern`, `format`, `multipleOf`, `anyOf`/`oneOf`, `$ref`, nested objects
and arrays, enums, nulls); unbounded numbers are drawn from a plausible range
(still valid), and every payload is checked against the validator the runtime
uses, so none can be invalid. Invalid ones break one constraint at a time,
at any depth, each checked to really break the schema. Both are deterministic
for a seed.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator
from typing import Any

from workbench.steps.schema.contract import CHECKED_FORMATS, json_type, validation_errors
from workbench.steps.schema.drawn import draw

PLAUSIBLE = 1e6  # unbounded numbers are drawn from [-PLAUSIBLE, PLAUSIBLE]
HUGE_NUMBER = 1e308  # unbounded numbers are also tried at the edge of a double
HUGE_INTEGER = 2**63 - 1  # and integers at the edge of an int64 column
LONG_STRING = 10_000  # an unbounded string is tried this long (far under the body limit)
MAX_ITEMS_TRIED = 100  # an array is tried at its maxItems up to this many
FOREIGN_VALUES: tuple[Any, ...] = (12345, "text", True, None, [1], {"x": 1}, 1.5)
BAD_FORMATS = {
    "date": "2024-13-45",
    "email": "not an address",
    "ipv4": "999.1.1.1",
    "ipv6": "::zz",
    "uuid": "not-a-uuid",
}
PATTERN_CANDIDATES = ("", " ", "~!@#", "0", "a", "Z9", "ÿ", "-")


def _plausible(schema: Any) -> Any:
    """A copy where unbounded numbers get a plausible range and every property is required:
    what it accepts, the original accepts too."""
    if isinstance(schema, list):
        return [_plausible(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _plausible(v) for k, v in schema.items()}
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if {"number", "integer"} & set(kinds):
        if not {"minimum", "exclusiveMinimum"} & set(schema):
            out["minimum"] = -PLAUSIBLE
        if not {"maximum", "exclusiveMaximum"} & set(schema):
            out["maximum"] = PLAUSIBLE
    return out


def valid_payloads(schema: dict[str, Any], count: int, seed: int = 0) -> list[Any]:
    """Up to `count` distinct records that satisfy `schema` (checked one by one): typical
    ones first, as drawn for the seed, then (from 4 payloads up, at most half of them)
    the schema's extremes (`boundary_payloads`)."""
    return [payload for _, payload in labelled_valid_payloads(schema, count, seed)]


def labelled_valid_payloads(
    schema: dict[str, Any], count: int, seed: int = 0
) -> list[tuple[str, Any]]:
    """(what the payload tries, payload): "typical" for the drawn ones, then each extreme
    named by its field ("$.age at its maximum 120"), so a failure names the payload."""
    drawn = draw(_plausible(schema), count, seed)
    if len(drawn) < count:  # a schema whose plausible variant is too narrow: the original
        drawn += [v for v in draw(schema, count, seed + 1) if v not in drawn]
    typical = [v for v in drawn if not validation_errors(schema, v)][:count]
    room = count // 2 if count >= 4 else 0
    extremes = (
        [(what, v) for what, v in boundary_payloads(schema, typical[0]) if v not in typical]
        if typical and room
        else []
    )[:room]
    return [("typical", v) for v in typical[: count - len(extremes)]] + extremes


def _full(schema: dict[str, Any]) -> Any:
    """A valid record with as many optional fields present as possible (to break them)."""
    everything = _require_all(copy.deepcopy(schema))
    for candidate in (everything, schema):
        try:
            drawn = valid_payloads(candidate, 1, seed=11)
        except Exception:  # hypothesis finds the variant unsatisfiable
            continue
        if drawn and not validation_errors(schema, drawn[0]):
            return drawn[0]
    return {}


def _require_all(schema: Any) -> Any:
    if isinstance(schema, dict):
        if isinstance(schema.get("properties"), dict):
            schema["required"] = list(schema["properties"])
        for value in schema.values():
            _require_all(value)
    elif isinstance(schema, list):
        for value in schema:
            _require_all(value)
    return schema


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
        merged = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _resolve(merged, root)
    return schema


def _breakers(
    schema: dict[str, Any], root: dict[str, Any], value: Any
) -> Iterator[tuple[str, Any]]:
    """(what is broken, a value breaking it) for each constraint of one subschema."""
    schema = _resolve(schema, root)
    kinds = schema.get("type")
    allowed = set(kinds if isinstance(kinds, list) else [kinds] if kinds else [])
    branches = [_resolve(b, root) for b in schema.get("anyOf", []) + schema.get("oneOf", [])]
    for branch in branches:
        sub = branch.get("type")
        allowed |= set(sub if isinstance(sub, list) else [sub] if sub else ["any"])
    if "number" in allowed:
        allowed.add("integer")
    if allowed and "any" not in allowed:
        foreign = next((v for v in FOREIGN_VALUES if json_type(v) not in allowed), None)
        if foreign is not None or None in FOREIGN_VALUES:
            yield (
                ("of the wrong type" if not branches else "matching none of its anyOf/oneOf"),
                foreign,
            )
    if "enum" in schema or "const" in schema:
        options = schema.get("enum", [schema.get("const")])
        yield (
            "not one of its values",
            next(v for v in ("__not_an_option__", 987654321, False) if v not in options),
        )
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if "minimum" in schema:
        yield "below its minimum", schema["minimum"] - 1
    if "exclusiveMinimum" in schema:
        yield "at its exclusive minimum", schema["exclusiveMinimum"]
    if "maximum" in schema:
        yield "above its maximum", schema["maximum"] + 1
    if "exclusiveMaximum" in schema:
        yield "at its exclusive maximum", schema["exclusiveMaximum"]
    if "multipleOf" in schema and number:
        step = schema["multipleOf"]
        yield "not a multiple of its multipleOf", value + (step / 2 if step != 1 else 0.5)
    if schema.get("minLength", 0) > 0:
        yield "shorter than its minLength", "x" * (schema["minLength"] - 1)
    if "maxLength" in schema:
        yield "longer than its maxLength", "x" * (schema["maxLength"] + 1)
    if "pattern" in schema:
        regex = re.compile(schema["pattern"])
        bad = next((c for c in PATTERN_CANDIDATES if not regex.search(c)), None)
        if bad is not None:
            yield "not matching its pattern", bad
    if schema.get("format") in CHECKED_FORMATS:
        yield f"not a valid {schema['format']}", BAD_FORMATS[schema["format"]]
    if schema.get("minItems", 0) > 0:
        yield "with fewer items than its minItems", []
    if "maxItems" in schema and isinstance(value, list):
        yield "with more items than its maxItems", (value or [None]) * (schema["maxItems"] + 1)


def _cases(
    schema: dict[str, Any], root: dict[str, Any], value: Any, path: str
) -> Iterator[tuple[str, list[Any], Any]]:
    """(what, path parts, breaking value) for every constraint at and below `schema`."""
    schema = _resolve(schema, root)
    for what, bad in _breakers(schema, root, value):
        yield f"{path} {what}", [], bad
    properties = schema.get("properties") or {}
    if isinstance(value, dict):
        for name in schema.get("required") or []:
            yield f"{path}.{name} (required) missing", [("drop", name)], None
        if schema.get("additionalProperties") is False:
            yield f"{path} with an unknown field", [("add", "not_a_field_")], 1
        for name, sub in properties.items():
            if isinstance(sub, dict):
                for what, parts, bad in _cases(sub, root, value.get(name), f"{path}.{name}"):
                    yield what, [name, *parts], bad
    items = schema.get("items")
    if isinstance(value, list) and value and isinstance(items, dict):
        for what, parts, bad in _cases(items, root, value[0], f"{path}[0]"):
            yield what, [0, *parts], bad


def _apply(base: Any, parts: list[Any], bad: Any) -> Any:
    payload = copy.deepcopy(base)
    if not parts:
        return bad
    node = payload
    for part in parts[:-1]:
        node = node[part]
    last = parts[-1]
    if isinstance(last, tuple) and last[0] == "drop":
        node.pop(last[1], None)
    elif isinstance(last, tuple) and last[0] == "add":
        node[last[1]] = bad
    else:
        node[last] = bad
    return payload


def invalid_payloads(schema: dict[str, Any], seed: int = 0) -> list[tuple[str, Any]]:
    """For each constraint, at any depth, a payload that breaks exactly it (and really is
    invalid): (what is broken, payload). Plus two shapes no record has."""
    base = _full(schema)
    cases: list[tuple[str, Any]] = [("not an object", [base]), ("an empty string body", "")]
    seen = set()
    for what, parts, bad in _cases(schema, schema, base, "$"):
        if what.startswith("$ ") and not parts:
            continue  # the record itself of the wrong type: the two shapes above
        payload = _apply(base, parts, bad)
        key = repr(payload)
        if key in seen or not validation_errors(schema, payload):
            continue
        seen.add(key)
        cases.append((what.replace("$.", "", 1).replace("$ ", "the record ", 1), payload))
    return cases


def _edges(schema: dict[str, Any], root: dict[str, Any], value: Any) -> Iterator[tuple[str, Any]]:
    """(what, value) for the extremes one subschema allows: its bounds (exclusive ones
    stepped inside), its enum's first and last values, its shortest and longest strings,
    an empty array; where unbounded, -1e308 / 1e308, the largest int64s and a 10k string.
    Each is checked valid by the caller, so one that a keyword rules out is dropped."""
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf"):
        beside = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        for branch in schema.get(key) or []:
            if isinstance(branch, dict):
                yield from _edges({**beside, **_resolve(branch, root)}, root, value)
    if "const" in schema:
        return
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        yield "at its first enum value", schema["enum"][0]
        yield "at its last enum value", schema["enum"][-1]
        return
    kinds = schema.get("type")
    kinds = set(kinds if isinstance(kinds, list) else [kinds] if kinds else [])
    if kinds & {"integer", "number"}:
        integer = "number" not in kinds
        yield from _numeric_edges(schema, integer)
    if "string" in kinds and "pattern" not in schema and "format" not in schema:
        shortest = int(schema.get("minLength", 0))
        longest = min(int(schema.get("maxLength", LONG_STRING)), LONG_STRING)
        yield f"at its shortest ({shortest} characters)", "x" * shortest
        yield f"at its longest ({longest} characters)", "x" * longest
    if "array" in kinds:
        if not schema.get("minItems"):
            yield "an empty array", []
        most = schema.get("maxItems")
        if (
            isinstance(most, int)
            and 0 < most <= MAX_ITEMS_TRIED
            and isinstance(value, list)
            and value
        ):
            yield f"with its maxItems ({most} items)", (value * most)[:most]


def _numeric_edges(schema: dict[str, Any], integer: bool) -> Iterator[tuple[str, Any]]:
    step = schema.get("multipleOf")
    for lower, inclusive, exclusive, unbounded in (
        (True, "minimum", "exclusiveMinimum", -(HUGE_INTEGER if integer else HUGE_NUMBER)),
        (False, "maximum", "exclusiveMaximum", HUGE_INTEGER if integer else HUGE_NUMBER),
    ):
        label = "minimum" if lower else "maximum"
        edge: float | int
        if isinstance(schema.get(inclusive), int | float):
            edge, what = schema[inclusive], f"at its {label} {schema[inclusive]}"
        elif isinstance(schema.get(exclusive), int | float):
            bound = schema[exclusive]
            if integer:
                edge = math.floor(bound) + 1 if lower else math.ceil(bound) - 1
            else:
                edge = math.nextafter(bound, math.inf if lower else -math.inf)
            what = f"just inside its exclusive {label} {bound}"
        else:
            edge, what = unbounded, f"at {unbounded!r} (no {label})"
        if isinstance(step, int | float) and step > 0 and math.isfinite(edge / step):
            multiple = (math.ceil if lower else math.floor)(edge / step) * step
            if isinstance(step, int) and isinstance(edge, int):
                multiple = int(multiple)
            edge, what = multiple, f"{what}, as a multiple of {step}"
        if integer and isinstance(edge, float) and edge.is_integer():
            edge = int(edge)
        yield what, edge


def _extreme_cases(
    schema: dict[str, Any], root: dict[str, Any], value: Any, path: str
) -> Iterator[tuple[str, str, list[Any], Any]]:
    """(field, what, path parts, value) for the extremes of every field at any depth; an
    optional field the base payload lacks is added at its extremes."""
    schema = _resolve(schema, root)
    if path != "$":
        for what, edge in _edges(schema, root, value):
            yield path, what, [], edge
    if isinstance(value, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, dict):
                continue
            if name in value:
                for field, what, parts, edge in _extreme_cases(
                    sub, root, value[name], f"{path}.{name}"
                ):
                    yield field, what, [name, *parts], edge
            else:
                for what, edge in _edges(sub, root, None):
                    yield f"{path}.{name}", what, [("add", name)], edge
    items = schema.get("items")
    if isinstance(value, list) and value and isinstance(items, dict):
        for field, what, parts, edge in _extreme_cases(items, root, value[0], f"{path}[0]"):
            yield field, what, [0, *parts], edge


def boundary_payloads(schema: dict[str, Any], base: Any) -> list[tuple[str, Any]]:
    """(what, payload): `base` (a valid record) with one field at a time at one of the
    extremes its schema allows; only those still valid, each once, taken field by field in
    turn so every field gets its extremes tried before any field gets a third."""
    by_field: dict[str, list[tuple[str, Any]]] = {}
    seen = {repr(base)}
    for field, what, parts, edge in _extreme_cases(schema, schema, base, "$"):
        payload = _apply(base, parts, edge)
        key = repr(payload)
        if key in seen or validation_errors(schema, payload):
            continue
        seen.add(key)
        by_field.setdefault(field, []).append((f"{field.replace('$.', '', 1)} {what}", payload))
    out: list[tuple[str, Any]] = []
    queues = list(by_field.values())
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return out
