"""The request/response contract: JSON Schema (draft 2020-12) kept as YAML."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import load_yaml, to_plain
from workbench.project.manifest import Manifest
from workbench.runtime.rules import CHECKED_FORMATS  # the image checks the same

if TYPE_CHECKING:  # jsonschema costs ~35 ms to import: only where a schema is validated
    from jsonschema import Draft202012Validator


def json_type(value: Any) -> str:
    """The JSON Schema type of a (JSON-loaded) Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


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


@functools.cache
def _known_keywords() -> frozenset[str]:
    """Every keyword of JSON Schema 2020-12 and the annotations: worked out once a process
    (`unknown_keywords` walks the schema, asking at every level)."""
    from jsonschema import Draft202012Validator

    return frozenset(Draft202012Validator.VALIDATORS) | ANNOTATIONS


def unknown_keywords(schema: Any, path: str = "$") -> list[str]:
    """Keywords JSON Schema does not know (it ignores them silently): likely typos."""
    if not isinstance(schema, dict):
        return []
    known = _known_keywords()
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
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top level)"
        return [f"at {where}: {exc.message}"]
    problems = unknown_keywords(schema) + unresolved_refs(schema)
    if schema.get("type") != "object":
        problems.append("the top level must be `type: object` (one record)")
    if not isinstance(schema.get("properties"), dict) or not schema["properties"]:
        problems.append("the record needs `properties` (its fields)")
    known = set(schema.get("properties") or {})
    for name in schema.get("required") or []:
        if name not in known:
            problems.append(f"`required` names `{name}`, which is not in properties")
    return problems


def validator_for(schema: dict[str, Any]) -> Draft202012Validator:
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(schema, format_checker=FormatChecker(formats=CHECKED_FORMATS))


def unresolved_refs(schema: Any) -> list[str]:
    """Every `$ref` (or `$dynamicRef`) that points nowhere: no other file and no URL is
    fetched, so the image would answer 500 to everything."""
    from referencing import Registry
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    resolver = Registry().with_resource("", DRAFT202012.create_resource(schema)).resolver()
    found = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for keyword in ("$ref", "$dynamicRef"):
                ref = node.get(keyword)
                if isinstance(ref, str):
                    try:
                        resolver.lookup(ref)
                    except Unresolvable:
                        found.append(f"at {path}: `{keyword}: {ref}` points nowhere")
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    walk(schema, "$")
    return found


def validation_errors(schema: dict[str, Any], record: Any) -> list[tuple[str, str]]:
    """Each way `record` breaks `schema`, as (JSON path, message)."""
    validator = validator_for(schema)
    out = []
    for error in sorted(validator.iter_errors(record), key=lambda e: list(e.path)):
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        out.append((path, error.message))
    return out


MAX_WALK_DEPTH = 32  # a recursive $ref is followed this deep, no deeper


def _is_object(sub: dict[str, Any]) -> bool:
    kind = sub.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in sub


def _same_value(sub: dict[str, Any], defs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Subschemas that constrain the same value: a local `$ref`'s definition, each branch."""
    ref = sub.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = defs.get(ref.removeprefix("#/$defs/"))
        if isinstance(target, dict):
            yield target
    for key in ("anyOf", "oneOf", "allOf"):
        yield from (b for b in sub.get(key) or [] if isinstance(b, dict))


def _items(sub: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """An array's item schemas, as (suffix, schema)."""
    if isinstance(sub.get("items"), dict):
        yield "[]", sub["items"]
    for i, item in enumerate(sub.get("prefixItems") or []):
        if isinstance(item, dict):
            yield f"[{i}]", item


def walk_fields(
    schema: dict[str, Any],
    prefix: str = "",
    *,
    values: bool = False,
    defs: dict[str, Any] | None = None,
    depth: int = 0,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named field of a schema, nested objects included (inside arrays, branches and
    local `$ref`s too), as (dotted name, subschema). With `values`, also each schema that
    constrains a field's value: its `$ref` target, its branches and its array items
    (`scores[]`), so a bound is looked for wherever it can be."""
    defs = (schema.get("$defs") or {}) if defs is None else defs
    if depth > MAX_WALK_DEPTH:
        return
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            yield from _field(f"{prefix}{name}", sub, values, defs, depth + 1)
    for same in _same_value(schema, defs):  # the object's own branches and $ref
        yield from walk_fields(same, prefix, values=values, defs=defs, depth=depth + 1)


def _field(
    dotted: str, sub: dict[str, Any], values: bool, defs: dict[str, Any], depth: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    yield dotted, sub
    if depth > MAX_WALK_DEPTH:
        return
    if _is_object(sub):
        yield from walk_fields(sub, dotted + ".", values=values, defs=defs, depth=depth + 1)
    for same in _same_value(sub, defs):
        if values:
            yield from _field(dotted, same, values, defs, depth + 1)
        elif _is_object(same):
            yield from walk_fields(same, dotted + ".", values=values, defs=defs, depth=depth + 1)
    for suffix, item in _items(sub):
        if values:
            yield from _field(dotted + suffix, item, values, defs, depth + 1)
        elif _is_object(item):
            yield from walk_fields(item, dotted + suffix + ".", defs=defs, depth=depth + 1)


def walk_objects(
    schema: dict[str, Any],
    path: str = "$",
    *,
    defs: dict[str, Any] | None = None,
    depth: int = 0,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object a request can hold (nested, inside arrays, branches and local `$ref`s;
    a type list with "object" included), as (path, subschema)."""
    defs = (schema.get("$defs") or {}) if defs is None else defs
    if depth > MAX_WALK_DEPTH:
        return
    if _is_object(schema):
        yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            yield from walk_objects(sub, f"{path}.{name}", defs=defs, depth=depth + 1)
    for same in _same_value(schema, defs):
        yield from walk_objects(same, path, defs=defs, depth=depth + 1)
    for suffix, item in _items(schema):
        yield from walk_objects(item, path + suffix, defs=defs, depth=depth + 1)


def field_descriptions(manifest: Manifest) -> list[str]:
    """Each field of both schemas with its description (`request age: in years`): what
    `schema.descriptions-complete` is answered about, so a field added or a description
    changed since asks the question again. A schema that cannot be read counts as none."""
    out: list[str] = []
    for where, load in (("request", request_schema), ("response", response_schema)):
        try:
            schema = load(manifest)
        except WorkbenchError:
            continue
        out += [  # a `$ref`'s target too: its description is the field's
            f"{where} {name}: {str(sub.get('description') or '').strip()}"
            for name, sub in walk_fields(schema, values=True)
            if "description" in sub or "$ref" not in sub
        ]
    return out
