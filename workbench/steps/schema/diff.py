"""Classify every change between two versions of the contract.

breaking: callers that worked before can break (a field removed, a new required
field, a type or enum or range narrowed, unknown fields now refused; in the
response, a field removed or a type changed). additive: callers keep working
and can do more (a new optional field, a widened range or enum, a new response
field). cosmetic: descriptions, titles, examples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from workbench.kernel.yamlio import parse_yaml, to_plain
from workbench.project.manifest import Manifest
from workbench.project.releases import file_at_release, tag_name
from workbench.project.semver import LEVELS, Level, SemVer
from workbench.steps.schema.contract import load_schema, validator_for

COSMETIC_KEYS = {"description", "title", "examples", "$comment", "default", "$schema"}
RANK = {"cosmetic": 0, "additive": 1, "breaking": 2}


ChangeKind = Literal["breaking", "additive", "cosmetic"]
Where = Literal["request", "response"]


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    where: Where
    path: str
    what: str


def _types(schema: dict[str, Any]) -> set[str]:
    kinds = schema.get("type")
    if kinds is None:
        return {"any"}
    found = set(kinds) if isinstance(kinds, list) else {kinds}
    if "number" in found:
        found.add("integer")
    return found


def _bound(
    schema: dict[str, Any], inclusive: str, exclusive: str, lower: bool
) -> tuple[float, bool] | None:
    """The effective bound (value, strict?) from `minimum`/`exclusiveMinimum` (or maximum)."""
    candidates = []
    if isinstance(schema.get(inclusive), int | float):
        candidates.append((float(schema[inclusive]), False))
    if isinstance(schema.get(exclusive), int | float):
        candidates.append((float(schema[exclusive]), True))
    if not candidates:
        return None
    # The tighter of the two: for a lower bound the larger value (strict wins a tie).
    key = (lambda b: (b[0], b[1])) if lower else (lambda b: (-b[0], b[1]))
    return max(candidates, key=key)


def _bound_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """(narrowed|widened, text) for bounds and other restricting keywords, as an input sees
    them: a range compared as an interval (exclusiveMinimum 0 -> minimum -1 is a widening)."""
    out = []
    for inclusive, exclusive, lower in (
        ("minimum", "exclusiveMinimum", True),
        ("maximum", "exclusiveMaximum", False),
    ):
        a = _bound(old, inclusive, exclusive, lower)
        b = _bound(new, inclusive, exclusive, lower)
        if a == b:
            continue
        label = "lower bound" if lower else "upper bound"
        if a is None:
            out.append(("narrowed", f"{label} {b[0]:g} added" if b else label))
        elif b is None:
            out.append(("widened", f"{label} {a[0]:g} removed"))
        else:
            tighter = (b[0], b[1]) > (a[0], a[1]) if lower else (-b[0], b[1]) > (-a[0], a[1])
            out.append(("narrowed" if tighter else "widened", f"{label} {a[0]:g} -> {b[0]:g}"))
    for key, lower in (
        ("minLength", True),
        ("minItems", True),
        ("minProperties", True),
        ("maxLength", False),
        ("maxItems", False),
        ("maxProperties", False),
    ):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if a is None:
            out.append(("narrowed", f"{key} {b} added"))
        elif b is None:
            out.append(("widened", f"{key} {a} removed"))
        else:
            narrowed = b > a if lower else b < a
            out.append(("narrowed" if narrowed else "widened", f"{key} {a} -> {b}"))
    for key in ("pattern", "multipleOf", "format", "const"):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if a is None:
            out.append(("narrowed", f"{key} {b!r} added"))
        elif b is None:
            out.append(("widened", f"{key} {a!r} removed"))
        else:
            out.append(("changed", f"{key} {a!r} -> {b!r}"))
    return out


BRANCH_KEYS = ("anyOf", "oneOf")


def _alternatives(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema as a union of plain branches: each anyOf/oneOf branch merged with the
    keywords beside it (`type: integer` beside `anyOf` constrains every branch)."""
    rest = {k: v for k, v in schema.items() if k not in BRANCH_KEYS}
    for key in BRANCH_KEYS:
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            out = []
            for branch in branches:
                if not isinstance(branch, dict):
                    continue
                merged = {**branch, **{k: v for k, v in rest.items() if k not in branch}}
                for other in BRANCH_KEYS:
                    if other != key and other in schema:
                        merged[other] = schema[other]
                out += _alternatives(merged)
            return out
    return [rest]


