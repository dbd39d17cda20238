"""The request/response contract: JSON Schema (draft 2020-12) kept as YAML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from workbench.errors import WorkbenchError
from workbench.yamlio import load_yaml, to_plain


def load_schema(path: Path, what: str) -> dict[str, Any]:
    data = to_plain(load_yaml(path, what=what))
    if not isinstance(data, dict):
        raise WorkbenchError(
            f"{path}: the {what} must be a mapping (a JSON Schema object).",
            fix="start the file with `type: object` and `properties:`.",
        )
    return data


def schema_problems(schema: dict[str, Any]) -> list[str]:
    """Why `schema` is not a valid JSON Schema describing one object record (empty if it is)."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(top level)"
        return [f"at {where}: {exc.message}"]
    problems = []
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
