"""What `workbench init` says of the model file it guessed. The only candidate, when it does
not load, was shown as taken and as "passed over" in the same breath, and the flavor in
brackets (`[sklearn]`) vanished as console markup."""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner


def init(folder: Path) -> str:
    from commands.main import app

    (folder / ".venv" / "bin").mkdir(parents=True)
    python = folder / ".venv" / "bin" / "python"  # this environment, by its own path
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    done = CliRunner().invoke(app, ["init", str(folder)], env={"COLUMNS": "250"})
    assert done.exit_code == 0, done.output
    return " ".join(done.output.split())


def test_the_only_candidate_that_does_not_load_is_taken_with_a_warning_not_passed_over(
    tmp_path: Path,
) -> None:
    (tmp_path / "model.pkl").write_bytes(b"not a pickle at all")
    said = init(tmp_path)
    assert "model model.pkl [sklearn]" in said, said
    assert "passed over model.pkl" not in said, said
    assert "model.pkl does not load in .venv/bin/python: UnpicklingError" in said, said
    assert "Fix:" in said


def test_a_data_pickle_beside_the_model_is_still_passed_over(tmp_path: Path) -> None:
    import joblib
    from sklearn.linear_model import LinearRegression

    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), tmp_path / "model.joblib")
    joblib.dump({"rows": [1, 2]}, tmp_path / "X_test.pkl")
    said = init(tmp_path)
    assert "model model.joblib [sklearn]" in said, said
    assert "passed over X_test.pkl: not a model: a dict" in said, said