def _accepts(schema: dict[str, Any], value: Any) -> bool:
    from jsonschema import Draft202012Validator  # only where a value is checked (~35 ms)

    return Draft202012Validator(schema).is_valid(value)


def _plain_covers(wide: dict[str, Any], narrow: dict[str, Any]) -> bool:
    """Every value `narrow` accepts, `wide` accepts too (both without anyOf/oneOf). Sound,
    not complete: where it cannot tell, it says no, so a doubt is never called a widening."""
    for key in ("enum", "const"):
        if key in narrow:  # a finite set of values: ask the validator about each one
            values = narrow["enum"] if key == "enum" else [narrow["const"]]
            return isinstance(values, list) and all(
                _accepts(wide, v) for v in values if _accepts(narrow, v)
            )
    if "enum" in wide or "const" in wide:
        return False
    wide_types, narrow_types = _types(wide), _types(narrow)
    if "any" not in wide_types and ("any" in narrow_types or not narrow_types <= wide_types):
        return False
    if any(direction != "widened" for direction, _ in _bound_changes(narrow, wide)):
        return False
    wide_props, narrow_props = wide.get("properties") or {}, narrow.get("properties") or {}
    if not set(wide.get("required") or []) <= set(narrow.get("required") or []):
        return False
    if wide.get("additionalProperties") is False and (
        narrow.get("additionalProperties") is not False or set(narrow_props) - set(wide_props)
    ):
        return False
    for name, sub in wide_props.items():
        if name in narrow_props:
            if not _covers(sub, narrow_props[name]):
                return False
        elif narrow.get("additionalProperties") is not False and sub not in ({}, True):
            return False
    return not isinstance(wide.get("items"), dict) or (
        isinstance(narrow.get("items"), dict) and _covers(wide["items"], narrow["items"])
    )


def _overlapping(branches: list[dict[str, Any]]) -> bool:
    """Could one value match two oneOf branches (and so be refused by oneOf)?"""
    for i, a in enumerate(branches):
        for b in branches[i + 1 :]:
            if _plain_covers(a, b) or _plain_covers(b, a):
                return True
            types_a, types_b = _types(a), _types(b)
            if "any" in types_a or "any" in types_b or types_a & types_b:
                values = [*(a.get("enum") or []), *(b.get("enum") or [])]
                if not values or any(_accepts(a, v) and _accepts(b, v) for v in values):
                    return True
    return False


def _covers(wide: dict[str, Any], narrow: dict[str, Any]) -> bool:
    """Every value `narrow` accepts, `wide` accepts too: each branch of `narrow` lies
    within a branch of `wide`, and a oneOf in `wide` has no two branches that overlap."""
    if not isinstance(wide, dict) or not isinstance(narrow, dict):
        return wide == narrow
    if isinstance(wide.get("oneOf"), list) and _overlapping(
        _alternatives({"oneOf": wide["oneOf"]})
    ):
        return False
    wides = _alternatives(wide)
    return all(any(_plain_covers(w, n) for w in wides) for n in _alternatives(narrow))


def _shape(schema: dict[str, Any]) -> str:
    """A short reading of what a schema accepts, for the change's text."""
    parts = []
    for branch in _alternatives(schema):
        kinds = "|".join(sorted(_types(branch)))
        if "enum" in branch:
            kinds += f" enum {branch['enum']!r}"
        parts.append(kinds)
    key = next((k for k in BRANCH_KEYS if k in schema), None)
    return f"{key} [{', '.join(parts)}]" if key else parts[0] if parts else "nothing"


