"""snapshot.exclude (issue #29): a package left out of the image that the model really
imports fails the serve test by name, the fix saying snapshot.exclude left it out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.functional.test_serve import faulty_project, run_items
from workbench.checklist.checks import Status
from workbench.project.lockfile import read_snapshot
from workbench.project.manifest import load_manifest
from workbench.steps.snapshot.take import run_snapshot

pytestmark = [pytest.mark.docker, pytest.mark.slow]

IMPORTS_CERTIFI = """\
class Model:
    def load(self, artifacts_dir):
        import certifi  # a package of the environment, left out by snapshot.exclude

        self.where = certifi.where()

    def predict(self, record):
        return {"y": 2.0 * record["x"]}
"""


def test_an_excluded_package_the_model_imports_fails_the_serve_test_by_name(
    tmp_path: Path, base_image: str
) -> None:
    project = faulty_project(tmp_path / "doubler")
    (project / "predictor.py").write_text(IMPORTS_CERTIFI)
    manifest = project / "workbench.yaml"
    manifest.write_text(manifest.read_text() + "snapshot:\n  exclude: [certifi]\n")
    run_snapshot(load_manifest(project), lambda event: None)
    snapshot = read_snapshot(project)
    assert "certifi" not in snapshot.runtime
    assert snapshot.excluded["certifi"][-1] == "left out by snapshot.exclude in workbench.yaml"
    assert "imported by the model at run time (certifi)" in snapshot.excluded["certifi"]

    checklist, statuses = run_items(project, ["serve.image-built", "serve.examples-parity"])
    assert statuses["serve.image-built"] is Status.PASS
    assert statuses["serve.examples-parity"] is Status.FAIL
    evidence = " ".join(checklist.view("serve.examples-parity").evidence)
    assert "No module named 'certifi'" in evidence
    assert "`certifi` is left out of the image by snapshot.exclude" in evidence
