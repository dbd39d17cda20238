"""Categorical features as the model knows them, over what a sample shows.

CatBoost hashes the text of its categorical features, so they are strings whatever they look
like in a sample (a CSV's `645` stays `"645"`). LightGBM and XGBoost trained on pandas
`category` columns keep the categories themselves: each such field is typed as they are and
limited to them (an `enum`), since a value the model never saw cannot get a code of its own.
"""

from __future__ import annotations

from typing import Any

from workbench.steps.schema.contract import json_type


def model_typed_rows(
    rows: list[dict[str, Any]], fields: list[str], facts: dict[str, Any], notes: list[str]
) -> list[dict[str, Any]]:
    """The sample's rows with each categorical feature typed as the model takes it: text
    for CatBoost's, and for text categories of LightGBM's and XGBoost's."""
    categories = facts.get("categories") or {}
    textual = [
        f
        for f in fields
        if f in (facts.get("categorical") or [])
        or (f in categories and all(isinstance(c, str) for c in categories[f]))
    ]
    if not textual:
        return rows
    notes.append("categorical for the model, so strings: " + ", ".join(textual))
    return [{**r, **{f: str(r[f]) for f in textual if r.get(f) is not None}} for r in rows]


def categories_as_enums(request: dict[str, Any], facts: dict[str, Any], notes: list[str]) -> None:
    """Each field the model holds training categories for: of their type, one of them (or
    null where the sample has missing values: the model takes them as missing)."""
    properties = request["properties"]
    limited = []
    for name, values in (facts.get("categories") or {}).items():
        field = properties.get(name)
        if field is None or not values:
            continue
        kinds = sorted({json_type(v) for v in values})
        kind: Any = kinds[0] if len(kinds) == 1 else kinds
        nullable = "null" in (field.get("type") if isinstance(field.get("type"), list) else [])
        if nullable:
            kind = [*(kind if isinstance(kind, list) else [kind]), "null"]
        properties[name] = {  # the sample's shape (its bounds, its few values) replaced
            "type": kind,
            "enum": [*values, None] if nullable else list(values),
            "description": field.get("description", ""),
        }
        limited.append(f"{name} ({len(values)})")
    if limited:
        notes.append("limited to the categories the model was trained on: " + ", ".join(limited))
