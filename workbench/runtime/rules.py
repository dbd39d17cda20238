"""Rules the image and the workbench must apply alike, written once: the runtime applies
them in the image, the workbench imports them from here (the serve test's formats, the
build's drift bins). Standard library only: the module is copied into the image and
imported by the workbench, which must not load the runtime's server libraries for it."""

from __future__ import annotations

import bisect
from typing import Any

# The formats checked without optional packages: the runtime validates them, the serve
# test sends payloads that break them.
CHECKED_FORMATS = ("date", "email", "ipv4", "ipv6", "uuid")


def label(value: Any) -> str:
    """A category as counted: its text, cut at 40 characters."""
    return str(value)[:40]


def bin_of(spec: dict[str, Any], value: Any) -> str:
    """The drift bin of one value: by the build's edges for a numeric field (a value that
    is no number is `missing`), else its category or `(other)`."""
    if value is None:
        return "missing"
    if spec["kind"] == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                return "missing"
        return str(bisect.bisect_left(spec["edges"], value))
    text = label(value)
    return text if text in spec["categories"] else "(other)"


def column_dtypes(schema: dict[str, Any]) -> dict[str, str]:
    """The pandas dtype of each request field fed to a model fitted on a DataFrame, as its
    schema implies it: `number` float64; `integer` int64, or float64 where it may be null
    (pandas reads a column with missing values so). Fixed by the schema,
    so a record's column types never depend on the records batched beside it (alone, `2`
    is int64; beside a `2.5` or a null it would be float64). Other fields are left to pandas,
    whose type for text does not depend on the neighbours (object, or pandas 3's str)."""
    out: dict[str, str] = {}
    required = set(schema.get("required") or [])
    for name, field in (schema.get("properties") or {}).items():
        if not isinstance(field, dict):
            continue
        kinds = field.get("type")
        kinds = {kinds} if isinstance(kinds, str) else set(kinds or [])
        nullable = "null" in kinds
        kinds.discard("null")
        if kinds == {"number"} or kinds == {"integer", "number"}:
            out[str(name)] = "float64"
        elif kinds == {"integer"}:
            out[str(name)] = "int64" if name in required and not nullable else "float64"
    return out
