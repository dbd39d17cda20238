"""`snapshot.model-loads` before the contract exists (the order a new user takes on their
own project: snapshot, then schema): it failed, "the examples folder does not exist",
though the model loaded. It loads the model and says it was asked nothing; a model that
does not load still fails."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished, ItemView
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps import open_checklist


def model_loads(project: Path) -> ItemView:
    checklist = open_checklist(load_manifest(project), user="Ana")
    ctx = CheckContext(checklist.manifest)
    events = list(checklist.run(["snapshot.model-loads"], ctx))
    return next(e.view for e in events if isinstance(e, ItemFinished))


def test_without_examples_the_model_is_loaded_and_asked_nothing(tmp_path: Path) -> None:
    project = copy_example("iris", tmp_path / "iris")
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text().replace("python: .venv/bin/python", f"python: {sys.executable}")
    )
    shutil.rmtree(project / "schema" / "examples")
    view = model_loads(project)
    assert view.status is Status.WARN, view.evidence
    assert "the model loaded in its own environment and was asked nothing" in view.evidence[0]

    (project / "model" / "model.joblib").write_bytes(b"not a pickle")  # does not load
    view = model_loads(project)
    assert view.status is Status.FAIL, view.evidence
