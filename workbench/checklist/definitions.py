"""Checklist definitions: what each step asks, loaded from YAML and validated.

Built-in items live in `assets/checklists/*.yaml`; a team adds its own files
(`checklist.extra` in workbench.yaml) and switches built-in items off
(`checklist.disable`). Every file is validated against
`assets/checklists/definition.schema.json`, and an error names the file, the
line and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from workbench.checklist.steps import STEP_TITLES, STEPS
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.paths import asset
from workbench.kernel.yamlio import line_of, load_yaml, to_plain

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = ["STEPS", "STEP_TITLES", "DefinitionError", "Item", "load_definitions"]


class DefinitionError(WorkbenchError):
    """A checklist definition file is not valid."""


@dataclass(frozen=True)
class Item:
    id: str
    step: str
    summary: str
    question: str
    why: str
    fix: str
    kind: Literal["auto", "manual"]
    gate: bool = False
    reference: str | None = None
    source: str = "built-in"

    @property
    def is_auto(self) -> bool:
        return self.kind == "auto"


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # imported on first use: it is slow to import

    schema = json.loads(asset("checklists", "definition.schema.json").read_text())
    return Draft202012Validator(schema)


def _node_at(document: Any, path: list[Any]) -> tuple[Any, Any]:
    """The container and key at the end of a JSON path (for the line of an error)."""
    node, key = document, None
    for part in path:
        try:
            parent, node, key = node, node[part], part
        except (KeyError, IndexError, TypeError):
            break
        else:
            document = parent
    return document, key


def _builtin_document(path: Path) -> Any:
    """A built-in definition (the workbench's own asset, tested to read the same both ways,
    tests/unit/test_definitions_fast.py): parsed by PyYAML's C loader, several times faster
    than the round-trip loader a person's file needs for its line numbers."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


def load_definition_file(path: Path, *, source: str) -> list[Item]:
    if source == "built-in":
        # The workbench's own asset, validated by tests/unit/test_definitions_fast.py (read
        # there as a person's file is): not validated again at every command's start.
        document, errors = _builtin_document(path), []
    else:
        document = load_yaml(path, what="checklist definition", error=DefinitionError)
        errors = sorted(_validator().iter_errors(to_plain(document)), key=lambda e: list(e.path))
    if errors:
        problems = []
        for error in errors[:5]:
            parent, key = _node_at(document, list(error.path))
            line = line_of(parent, key) if key is not None else None
            where = f"line {line}, " if line else ""
            field = ".".join(str(p) for p in error.path) or "(top level)"
            problems.append(f"{where}`{field}`: {error.message}")
        raise DefinitionError(
            f"{path}: the checklist definition is not valid: " + "; ".join(problems) + ".",
            fix="each item needs id, step, summary, question, why, fix and kind (auto or manual); "
            "see assets/checklists/definition.schema.json.",
        )
    items = []
    for raw in to_plain(document)["items"]:
        items.append(
            Item(
                id=raw["id"],
                step=raw["step"],
                summary=raw["summary"],
                question=raw["question"],
                why=raw["why"],
                fix=raw["fix"],
                kind=raw["kind"],
                gate=bool(raw.get("gate", False)),
                reference=raw.get("reference"),
                source=source,
            )
        )
    return items


def builtin_files() -> list[Path]:
    return [asset("checklists", f"{step}.yaml") for step in STEPS]


def load_definitions(
    extra: list[Path] | tuple[Path, ...] = (),
    disable: list[str] | tuple[str, ...] = (),
    *,
    known_checks: set[str] | None = None,
) -> list[Item]:
    """Built-in items, plus a team's files, minus disabled ids; in step order."""
    items: list[Item] = []
    for path in builtin_files():
        items.extend(load_definition_file(path, source="built-in"))
    builtin_ids = {item.id for item in items}
    for path in extra:
        for item in load_definition_file(path, source=str(path)):
            if item.kind == "auto" and known_checks is not None and item.id not in known_checks:
                raise DefinitionError(
                    f"{path}: item `{item.id}` is `kind: auto` but no check of that id exists.",
                    fix="make it `kind: manual`, or use the id of an existing auto check.",
                )
            items.append(item)
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DefinitionError(
                f"{item.source}: the checklist item id `{item.id}` is defined twice.",
                fix="give the team item its own id, or disable the built-in one.",
            )
        seen.add(item.id)
    unknown = [d for d in disable if d not in builtin_ids and d not in seen]
    if unknown:
        raise DefinitionError(
            f"workbench.yaml: `checklist.disable` names unknown items: {', '.join(unknown)}.",
            fix="use ids listed by `workbench check --json`.",
        )
    kept = [item for item in items if item.id not in set(disable)]
    return sorted(kept, key=lambda item: STEPS.index(item.step))
