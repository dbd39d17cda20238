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


def test_responses_valid_fails_on_no_examples_never_valid_answers_to_zero(
    tmp_path: Path,
) -> None:
    from workbench.steps.schema.checks import responses_valid

    project = copy_example("iris", tmp_path / "iris")
    for example in (project / "schema" / "examples").iterdir():
        example.unlink()
    result = responses_valid(CheckContext(load_manifest(project)))
    assert result.status == "fail"
    assert result.evidence == [
        "no example requests in schema/examples, so no answer could be checked"
    ]


def test_drift_against_a_release_whose_lock_cannot_be_read_is_not_a_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It passed with "release 1.0.0 (no lock at its tag), so no drift to show": nothing was
    compared. Now a warning that says the drift is not known (the first release: a pass)."""
    project = copy_example("iris", tmp_path / "iris")
    (project / "environment.lock").write_text(
        "numpy==2.1.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
    )
    ctx = CheckContext(load_manifest(project))
    monkeypatch.setattr(
        snapshot_checks, "baseline_lock", lambda m: ("release 1.0.0 (no lock at its tag)", None)
    )
    result = snapshot_checks.drift(ctx)
    assert result.status == "warn"
    assert "the drift since it is not known" in result.evidence[0]
    monkeypatch.setattr(
        snapshot_checks, "baseline_lock", lambda m: ("no release before this lock", None)
    )
    assert snapshot_checks.drift(ctx).status == "pass"
