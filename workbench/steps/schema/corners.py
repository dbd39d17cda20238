"""Corner cases proposed from a sample: a complete row with one numeric field at its lowest,
then at its highest, and the answer the model gives there today (for
`schema/expectations.yaml`, which a person reviews)."""

from __future__ import annotations

from typing import Any

REGRESSION_METRICS = ("rmse", "mae", "r2")
CORNER_FIELDS = 4  # numeric fields whose extremes are proposed as cases


def corner_requests(
    fields: list[str], rows: list[dict[str, Any]], base: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """(name, request): a complete sample row with one numeric field at its lowest, then at
    its highest value in the sample."""
    out = []
    for name in fields:
        values = [r.get(name) for r in rows]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if not numbers or len(numbers) < len([v for v in values if v is not None]):
            continue
        out.append((f"{name} at its lowest in the sample", {**base, name: min(numbers)}))
        out.append((f"{name} at its highest in the sample", {**base, name: max(numbers)}))
        if len(out) >= 2 * CORNER_FIELDS:
            break
    return out


def propose_cases(
    corners: list[tuple[str, dict[str, Any]]],
    answers: list[dict[str, Any]],
    numeric: bool = False,
) -> list[dict[str, Any]]:
    """Cases pinning today's answer at each corner: the exact class for a classifier, within
    5% for a number (an integer one too when the model is `numeric`: a regression of
    counts). Proposals a person reviews, never the contract by themselves."""
    cases = []
    for (name, request), answer in zip(corners, answers, strict=False):
        if "__error__" in answer or "prediction" not in answer:
            continue
        value = answer["prediction"]
        case: dict[str, Any] = {"name": name, "request": request}
        counted = numeric and isinstance(value, int) and not isinstance(value, bool)
        if isinstance(value, float) or counted:
            margin = max(abs(value) * 0.05, 1e-6)
            case["within"] = {"prediction": [round(value - margin, 6), round(value + margin, 6)]}
        else:
            case["expect"] = {"prediction": value}
        cases.append(case)
    return cases
