"""`workbench snapshot` runs the Snapshot step's checks right after taking it: they read
the environment and the model's answers the snapshot has just read, instead of starting
the model's interpreter twice more for the same (about 1.5 s each, on every snapshot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.checklist.checks import CheckContext
from workbench.kernel.hashing import fingerprint
from workbench.project.env_stamp import env_stamp
from workbench.project.manifest import load_manifest
from workbench.project.model_env import InProcessAnswers
from workbench.project.scaffold import copy_example
from workbench.steps import shared
from workbench.steps.shared import model_inputs
from workbench.steps.snapshot import checks as snapshot_checks
from workbench.steps.snapshot.take import SnapshotResult


def taken(tmp_path: Path, **read: Any) -> SnapshotResult:
    """A snapshot's result as the checks after it see it: what it read, nothing else."""
    return SnapshotResult(
        lock_path=tmp_path / "environment.lock",
        snapshot_path=tmp_path / "snapshot.yaml",
        runtime={},
        serving=[],
        unresolved={},
        inconsistent=[],
        warnings=[],
        freeze_count=0,
        **read,
    )


def test_the_checks_after_a_snapshot_read_what_it_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = load_manifest(copy_example("iris", tmp_path / "iris"))
    answers = InProcessAnswers(answers=[{"prediction": "setosa"}], modules=[], warnings=[])
    env = {"python": {"version": "3.11.7"}, "dists": []}
    result = taken(
        tmp_path,
        env=env,
        answers=(["one.json"], answers),
        env_stamp=env_stamp(manifest.interpreter()),
        model_stamp=fingerprint(model_inputs(CheckContext(manifest))),
    )

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model's interpreter was started again")

    monkeypatch.setattr(shared, "predict_in_model_env", started)
    monkeypatch.setattr(snapshot_checks, "probe_environment", started)
    ctx = result.seeded(CheckContext(manifest))
    assert shared.model_answers(ctx) == (["one.json"], answers)
    assert snapshot_checks.environment(ctx) is env
    # Without examples the snapshot asked the model nothing: the check asks (and says why).
    bare = SnapshotResult(**{**result.__dict__, "answers": None}).seeded(CheckContext(manifest))
    with pytest.raises(AssertionError, match="started again"):
        shared.model_answers(bare)
    # The model's files changed while the snapshot fetched wheels: its answers are asked
    # again, not those of the files before (a reviewer's read).
    (manifest.root / "model" / "model.joblib").write_bytes(b"retrained")
    with pytest.raises(AssertionError, match="started again"):
        shared.model_answers(result.seeded(CheckContext(manifest)))


def test_an_environment_changed_during_the_snapshot_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `pip install` while the snapshot fetched wheels: what it read at the start is no
    longer the environment, and a verdict on it would be stamped with inputs it never read
    (a reviewer's read). The checks read the environment again."""
    manifest = load_manifest(copy_example("iris", tmp_path / "iris"))
    env = {"python": {"version": "3.11.7"}, "dists": []}
    result = taken(
        tmp_path,
        env=env,
        answers=None,
        env_stamp="the stamp when the snapshot began",
    )
    probed: list[object] = []
    monkeypatch.setattr(snapshot_checks, "probe_environment", lambda *a: probed.append(a) or {})
    ctx = result.seeded(CheckContext(manifest))
    assert snapshot_checks.environment(ctx) == {} and len(probed) == 1  # read again
