"""Editing schema files the way a person would: comments, key order and layout kept.

Every edit loads the file round-trip (ruamel.yaml), changes only the nodes it
must, and writes it back atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import load_yaml, write_yaml_atomic


def edit_schema(path: Path, edit: Callable[[CommentedMap], None], *, within: Path) -> None:
    """Load, edit and write back the schema at `path`, which must stay in the project at
    `within` (a committed symlink does not send the write elsewhere)."""
    document = load_yaml(path, what="schema", within=within)
    if not isinstance(document, CommentedMap):
        raise WorkbenchError(
            f"{path}: the schema is not a mapping.",
            fix="start it with `type: object` and `properties:`.",
        )
    edit(document)
    write_yaml_atomic(path, document, within=within)


def _properties(document: CommentedMap) -> CommentedMap:
    if "properties" not in document or document["properties"] is None:
        document["properties"] = CommentedMap()
    properties = document["properties"]
    assert isinstance(properties, CommentedMap)
    return properties


def set_field(
    document: CommentedMap, name: str, updates: dict[str, Any], required: bool | None = None
) -> None:
    """Add the field, or change the given keys of it (others, and comments, stay)."""
    properties = _properties(document)
    field = properties.get(name)
    if field is None:
        field = properties[name] = CommentedMap()
    for key, value in updates.items():
        if value is None:
            field.pop(key, None)
        else:
            field[key] = value
    if required is not None:
        names = document.get("required")
        if names is None:
            names = document["required"] = CommentedSeq()
            names.fa.set_flow_style()
        if required and name not in names:
            names.append(name)
        elif not required and name in names:
            names.remove(name)


def remove_field(document: CommentedMap, name: str) -> None:
    properties = _properties(document)
    if name not in properties:
        raise WorkbenchError(f"there is no field `{name}` in the schema.")
    del properties[name]
    names = document.get("required")
    if names is not None and name in names:
        names.remove(name)


def find_field(document: Any, dotted: str, root: Any = None) -> CommentedMap | None:
    """A field by the name the checks give it: `age`, a nested `probabilities.0`, an array's
    items `scores[].value`, through a local `$ref` (into `$defs`) and `anyOf`/`oneOf`
    branches as `walk_fields` goes (a name holding a dot is found whole first)."""
    root = document if root is None else root
    for node in _same_node(document, root):
        properties = node.get("properties")
        if not isinstance(properties, dict):
            continue
        if isinstance(properties.get(dotted), dict):
            return properties[dotted]
        for name, sub in properties.items():
            for step in (f"{name}.", f"{name}[]."):
                if dotted.startswith(step) and isinstance(sub, dict):
                    inner = sub.get("items") if step.endswith("[].") else sub
                    found = find_field(inner, dotted[len(step) :], root)
                    if found is not None:
                        return found
    return None


def _same_node(node: Any, root: Any, depth: int = 0) -> list[Any]:
    """The node and what describes the same value: its `$ref` target, its branches."""
    if not isinstance(node, dict) or depth > 8:
        return []
    out = [node]
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        out += _same_node((root.get("$defs") or {}).get(ref[len("#/$defs/") :]), root, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key) or []:
            out += _same_node(branch, root, depth + 1)
    return out