def _branches_change(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """anyOf / oneOf: the values accepted before and after, compared as sets. A pure
    widening (`integer` to `anyOf: [integer, enum of strings]`, a branch added) is
    `widened`, the reverse `narrowed`; rewritten branches that accept the same values
    are no change; anything else (some values gained, others lost) `changed`."""
    if all(old.get(k) == new.get(k) for k in BRANCH_KEYS):
        return []
    wider, narrower = _covers(new, old), _covers(old, new)
    text = f"{_shape(old)} -> {_shape(new)}"
    if wider and narrower:
        return []
    if wider:
        return [("widened", text)]
    if narrower:
        return [("narrowed", text)]
    return [("changed", text)]


def _type_and_enum_changes(
    old: dict[str, Any], new: dict[str, Any], add: Callable[..., None]
) -> None:
    old_types, new_types = _types(old), _types(new)
    if old_types != new_types:
        if new_types < old_types or "any" in old_types:
            add("breaking", f"type narrowed {sorted(old_types)} -> {sorted(new_types)}", "additive")
        elif old_types < new_types or "any" in new_types:
            add("additive", f"type widened {sorted(old_types)} -> {sorted(new_types)}", "breaking")
        else:
            add("breaking", f"type changed {sorted(old_types)} -> {sorted(new_types)}")
    if old.get("enum") != new.get("enum"):
        a, b = set(map(str, old.get("enum") or [])), set(map(str, new.get("enum") or []))
        if not old.get("enum"):
            add("breaking", "enum added", "additive")
        elif not new.get("enum") or b > a:
            add("additive", f"enum widened by {sorted(b - a) or 'removing it'}", "breaking")
        elif b < a:
            add("breaking", f"enum narrowed: {sorted(a - b)} removed", "additive")
        else:
            add("breaking", f"enum changed: -{sorted(a - b)} +{sorted(b - a)}")


def _loses(values: list[Any], new: dict[str, Any]) -> bool:
    """Whether a value accepted before (from an enum) is refused by the new field, judged
    as the image judges it (its formats checked: `format: date` refuses "soon"); a field
    that cannot be judged here (a pattern Python cannot read, a reference left) is taken
    to lose one: never called a widening unchecked."""
    try:
        check = validator_for(new)
        return any(not check.is_valid(value) for value in values)
    except Exception:
        return True


def _compare(
    old: dict[str, Any], new: dict[str, Any], where: Where, path: str, changes: list[Change]
) -> None:
    request = where == "request"

    def add(
        kind_if_request: ChangeKind, what: str, kind_if_response: ChangeKind | None = None
    ) -> None:
        kind = kind_if_request if request else (kind_if_response or kind_if_request)
        changes.append(Change(kind, where, path or "$", what))

    if any(old.get(k) != new.get(k) for k in BRANCH_KEYS):
        # anyOf/oneOf changed: the values accepted are compared as a whole, so the type,
        # enum and bounds beside or inside the branches are part of it, never apart.
        found = _branches_change(old, new)
    else:
        found = _bound_changes(old, new)
        if isinstance(old.get("enum"), list) and not _loses(old["enum"], new):
            # A closed list before: a new bound (`maxLength: 80` for five names of 15
            # characters) narrows nothing every value before still meets.
            found = [(direction, text) for direction, text in found if direction != "narrowed"]
        _type_and_enum_changes(old, new, add)
    for direction, text in found:
        if direction == "changed":
            add("breaking", text)
            continue
        add(
            "breaking" if direction == "narrowed" else "additive",
            f"{direction}: {text}",
            "additive" if direction == "narrowed" else "breaking",
        )
    old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
    old_req, new_req = set(old.get("required") or []), set(new.get("required") or [])
    for name in sorted(set(old_props) - set(new_props)):
        add("breaking", f"field {name} removed")
    for name in sorted(set(new_props) - set(old_props)):
        if name in new_req:
            add("breaking", f"new required field {name}", "additive")
        else:
            add("additive", f"new optional field {name}")
    for name in sorted(set(old_props) & set(new_props)):
        if name in new_req and name not in old_req:
            add("breaking", f"field {name} became required", "additive")
        elif name in old_req and name not in new_req:
            add("additive", f"field {name} became optional", "breaking")
        _compare(
            old_props[name], new_props[name], where, f"{path}.{name}" if path else name, changes
        )
    old_items, new_items = old.get("items"), new.get("items")
    if isinstance(old_items, dict) and isinstance(new_items, dict):
        _compare(old_items, new_items, where, f"{path or '$'}[]", changes)
    if old.get("additionalProperties") is not False and new.get("additionalProperties") is False:
        add("breaking", "unknown fields now refused (additionalProperties: false)", "additive")
    elif old.get("additionalProperties") is False and new.get("additionalProperties") is not False:
        add("additive", "unknown fields now accepted", "breaking")
    if old.get("x-feature-order") != new.get("x-feature-order"):
        add(
            "breaking",
            "x-feature-order changed: fields now go to other columns of the model",
            "breaking",
        )
    for key in sorted((set(old) | set(new)) & COSMETIC_KEYS):
        if old.get(key) != new.get(key):
            changes.append(Change("cosmetic", where, path or "$", f"{key} changed"))


# Keywords `_compare` classifies; any other keyword that changed is counted as breaking,
# never as no change (uniqueItems, allOf, dependentRequired, not, if/then, ...).
CLASSIFIED = {
    "type", "enum", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum",
    "minLength", "minItems", "minProperties", "maxLength", "maxItems", "maxProperties",
    "pattern", "multipleOf", "format", "const", "properties", "required", "items",
    "additionalProperties", "x-feature-order", *COSMETIC_KEYS, *BRANCH_KEYS,
}  # fmt: skip
MAX_REF_DEPTH = 16


def _resolved(node: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """`node` with each local `$ref` (#/$defs/NAME) replaced by its definition (siblings of
    the `$ref` kept), so a bound raised in `$defs` is seen where the field uses it. A
    recursive definition is left as a `$ref` past MAX_REF_DEPTH (then compared as written)."""
    if isinstance(node, list):
        return [_resolved(item, defs, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and depth < MAX_REF_DEPTH:
        target = defs.get(ref.removeprefix("#/$defs/"))
        if isinstance(target, dict):
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return _resolved({**target, **siblings}, defs, depth + 1)
    return {k: v if k == "$defs" else _resolved(v, defs, depth) for k, v in node.items()}


def _unclassified(old: dict[str, Any], new: dict[str, Any], where: Where) -> list[Change]:
    """A changed keyword the diff does not classify, anywhere: breaking, said by name."""
    out = []

    def walk(a: Any, b: Any, path: str) -> None:
        if not (isinstance(a, dict) and isinstance(b, dict)):
            return
        for key in sorted(set(a) | set(b)):
            if key in CLASSIFIED or key.startswith("x-") or key == "$defs":
                continue
            if a.get(key) != b.get(key):
                what = f"{key} changed (a keyword the diff does not classify: counted as breaking)"
                out.append(Change("breaking", where, path or "$", what))
        for name in set(a.get("properties") or {}) & set(b.get("properties") or {}):
            walk(a["properties"][name], b["properties"][name], f"{path}.{name}" if path else name)
        walk(a.get("items"), b.get("items"), f"{path or '$'}[]")
        for key in BRANCH_KEYS:  # branch by branch, where the branches line up
            first, second = a.get(key), b.get(key)
            if isinstance(first, list) and isinstance(second, list) and len(first) == len(second):
                for i, (x, y) in enumerate(zip(first, second, strict=True)):
                    walk(x, y, f"{path or '$'}.{key}[{i}]")

    walk(old, new, "")
    return out


def diff_schemas(old: dict[str, Any], new: dict[str, Any], where: Where) -> list[Change]:
    old = _resolved(old, old.get("$defs") or {})
    new = _resolved(new, new.get("$defs") or {})
    changes: list[Change] = []
    _compare(old, new, where, "", changes)
    return changes + _unclassified(old, new, where)


def required_bump(changes: list[Change]) -> Level:
    """The least semver bump the changes call for: major, minor or patch."""
    worst = max((RANK[c.kind] for c in changes), default=0)
    return LEVELS[worst]


def schema_changes(manifest: Manifest, previous: SemVer | str) -> list[Change]:
    """Every change of both schemas since the release `previous` (its files at its tag)."""
    changes: list[Change] = []
    sides: tuple[tuple[Where, str], ...] = (
        ("request", manifest.schema.request),
        ("response", manifest.schema.response),
    )
    for where, relative in sides:
        old_text = file_at_release(manifest, previous, relative)
        if old_text is None:
            continue
        old = to_plain(parse_yaml(old_text, source=f"{tag_name(manifest, previous)}:{relative}"))
        new = load_schema(manifest.resolve(relative), f"{where} schema")
        changes += diff_schemas(old, new, where)
    return changes
