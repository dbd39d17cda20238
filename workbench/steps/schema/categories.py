"""Categorical features as the model knows them, over what a sample shows.

CatBoost hashes the text of its categorical features, so they are strings whatever they look
like in a sample (a CSV's `645` stays `"645"`). LightGBM and XGBoost trained on pandas
`category` columns keep the categories themselves: each such field is typed as they are and
limited to them (an `enum`), since a value the model never saw cannot get a code of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.steps.schema.contract import json_type


def reread_as_text(
    records: list[dict[str, Any]],
    fields: list[str],
    facts: dict[str, Any],
    reread: Callable[[dict[str, Any]], list[dict[str, Any]]] | None,
) -> list[dict[str, Any]]:
    """The sample read again with the model's text features declared strings, when their
    cells' looks made numbers of them: `str(2110)` cannot give back the `02110` the model
    was trained on (a scikit-learn encoder fitted on ZIP codes, a CatBoost category)."""
    textual = [f for f in facts.get("categorical") or [] if f in fields]
    if reread is None or all(isinstance(r.get(f), str | None) for r in records for f in textual):
        return records
    return reread({"properties": {f: {"type": ["string", "null"]} for f in textual}})


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
        properties[name] = _one_of(field, list(values))
        limited.append(f"{name} ({len(values)})")
    if limited:
        notes.append("limited to the categories the model was trained on: " + ", ".join(limited))


def _one_of(field: dict[str, Any], values: list[Any]) -> dict[str, Any]:
    """`field` as one of `values`, of their type (or null where the sample has missing
    values): the sample's shape (its bounds, its few values) replaced."""
    kinds = sorted({json_type(v) for v in values})
    kind: Any = kinds[0] if len(kinds) == 1 else kinds
    nullable = "null" in _types(field)
    if nullable:
        kind = [*(kind if isinstance(kind, list) else [kind]), "null"]
    return {
        "type": kind,
        "enum": [*values, None] if nullable else values,
        "description": field.get("description", ""),
    }


ENCODER_ENUM_LIMIT = 500  # more categories than this (an id) are not listed in the contract


def _listed(facts: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields a strict scikit-learn encoder (`handle_unknown="error"`) was fitted on,
    with its categories."""
    return {
        name: list(known.get("values") or [])
        for name, known in (facts.get("encoder_categories") or {}).items()
        if known.get("values") and known.get("strict")
    }


def known_rows(
    rows: list[dict[str, Any]], facts: dict[str, Any], notes: list[str]
) -> list[dict[str, Any]]:
    """The sample without rows holding a value a strict encoder of the model was not fitted
    on: the model fails on it (`schema infer` used to stop there), and it is no example. The
    values left out are named."""
    listed = _listed(facts)
    kept: list[dict[str, Any]] = []
    unknown: set[str] = set()
    for row in rows:
        odd = [(f, row[f]) for f, values in listed.items()
               if row.get(f) is not None and row[f] not in values]  # fmt: skip
        unknown.update(f"{f}={v!r}" for f, v in odd)
        if not odd:
            kept.append(row)
    if unknown and kept:
        notes.append(
            f"{len(rows) - len(kept)} sample rows left out: values the model's encoders fail "
            f"on, never fitted on them ({', '.join(sorted(unknown)[:8])}); the contract "
            "refuses such a request (422) instead of the model failing (500)"
        )
        return kept
    return rows


def encoder_enums(request: dict[str, Any], facts: dict[str, Any], notes: list[str]) -> None:
    """A field a strict scikit-learn encoder was fitted on is one of its categories (or null
    where the sample has missing values), also those the sample lacks: the encoder fails on
    any other value. A lenient encoder's field (`handle_unknown="ignore"`) keeps the list a
    sample suggested, with every category the encoder knows added (one the sample lacked is
    no reason to refuse a request), and its values the encoder never saw are named."""
    properties = request["properties"]
    limited, open_ = [], []
    for name, known in (facts.get("encoder_categories") or {}).items():
        field, values = properties.get(name), list(known.get("values") or [])
        if field is None or not values:
            continue
        if not known.get("strict"):
            sample = [v for v in field.get("enum") or [] if v is not None]
            if sample and len(values) > ENCODER_ENUM_LIMIT:  # an id: no list says it
                field.pop("enum")
                if "string" in _types(field):
                    field["maxLength"] = max(64, 4 * max(len(str(v)) for v in values))
            elif sample:  # the sample's few values, and every category the encoder knows
                extra = [v for v in sample if v not in values]
                field["enum"] = [*values, *extra] + ([None] if None in field["enum"] else [])
                if extra:
                    open_.append(f"{name} ({', '.join(map(repr, extra[:5]))})")
            continue
        if len(values) > ENCODER_ENUM_LIMIT:
            continue
        properties[name] = _one_of(field, values)
        limited.append(f"{name} ({len(values)})")
    if limited:
        notes.append("limited to the categories the model's encoders know: " + ", ".join(limited))
    if open_:
        notes.append(
            "in the sample and the contract, unknown to the model's encoder (it answers them "
            "as no category: handle_unknown): " + ", ".join(open_)
        )


def _types(field: dict[str, Any]) -> list[str]:
    kinds = field.get("type")
    return list(kinds) if isinstance(kinds, list) else [kinds] if kinds else []
