"""A container removed while the engine's list is read (a swarm task on its way out, another
command's clean-up) is not an error: docker-py asks about each listed container in turn
and, unless told to ignore removed ones, fails on the one that went between the two calls.
CI saw it end a swarm fixture's teardown (`404 No such container`)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import docker.errors

from workbench.steps.serve.run import clean

ROOT = Path(__file__).resolve().parents[2]


class _Container:
    def __init__(self, name: str) -> None:
        self.name = name
        self.removed = False

    def remove(self, force: bool = False) -> None:
        self.removed = True


class _Vanishing:
    """Lists two containers; the second is gone by the time docker-py asks about it, as
    docker-py's own `containers.list` does (it raises unless `ignore_removed`)."""

    def __init__(self) -> None:
        self.containers = self
        self.here = _Container("workbench-iris-a")

    def list(self, all: bool = False, filters: Any = None, ignore_removed: bool = False) -> list:
        if not ignore_removed:
            raise docker.errors.NotFound("No such container: 9f1f91f9c5ee")
        return [self.here]


def test_clean_counts_what_is_there_when_a_container_goes_while_listed() -> None:
    engine = _Vanishing()
    cleaned = clean(engine, "0123abcd")
    assert cleaned.removed == ["workbench-iris-a"]
    assert engine.here.removed
    assert clean(engine, None).removed == ["workbench-iris-a"]


def test_every_listing_of_containers_ignores_the_ones_removed_meanwhile() -> None:
    unguarded = []
    for folder in ("workbench", "commands", "screens", "tests", "assets"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                owner = node.func.value
                listing = node.func.attr == "list" and isinstance(owner, ast.Attribute)
                guarded = any(k.arg == "ignore_removed" for k in node.keywords)
                if listing and owner.attr == "containers" and not guarded:  # type: ignore[union-attr]
                    unguarded.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unguarded == []
