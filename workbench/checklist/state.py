"""`checklist.yaml`: every result, tick, waiver and sign-off of a project.

Committed beside the code so a reviewer sees it; written atomically in a
stable order (items in definition order, keys in a fixed order) so diffs stay
small and a crash mid-write never corrupts it. One typed declaration per entry
(msgspec, as the other records of `workbench.project.records`), used to read
and to write.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

import msgspec

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import dump_own_yaml, parse_own_yaml, read_own_text

STATE_NAME = "checklist.yaml"
HEADER = (
    "# Production-readiness checklist of this project, written by workbench.\n"
    "# Commit it: reviewers read it. Edit through `workbench` (tick, waive, signoff).\n"
)
ANSWERS = ("yes", "no", "n/a")


class _Entry(msgspec.Struct, kw_only=True, omit_defaults=True):
    pass


class StoredResult(_Entry):
    status: str
    fingerprint: str
    checked_at: str
    evidence: list[str] = []
    details: dict[str, Any] = {}
    unverified: bool = False  # skipped, not tried here: a gate so skipped blocks (unwaived)
    inputs: dict[str, str] = {}  # input name -> short digest, what the verdict was made on


class ManualTick(_Entry):
    answer: str
    by: str
    at: str
    note: str | None = None
    navigator: str | None = None
    confirmed_by: str | None = None
    confirmed_at: str | None = None
    # What the question was about when answered (the runtime set's packages): once that
    # changes, the answer is about something else and is asked again.
    about: list[str] | None = None


class Waiver(_Entry):
    reason: str
    by: str
    at: str


Decision = Literal["approve", "request-changes"]


class SignOff(_Entry):
    by: str
    at: str
    decision: Decision
    readiness: float
    note: str | None = None
    release: str | None = None  # the version approved
    revision: str | None = None  # its git revision
    checklist_sha256: str | None = None  # the hash of its frozen checklist
    despite: str | None = None  # why approved while a gate blocked or an item was stale


class ChecklistState(msgspec.Struct):
    results: dict[str, StoredResult] = {}
    ticks: dict[str, ManualTick] = {}
    waivers: dict[str, Waiver] = {}
    signoffs: list[SignOff] = []


def _build(kind: type[Any], raw: Any, source: Path, where: str) -> Any:
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise WorkbenchError(
            f"{source}: `{where}` is not a valid entry ({exc}).",
            fix=f"restore {STATE_NAME} from git (`git checkout {STATE_NAME}`) or delete the entry.",
        ) from None


# What this process last wrote to each checklist.yaml: its text and its data (as JSON). A
# command records each item's result as it comes (load the file under the lock, change it,
# save it: 15 to 20 times in a serve test), and the next load reads what it just wrote:
# the same text gives the same data, taken from here instead of parsing ~30 KB of YAML again.
# Any other text (another command's write, a hand edit) is parsed.
_WRITTEN: dict[Path, tuple[str, bytes]] = {}
WRITTEN_KEPT = 8
_WRITTEN_LOCK = threading.Lock()  # the TUI saves from its workers' threads


def _read_state_data(source: Path, root: Path) -> Any:
    text = read_own_text(source, what="checklist state", within=root)
    written = _WRITTEN.get(source)
    if written is not None and written[0] == text:
        return msgspec.json.decode(written[1])  # fresh objects: callers may change them
    return parse_own_yaml(text, source, what="checklist state")


def load_state(root: Path) -> ChecklistState:
    source = root / STATE_NAME
    if not source.exists():
        return ChecklistState()
    data = _read_state_data(source, root) or {}
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


def state_document(state: ChecklistState, order: list[str]) -> dict[str, Any]:
    """The state as plain data; items follow `order` (the definitions), then the rest."""
    rank = {item_id: i for i, item_id in enumerate(order)}
    ids = sorted(set(state.results) | set(state.ticks), key=lambda i: (rank.get(i, 10**6), i))
    items: dict[str, Any] = {}
    for item_id in ids:
        entry = state.ticks.get(item_id) or state.results[item_id]
        items[item_id] = msgspec.to_builtins(entry)
    document: dict[str, Any] = {"items": items}
    if state.waivers:
        document["waivers"] = {
            k: msgspec.to_builtins(state.waivers[k])
            for k in sorted(state.waivers, key=lambda i: (rank.get(i, 10**6), i))
        }
    if state.signoffs:
        document["signoffs"] = [msgspec.to_builtins(s) for s in state.signoffs]
    return document


def save_state(root: Path, state: ChecklistState, order: list[str]) -> None:
    """Write the state atomically, in a stable order."""
    document = state_document(state, order)
    text = HEADER + dump_own_yaml(document)
    write_text_atomic(root / STATE_NAME, text, within=root, what="the checklist state")
    encoded = msgspec.json.encode(document)
    plain = msgspec.json.decode(encoded) == document  # JSON data (it always is, checked)
    with _WRITTEN_LOCK:
        _WRITTEN.pop(root / STATE_NAME, None)
        if plain:
            _WRITTEN[root / STATE_NAME] = (text, encoded)
        while len(_WRITTEN) > WRITTEN_KEPT:  # the projects written last (a process's tests)
            del _WRITTEN[next(iter(_WRITTEN))]
