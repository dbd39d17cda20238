"""A table of schema pairs with their expected classification, and semver."""

from __future__ import annotations

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.project.semver import SemVer
from workbench.steps.schema.diff import diff_schemas, required_bump

BASE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["age", "plan"],
    "properties": {
        "age": {"type": "integer", "minimum": 18, "maximum": 120, "description": "years"},
        "plan": {"type": "string", "enum": ["free", "pro"]},
        "income": {"type": "number"},
    },
}


def changed(**edits: object) -> dict[str, object]:
    import copy

    schema = copy.deepcopy(BASE)
    for path, value in edits.items():
        node = schema
        *parents, last = path.split("__")
        for part in parents:
            node = node[part]  # type: ignore[index]
        if value is None:
            node.pop(last)  # type: ignore[union-attr]
        else:
            node[last] = value  # type: ignore[index]
    return schema


CASES = [
    ("field removed", changed(properties__income=None), "breaking"),
    (
        "new required field",
        {**changed(properties__city={"type": "string"}), "required": ["age", "plan", "city"]},
        "breaking",
    ),
    ("type narrowed", changed(properties__income={"type": "integer"}), "breaking"),
    ("enum narrowed", changed(properties__plan={"type": "string", "enum": ["pro"]}), "breaking"),
    (
        "range narrowed",
        changed(properties__age={"type": "integer", "minimum": 21, "maximum": 120}),
        "breaking",
    ),
    ("additional properties closed", {**BASE, "additionalProperties": True}, "additive"),
    ("new optional field", changed(properties__city={"type": "string"}), "additive"),
    (
        "range widened",
        changed(properties__age={"type": "integer", "minimum": 0, "maximum": 150}),
        "additive",
    ),
    (
        "enum widened",
        changed(properties__plan={"type": "string", "enum": ["free", "pro", "team"]}),
        "additive",
    ),
    (  # every value the list held meets the new bound: a widening (a new user's trial)
        "enum opened to a bounded string",
        changed(properties__plan={"type": "string", "maxLength": 80}),
        "additive",
    ),
    (  # "pro" is refused by minLength 4: a value accepted before is lost
        "enum opened but a value lost",
        changed(properties__plan={"type": "string", "minLength": 4, "maxLength": 80}),
        "breaking",
    ),
    (  # the image checks formats: "free" is no date (a reviewer's read)
        "enum opened to a format its values miss",
        changed(properties__plan={"type": "string", "format": "date"}),
        "breaking",
    ),
    (  # a pattern Python's re cannot read: judged as losing, never a crash
        "enum opened to an ECMA pattern",
        changed(properties__plan={"type": "string", "pattern": "^\\p{L}+$"}),
        "breaking",
    ),
    (
        "description only",
        changed(
            properties__age={
                "type": "integer",
                "minimum": 18,
                "maximum": 120,
                "description": "in years",
            }
        ),
        "cosmetic",
    ),
]


@pytest.mark.parametrize(("label", "new", "expected"), CASES, ids=[c[0] for c in CASES])
def test_request_changes_are_classified(label: str, new: dict[str, object], expected: str) -> None:
    if label == "additional properties closed":  # BASE is closed; go from open to closed
        changes = diff_schemas(new, BASE, "request")
        assert {c.kind for c in changes} == {"breaking"}
        return
    changes = diff_schemas(BASE, new, "request")
    assert changes, label
    assert (
        max(changes, key=lambda c: {"cosmetic": 0, "additive": 1, "breaking": 2}[c.kind]).kind
        == expected
    )


def test_response_direction_is_reversed_for_new_fields_and_removals() -> None:
    old = {"type": "object", "properties": {"label": {"type": "string"}}}
    new = {
        "type": "object",
        "properties": {"label": {"type": "string"}, "score": {"type": "number"}},
    }
    assert required_bump(diff_schemas(old, new, "response")) == "minor"
    assert required_bump(diff_schemas(new, old, "response")) == "major"
    assert required_bump(diff_schemas(old, old, "response")) == "patch"


def test_semver_parse_order_and_bump() -> None:
    versions = [
        SemVer.parse(v)
        for v in (
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.2.0",
            "2.0.0",
        )
    ]
    assert versions == sorted(versions)
    assert str(SemVer.parse("1.4.2").bump("minor")) == "1.5.0"
    assert str(SemVer.parse("1.4.2").bump("major")) == "2.0.0"
    assert str(SemVer.parse("2.0.0-rc.1").bump("patch")) == "2.0.0"
    assert SemVer.parse("2.0.0").level_from(SemVer.parse("1.9.3")) == "major"
    with pytest.raises(WorkbenchError, match="not a semantic version"):
        SemVer.parse("1.2")
    with pytest.raises(WorkbenchError):
        SemVer.parse("01.2.3")


def field(schema: dict[str, object]) -> dict[str, object]:
    return {"type": "object", "properties": {"a": schema}}


