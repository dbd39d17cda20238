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


def test_the_model_checks_go_stale_when_the_predictor_module_changes(tmp_path: Path) -> None:
    """A python-flavor predictor's module (no `code:`) was not among the model checks'
    inputs: snapshot.model-loads and schema.responses-valid stayed green after it broke."""
    from workbench.steps.shared import model_inputs

    project = copy_example("iris", tmp_path / "iris")
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text().replace(
            "  flavor: sklearn\n", "  flavor: python\n  predictor: predict:Model\n", 1
        )
    )
    (project / "predict.py").write_text("class Model:\n    pass\n")
    ctx = CheckContext(load_manifest(project))
    before = model_inputs(ctx)
    assert before["predictor"].startswith("sha256:")
    (project / "predict.py").write_text("class Model:\n    broken = 1 / 0\n")
    assert model_inputs(ctx) != before
