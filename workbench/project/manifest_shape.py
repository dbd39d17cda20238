"""How `workbench.yaml` is checked and read, derived from its one declaration (the
dataclasses of `workbench.project.manifest`): each field's type gives its kind (text,
whole number, number, true/false, list of text, section, one of a `Literal`'s values),
its `key(...)` metadata gives its help text and bounds. Every problem is collected with
its line, so the manifest's error names them all."""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from workbench.kernel.errors import ManifestError
from workbench.kernel.yamlio import line_of

Kind = Literal["str", "int", "number", "bool", "strlist", "section"]


@dataclass(frozen=True)
class Key:
    """What a field of the manifest means and allows (its dataclass field's metadata)."""

    help: str
    pattern: re.Pattern[str] | None = None
    nullable: bool = True  # an empty value means "the default"
    minimum: int | None = None
    maximum: int | None = None
    above: str | None = None  # what is said of a value over `maximum`
    check: Callable[[str], str | None] | None = None  # a further problem with a text


def key(
    help: str = "",
    *,
    pattern: re.Pattern[str] | None = None,
    nullable: bool = True,
    minimum: int | None = None,
    maximum: int | None = None,
    above: str | None = None,
    check: Callable[[str], str | None] | None = None,
) -> dict[str, Key]:
    """The metadata of a dataclass field that is a key of `workbench.yaml`: its help text
    (for a `Literal`, "one of ..." when left empty) and bounds. A field without a default
    is required."""
    return {"key": Key(help, pattern, nullable, minimum, maximum, above, check)}


@dataclass(frozen=True)
class Field:
    """One key of the file, as derived from its declaration."""

    name: str
    kind: Kind
    spec: Key
    help: str
    required: bool
    choices: tuple[str, ...] | None = None
    section: type | None = None


def _kind(hint: Any) -> tuple[Kind, tuple[str, ...] | None, type | None]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) is Literal:
        return "str", tuple(typing.get_args(hint)), None
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return "section", None, hint
    if typing.get_origin(hint) is tuple:
        return "strlist", None, None
    simple: dict[Any, Kind] = {str: "str", bool: "bool", int: "int", float: "number"}
    return simple[hint], None, None


@cache
def fields_of(section: type) -> dict[str, Field]:
    """The keys of a section (a dataclass), in declaration order; fields without `key`
    metadata (the project's root) are not keys of the file."""
    hints = typing.get_type_hints(section)
    found: dict[str, Field] = {}
    for f in dataclasses.fields(section):
        spec = f.metadata.get("key")
        if spec is None:
            continue
        kind, choices, sub = _kind(hints[f.name])
        text = spec.help or ("one of " + ", ".join(choices or ()))
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        found[f.name] = Field(f.name, kind, spec, text, required, choices, sub)
    return found


class Problems:
    def __init__(self, source: Path) -> None:
        self.source = source
        self.items: list[tuple[int, str]] = []

    def add(self, line: int | None, path: str, text: str) -> None:
        where = f"line {line}, " if line else ""
        self.items.append((line or 10**9, f"{where}`{path}`: {text}"))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        count = len(self.items)
        head = f"{self.source}: {count} problem{'s' if count > 1 else ''}: "
        in_file_order = [text for _, text in sorted(self.items, key=lambda item: item[0])]
        raise ManifestError(
            head + "; ".join(in_file_order) + ".",
            fix=f"edit {self.source.name} as said above, then run the command again "
            "(`workbench init --force` writes a fresh starter file).",
        )


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "empty"
    return type(value).__name__


def check_values(
    node: Any, section: type, prefix: str, problems: Problems, line: int | None = None
) -> dict[str, Any]:
    """Validate one mapping against its section; return the plain values that passed. A
    required key that is absent is said at `line`, the section's own."""
    shape = fields_of(section)
    values: dict[str, Any] = {}
    for name in node:
        path = f"{prefix}{name}"
        spec = shape.get(str(name))
        if spec is None:
            close = difflib.get_close_matches(str(name), list(shape), n=1, cutoff=0.6)
            hint = (
                f"did you mean `{prefix}{close[0]}`?"
                if close
                else ("known keys here: " + ", ".join(shape))
            )
            problems.add(line_of(node, name), path, f"unknown key; {hint}")
            continue
        _check_value(node[name], spec, path, line_of(node, name), problems, values)
    for spec in shape.values():
        if spec.required and spec.name not in node:
            problems.add(line, f"{prefix}{spec.name}", "is missing; " + spec.help)
    return values


def _check_value(
    value: Any, spec: Field, path: str, line: int | None, problems: Problems, out: dict[str, Any]
) -> None:
    """Check one value against its field; what passes goes into `out`."""
    key, text = spec.spec, spec.help
    problem: str | None = None
    if value is None:
        problem = None if key.nullable else f"is empty; expected {text}"
    elif spec.kind == "section":
        if not isinstance(value, dict):
            problem = f"expected a mapping ({text}), got {type_name(value)}"
        else:
            assert spec.section is not None
            out[spec.name] = check_values(value, spec.section, f"{path}.", problems, line)
    elif spec.kind == "str":
        problem = _text_problem(value, spec)
    elif spec.kind in ("int", "number"):
        problem = _number_problem(value, spec)
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            problem = f"expected true or false ({text}), got {type_name(value)}"
    elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problem = f"expected a list of text ({text})"
    elif key.pattern and (bad := [v for v in value if not key.pattern.match(v)]):
        problem = f"`{bad[0]}` is not allowed here ({text})"
    if problem is not None:
        problems.add(line, path, problem)
    elif value is None or spec.kind == "section":
        return
    elif spec.kind == "number":
        out[spec.name] = float(value)
    elif spec.kind == "strlist":
        out[spec.name] = tuple(str(v) for v in value)
    else:
        out[spec.name] = value


def _text_problem(value: Any, spec: Field) -> str | None:
    key, text = spec.spec, spec.help
    if not isinstance(value, str):
        return f"expected text ({text}), got {type_name(value)}"
    if spec.choices and value not in spec.choices:
        close = difflib.get_close_matches(value, list(spec.choices), n=1, cutoff=0.5)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return f"`{value}` is not {text}{hint}"
    if key.pattern and not key.pattern.match(value):
        return f"`{value}` is not valid; expected {text}"
    if key.check and (said := key.check(value)):
        return f"`{value}` {said}; expected {text}"
    return None


def _number_problem(value: Any, spec: Field) -> str | None:
    key = spec.spec
    whole = spec.kind == "int"
    if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
        expected = "a whole number" if whole else "a number"
        return f"expected {expected} ({spec.help}), got {type_name(value)}"
    if key.minimum is not None and value < key.minimum:
        return f"must be at least {key.minimum}"
    if key.maximum is not None and value > key.maximum:
        return key.above or f"must be at most {key.maximum}"
    return None


def build(section: type, values: dict[str, Any], **given: Any) -> Any:
    """The section's dataclass from checked values (sections built in turn); a section
    that lacks a required key is None (its problem is already said)."""
    shape = fields_of(section)
    if any(f.required and f.name not in values and f.name not in given for f in shape.values()):
        return None
    built = {
        name: build(shape[name].section, value) if shape[name].kind == "section" else value  # type: ignore[arg-type]
        for name, value in values.items()
    }
    return section(**{k: v for k, v in built.items() if v is not None}, **given)


def line_at(node: Any, *keys: str) -> int | None:
    for name in keys[:-1]:
        if not isinstance(node, dict) or name not in node:
            return None
        node = node[name]
    return line_of(node, keys[-1]) if isinstance(node, dict) else None