# (label, old field, new field, bump a request change needs, bump a response change needs)
WIDENING_TABLE = [
    (
        "exclusive bound to a wider inclusive one",
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "number", "minimum": -1},
        "minor",
        "major",
    ),
    (
        "inclusive to exclusive at the same value",
        {"type": "number", "minimum": 0},
        {"type": "number", "exclusiveMinimum": 0},
        "major",
        "minor",
    ),
    ("a bound removed", {"type": "number", "maximum": 5}, {"type": "number"}, "minor", "major"),
    (
        "nested range widened",
        {"type": "object", "properties": {"b": {"type": "number", "maximum": 5}}},
        {"type": "object", "properties": {"b": {"type": "number", "maximum": 10}}},
        "minor",
        "major",
    ),
    (
        "array items widened",
        {"type": "array", "items": {"type": "number", "maximum": 5}},
        {"type": "array", "items": {"type": "number", "maximum": 10}},
        "minor",
        "major",
    ),
    (
        "array items narrowed",
        {"type": "array", "items": {"type": "number", "maximum": 10}},
        {"type": "array", "items": {"type": "number", "maximum": 5}},
        "major",
        "minor",
    ),
    ("null allowed", {"type": "number"}, {"type": ["number", "null"]}, "minor", "major"),
    ("integer to number", {"type": "integer"}, {"type": "number"}, "minor", "major"),
    (
        "anyOf branch added",
        {"anyOf": [{"type": "string"}]},
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "minor",
        "major",
    ),
    (
        "anyOf branch removed",
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        {"anyOf": [{"type": "string"}]},
        "major",
        "minor",
    ),
    (
        "maxLength widened",
        {"type": "string", "maxLength": 5},
        {"type": "string", "maxLength": 10},
        "minor",
        "major",
    ),
    ("pattern added", {"type": "string"}, {"type": "string", "pattern": "^a"}, "major", "minor"),
    ("pattern removed", {"type": "string", "pattern": "^a"}, {"type": "string"}, "minor", "major"),
    (
        "pattern changed",
        {"type": "string", "pattern": "^a"},
        {"type": "string", "pattern": "^b"},
        "major",
        "major",
    ),
    ("multipleOf added", {"type": "number"}, {"type": "number", "multipleOf": 2}, "major", "minor"),
    (  # every value the list held meets the new bound: a widening (a new user's trial)
        "enum opened to a bounded string",
        {"type": "string", "enum": ["free", "pro"]},
        {"type": "string", "maxLength": 80},
        "minor",
        "major",
    ),
    (  # "pro" is refused by minLength 4: a value accepted before is lost
        "enum opened but a value lost",
        {"type": "string", "enum": ["free", "pro"]},
        {"type": "string", "minLength": 4, "maxLength": 80},
        "major",
        "major",
    ),
    (
        "description only",
        {"type": "number", "description": "x"},
        {"type": "number", "description": "y"},
        "patch",
        "patch",
    ),
]


@pytest.mark.parametrize(
    ("label", "old", "new", "request_bump", "response_bump"),
    WIDENING_TABLE,
    ids=[row[0] for row in WIDENING_TABLE],
)
def test_diff_rules_against_a_table_widening_included(
    label: str,
    old: dict[str, object],
    new: dict[str, object],
    request_bump: str,
    response_bump: str,
) -> None:
    # A widening accepts every request the old contract accepted: a minor bump, never a
    # major one; in a response, the same widening can break a consumer: major.
    assert required_bump(diff_schemas(field(old), field(new), "request")) == request_bump
    assert required_bump(diff_schemas(field(old), field(new), "response")) == response_bump


def test_a_changed_feature_order_is_breaking() -> None:
    old = {**field({"type": "number"}), "x-feature-order": ["a", "b"]}
    new = {**field({"type": "number"}), "x-feature-order": ["b", "a"]}
    assert required_bump(diff_schemas(old, new, "request")) == "major"


LEVELS = {"integer": {"type": "integer", "minimum": 0, "maximum": 10}}
LEVEL_NAMES = {"type": "string", "enum": ["low", "high"]}

