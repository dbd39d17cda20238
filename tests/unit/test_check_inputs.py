"""An automated item's inputs name everything its check reads: a result stays fresh only
while what it read is as it was (the audit found checks that read more than they said)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from workbench.checklist.checks import CheckContext
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps.snapshot import checks as snapshot_checks


def test_snapshot_hashed_goes_stale_when_its_wheel_cache_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It hashes every cached wheel; its inputs were the snapshot and lock alone, so a
    cleared cache left it green ("each with a sha256 and its wheel cached")."""
    project = copy_example("iris", tmp_path / "iris")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "numpy-2.0-py3-none-any.whl").write_bytes(b"wheel")
    target = SimpleNamespace(python="3.11", machine="x86_64")
    monkeypatch.setattr(
        snapshot_checks, "read_snapshot", lambda root: SimpleNamespace(target=target)
    )
    monkeypatch.setattr(snapshot_checks, "wheel_dir", lambda target: wheels)
    ctx = CheckContext(load_manifest(project))
    before = snapshot_checks._hashed_inputs(ctx)
    assert snapshot_checks._hashed_inputs(ctx) == before
    (wheels / "numpy-2.0-py3-none-any.whl").unlink()
    assert snapshot_checks._hashed_inputs(ctx) != before
