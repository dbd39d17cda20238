"""`checklist.yaml`: every result, tick, waiver and sign-off of a project.

Committed beside the code so a reviewer sees it; written atomically in a
stable order (items in definition order, keys in a fixed order) so diffs stay
small and a crash mid-write never corrupts it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench.atomic import write_text_atomic
from workbench.errors import WorkbenchError
from workbench.yamlio import dump_yaml, load_yaml, to_plain

STATE_NAME = "checklist.yaml"
HEADER = (
    "# Production-readiness checklist of this project, written by workbench.\n"
    "# Commit it: reviewers read it. Edit through `workbench` (tick, waive, signoff).\n"
)
ANSWERS = ("yes", "no", "n/a")


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class StoredResult:
    status: str
    fingerprint: str
    checked_at: str
    evidence: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class ManualTick:
    answer: str
    by: str
    at: str
    note: str | None = None
    navigator: str | None = None
    confirmed_by: str | None = None
    confirmed_at: str | None = None


@dataclass
class Waiver:
    reason: str
    by: str
    at: str


@dataclass
class SignOff:
    by: str
    at: str
    decision: str  # "approve" | "request-changes"
    readiness: float
    note: str | None = None


@dataclass
class ChecklistState:
    results: dict[str, StoredResult] = field(default_factory=dict)
    ticks: dict[str, ManualTick] = field(default_factory=dict)
    waivers: dict[str, Waiver] = field(default_factory=dict)
    signoffs: list[SignOff] = field(default_factory=list)


def _compact(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in asdict(obj).items() if v not in (None, [], {})}


def _build(cls: type[Any], raw: Any, source: Path, where: str) -> Any:
    try:
        return cls(**raw)
    except TypeError as exc:
        raise WorkbenchError(
            f"{source}: `{where}` is not a valid entry ({exc}).",
            fix=f"restore {STATE_NAME} from git (`git checkout {STATE_NAME}`) or delete the entry.",
        ) from None


def load_state(root: Path) -> ChecklistState:
    source = root / STATE_NAME
    if not source.exists():
        return ChecklistState()
    data = to_plain(load_yaml(source, what="checklist state")) or {}
    state = ChecklistState()
    if not isinstance(data, dict):
        raise WorkbenchError(
            f"{source}: expected a mapping at the top level.",
            fix=f"restore it from git (`git checkout {STATE_NAME}`).",
        )
    for item_id, raw in (data.get("items") or {}).items():
        if not isinstance(raw, dict):
            continue
        if "answer" in raw:
            state.ticks[item_id] = _build(ManualTick, raw, source, f"items.{item_id}")
        else:
            state.results[item_id] = _build(StoredResult, raw, source, f"items.{item_id}")
    for item_id, raw in (data.get("waivers") or {}).items():
        state.waivers[item_id] = _build(Waiver, raw, source, f"waivers.{item_id}")
    for index, raw in enumerate(data.get("signoffs") or []):
        state.signoffs.append(_build(SignOff, raw, source, f"signoffs[{index}]"))
    return state


def save_state(root: Path, state: ChecklistState, order: list[str]) -> None:
    """Write the state atomically; items follow `order` (the definitions), then the rest."""
    rank = {item_id: i for i, item_id in enumerate(order)}
    ids = sorted(set(state.results) | set(state.ticks), key=lambda i: (rank.get(i, 10**6), i))
    items: dict[str, Any] = {}
    for item_id in ids:
        entry = state.ticks.get(item_id) or state.results[item_id]
        items[item_id] = _compact(entry)
    document: dict[str, Any] = {"items": items}
    if state.waivers:
        document["waivers"] = {
            k: _compact(state.waivers[k])
            for k in sorted(state.waivers, key=lambda i: (rank.get(i, 10**6), i))
        }
    if state.signoffs:
        document["signoffs"] = [_compact(s) for s in state.signoffs]
    write_text_atomic(root / STATE_NAME, HEADER + dump_yaml(document))