# (label, old field, new field, bump a request change needs, bump a response change needs)
BRANCH_TABLE = [
    (
        "integer to anyOf [integer, enum of strings]",
        LEVELS["integer"],
        {"anyOf": [LEVELS["integer"], LEVEL_NAMES]},
        "minor",
        "major",
    ),
    (
        "integer to oneOf [integer, enum of strings]",
        LEVELS["integer"],
        {"oneOf": [LEVELS["integer"], LEVEL_NAMES]},
        "minor",
        "major",
    ),
    (
        "anyOf [integer, enum of strings] back to integer",
        {"anyOf": [LEVELS["integer"], LEVEL_NAMES]},
        LEVELS["integer"],
        "major",
        "minor",
    ),
    (
        "a branch added to an existing anyOf",
        {"anyOf": [LEVELS["integer"], LEVEL_NAMES]},
        {"anyOf": [LEVELS["integer"], LEVEL_NAMES, {"type": "null"}]},
        "minor",
        "major",
    ),
    (
        "nullable through anyOf",
        {"type": "number"},
        {"anyOf": [{"type": "number"}, {"type": "null"}]},
        "minor",
        "major",
    ),
    (
        "a branch's enum widened",
        {"anyOf": [LEVELS["integer"], LEVEL_NAMES]},
        {"anyOf": [LEVELS["integer"], {"type": "string", "enum": ["low", "high", "mid"]}]},
        "minor",
        "major",
    ),
    (
        "a branch's range narrowed",
        {"anyOf": [LEVELS["integer"], LEVEL_NAMES]},
        {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 5}, LEVEL_NAMES]},
        "major",
        "minor",
    ),
    (
        "integer to anyOf whose integer branch is narrower",
        LEVELS["integer"],
        {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 10}, LEVEL_NAMES]},
        "major",
        "major",
    ),
    (
        "branches rewritten, same values",
        {"anyOf": [LEVELS["integer"], LEVEL_NAMES]},
        {"anyOf": [LEVEL_NAMES, LEVELS["integer"]]},
        "patch",
        "patch",
    ),
    (
        "integer to oneOf [integer, number]: 3 now matches both branches, so it is refused",
        {"type": "integer"},
        {"oneOf": [{"type": "integer"}, {"type": "number"}]},
        "major",
        "major",
    ),
    (
        "type beside anyOf constrains every branch",
        {"type": "string", "enum": ["low"]},
        {"type": "string", "anyOf": [{"enum": ["low", "high"]}, {"maxLength": 0}]},
        "minor",
        "major",
    ),
]


@pytest.mark.parametrize(
    ("label", "old", "new", "request_bump", "response_bump"),
    BRANCH_TABLE,
    ids=[row[0] for row in BRANCH_TABLE],
)
def test_anyof_and_oneof_changes_are_compared_as_the_values_they_accept(
    label: str,
    old: dict[str, object],
    new: dict[str, object],
    request_bump: str,
    response_bump: str,
) -> None:
    # Issue 23: `integer` to `anyOf: [integer, enum of strings]` was called breaking and
    # forced a major version, though every request accepted before is accepted still.
    assert required_bump(diff_schemas(field(old), field(new), "request")) == request_bump
    assert required_bump(diff_schemas(field(old), field(new), "response")) == response_bump


def test_a_widening_through_anyof_says_what_was_accepted_before_and_after() -> None:
    changes = diff_schemas(
        field(LEVELS["integer"]), field({"anyOf": [LEVELS["integer"], LEVEL_NAMES]}), "request"
    )
    assert [(c.kind, c.path) for c in changes] == [("additive", "a")]
    assert changes[0].what == "widened: integer -> anyOf [integer, string enum ['low', 'high']]"
    response = diff_schemas(
        field(LEVELS["integer"]), field({"anyOf": [LEVELS["integer"], LEVEL_NAMES]}), "response"
    )
    assert [c.kind for c in response] == ["breaking"]  # a client may get a string now


def test_a_bound_raised_in_defs_is_seen_where_the_field_uses_it() -> None:
    """The field is `{$ref: "#/$defs/Age"}`: raising `$defs.Age.minimum` from 0 to 18 was
    "no contract change" (a patch release) while the image refuses every age under 18."""
    old = {
        "type": "object",
        "properties": {"age": {"$ref": "#/$defs/Age"}},
        "$defs": {"Age": {"type": "integer", "minimum": 0}},
    }
    new = {**old, "$defs": {"Age": {"type": "integer", "minimum": 18}}}
    changes = diff_schemas(old, new, "request")
    assert [(c.kind, c.path, c.what) for c in changes] == [
        ("breaking", "age", "narrowed: lower bound 0 -> 18")
    ]
    assert required_bump(changes) == "major"


def test_a_keyword_the_diff_does_not_classify_is_breaking_never_no_change() -> None:
    old = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "x": {"anyOf": [{"type": "array"}, {"type": "null"}]},
        },
    }
    new = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "x": {"anyOf": [{"type": "array", "uniqueItems": True}, {"type": "null"}]},
        },
        "allOf": [{"required": ["tags"]}],
        "x-log": False,  # the workbench's own marks are not the contract
    }
    changes = diff_schemas(old, new, "request")
    assert {(c.kind, c.path, c.what.split(" (")[0]) for c in changes} == {
        ("breaking", "$", "allOf changed"),
        ("breaking", "tags", "uniqueItems changed"),
        ("breaking", "x.anyOf[0]", "uniqueItems changed"),
    }
    assert diff_schemas(old, old, "request") == []
