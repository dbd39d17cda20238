"""What an earlier request schema knew that a new inference from a few examples cannot
re-derive: enums, bounds, descriptions and the rest of a field's hand-set constraints.

`schema infer --force` without `--from` has only the example requests to go by: too few
rows for an enum or a bound. Replacing the schema with that would silently turn every
categorical field into a free string and drop every bound, so each field the model still
takes keeps what the earlier schema said of it, widened only as far as the examples need
(an example's new category joins the enum, a bound moves out to an example beyond it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import load_yaml

Schema = dict[str, Any]

# Constraints kept as they were when the new inference does not say them.
KEPT_AS_THEY_WERE = (
    "description",
    "title",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "examples",
    "default",
    "$comment",
)


def _types(spec: Schema) -> list[str]:
    kinds = spec.get("type")
    if kinds is None:
        return []
    return list(kinds) if isinstance(kinds, list) else [kinds]


def _merged_type(old: Schema, new: Schema) -> Any:
    kinds = [*_types(old), *(k for k in _types(new) if k not in _types(old))]
    if "number" in kinds and "integer" in kinds:
        kinds.remove("integer")  # a number field whose examples happen to be whole
    return kinds[0] if len(kinds) == 1 else kinds


def _numbers(values: list[Any]) -> list[float]:
    return [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def _keep_field(
    name: str, old: Schema, new: Schema, values: list[Any], kept: dict[str, list[str]]
) -> Schema:
    merged = dict(new)
    if _types(old):
        merged["type"] = _merged_type(old, new)
    if isinstance(old.get("enum"), list):
        enum = list(old["enum"])
        enum += [v for v in values if v not in enum and (v is not None or "null" in _types(merged))]
        merged["enum"] = enum
        merged.pop("maxLength", None)  # a free string's length: the enum says more
        kept["enums"].append(name)
    numbers = _numbers(values)
    for bound, pick in (("minimum", min), ("maximum", max)):
        if isinstance(old.get(bound), int | float):
            merged[bound] = pick([old[bound], *numbers])
            kept["bounds"].append(name)
    for key in KEPT_AS_THEY_WERE:
        if old.get(key) not in (None, "") and (merged.get(key) in (None, "") or key == "$comment"):
            if key == "description":
                kept["descriptions"].append(name)
            merged[key] = old[key]
    for key, value in old.items():
        if key.startswith("x-"):
            merged.setdefault(key, value)
    return merged


def keep_what_was_known(
    earlier: Schema, inferred: Schema, records: list[dict[str, Any]]
) -> tuple[Schema, list[str]]:
    """The inferred request schema with each field's earlier enum, bounds and hand-set
    constraints kept (widened to the `records` where they need it), and notes saying what
    was kept. A field the earlier schema did not have, or no longer in the model, is the
    inference's alone."""
    properties = earlier.get("properties") if isinstance(earlier, dict) else None
    if not isinstance(properties, dict):
        return inferred, []
    kept: dict[str, list[str]] = {"enums": [], "bounds": [], "descriptions": []}
    out = dict(inferred)
    out["properties"] = {}
    for name, spec in inferred.get("properties", {}).items():
        old = properties.get(name)
        if not isinstance(old, dict) or not isinstance(spec, dict):
            out["properties"][name] = spec
            continue
        values = [r.get(name) for r in records]
        out["properties"][name] = _keep_field(name, old, spec, values, kept)
    notes = [
        f"kept from the earlier schema ({what}, which the examples alone cannot re-derive): "
        + ", ".join(dict.fromkeys(names))
        for what, names in kept.items()
        if names
    ]
    return out, notes


def earlier_request(path: Path, *, within: Path) -> Schema | None:
    """The request schema at `path` (None when there is none), read before anything is
    inferred. One that does not read as a schema with properties is refused, naming it:
    replacing it would lose what it knew without a word."""
    if not path.exists():
        return None
    earlier = json.loads(json.dumps(load_yaml(path, what="request schema", within=within)))
    if not isinstance(earlier, dict) or not isinstance(earlier.get("properties"), dict):
        raise WorkbenchError(
            f"{path} has no `properties` mapping, so what it knew of each field cannot be "
            "kept, and inferring from the example requests alone would lose its enums and "
            "bounds; nothing was written.",
            fix="correct the schema, or infer from a data sample with --from (CSV, Parquet, "
            "JSONL), which re-derives enums and bounds.",
        )
    return earlier
