"""The request/response contract: JSON Schema (draft 2020-12) kept as YAML."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import load_yaml, to_plain
from workbench.project.manifest import Manifest
from workbench.runtime.rules import CHECKED_FORMATS  # the image checks the same


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
