"""schema.closed and schema.bounded look wherever a request can hold an object or a number:
inside arrays, nullable objects, branches and local `$ref`s. They only looked at
`properties` of `type: object` exactly, and passed saying "every request object sets
additionalProperties: false" and "every number is bounded" over open objects in arrays."""

from __future__ import annotations

from pathlib import Path

import yaml

from workbench.checklist.checks import CheckContext
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps.schema.checks import bounded, closed

REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rows"],
    "properties": {
        "rows": {
            "type": "array",
            "maxItems": 10,
            "items": {"type": "object", "properties": {"x": {"type": "number"}}},
        },
        "meta": {"type": ["object", "null"], "properties": {"note": {"type": "string"}}},
        "scores": {"type": "array", "maxItems": 3, "items": {"type": "number"}},
        "age": {"$ref": "#/$defs/Age"},
        "size": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
    "$defs": {"Age": {"type": "integer", "minimum": 0}},
}


def _ctx(tmp_path: Path, request: dict[str, object]) -> CheckContext:
    project = copy_example("iris", tmp_path / "iris")
    (project / "schema" / "request.yaml").write_text(yaml.safe_dump(request))
    return CheckContext(load_manifest(project))


def test_open_objects_in_arrays_and_nullable_objects_fail_closed(tmp_path: Path) -> None:
    result = closed(_ctx(tmp_path, REQUEST))
    assert result.status == "fail"
    assert sorted(result.evidence) == [
        "$.meta accepts unknown fields",
        "$.rows[] accepts unknown fields",
    ]


def test_numbers_in_arrays_refs_and_branches_are_looked_at(tmp_path: Path) -> None:
    result = bounded(_ctx(tmp_path, REQUEST))
    assert result.status == "warn"
    for loose in (
        "rows[].x: a number without minimum and maximum",
        "scores[]: a number without minimum and maximum",
        "age: a number without minimum and maximum",  # its $ref has a minimum, no maximum
        "size: a number without minimum and maximum",  # the integer branch
        "meta.note: a string without enum, pattern or maxLength",
    ):
        assert loose in result.evidence, (loose, result.evidence)


def test_a_closed_and_bounded_nested_request_passes_both(tmp_path: Path) -> None:
    request = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"x": {"type": "number", "minimum": 0, "maximum": 1}},
                },
            },
            "age": {"$ref": "#/$defs/Age"},
            "region": {"type": "integer", "enum": [10, 20, 645]},  # a model's categories
        },
        "$defs": {"Age": {"type": "integer", "minimum": 0, "maximum": 130}},
    }
    ctx = _ctx(tmp_path, request)
    assert closed(ctx).status == "pass"
    assert bounded(ctx).status == "pass"


def test_a_format_the_image_does_not_check_is_no_constraint(tmp_path: Path) -> None:
    """The trial of a regressor fed a timestamp: `format: date-time` made schema.bounded
    pass ("every string constrained"), but the image checks only date, email, ipv4, ipv6
    and uuid: it takes any string there, and the model failed with a 500 on it."""
    request = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "sold_at": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "site": {"type": "string", "format": "uri", "maxLength": 200},
        },
    }
    result = bounded(_ctx(tmp_path, request))
    assert result.status == "warn", result.evidence
    assert result.evidence == [
        "sold_at: a string without enum, pattern or maxLength (its format date-time is not "
        "checked by the image, which checks date, email, ipv4, ipv6, uuid: any string is taken)"
    ]
