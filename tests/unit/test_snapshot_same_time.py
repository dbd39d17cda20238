"""A snapshot that finds what the last one recorded keeps its time: snapshot.yaml is the
same bytes, so nothing reading it goes stale (a new `taken_at` alone made nine items
stale and "Next" offer a release of nothing: a new user's trial)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tests.helpers import write_runtime_set
from workbench.kernel.hashing import file_digest
from workbench.project.lockfile import (
    SNAPSHOT_NAME,
    keep_time_if_same,
    read_snapshot,
    write_snapshot,
)
from workbench.project.records import RuntimeEntry
from workbench.project.scaffold import copy_example


def test_the_same_environment_keeps_the_file_and_another_does_not(tmp_path: Path) -> None:
    project = copy_example("iris", tmp_path / "iris")
    write_runtime_set(project, {"numpy": RuntimeEntry(version="2.1.0", why=["imported"])})
    before = file_digest(project / SNAPSHOT_NAME)
    taken = read_snapshot(project)
    again = msgspec.structs.replace(taken, taken_at="2030-01-01T00:00:00Z")
    assert keep_time_if_same(project, again)
    write_snapshot(project, again)
    assert file_digest(project / SNAPSHOT_NAME) == before  # the same bytes

    other = msgspec.structs.replace(taken, taken_at="2030-01-01T00:00:00Z")
    other.runtime = {"numpy": RuntimeEntry(version="2.2.0", why=["imported"])}
    assert not keep_time_if_same(project, other)
    assert other.taken_at == "2030-01-01T00:00:00Z"  # a change is a new snapshot
