"""The python flavor's contract in the image (issue #29): `load(dir)` gets the artifact's
folder holding the artifact and what model.code ships, the model folder's modules import,
exactly as in the local checks (tests/unit/test_model_folder.py shows the local half failing
on a file the image would not hold)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.functional.test_serve import faulty_project, run_items
from workbench.checklist.checks import Status
from workbench.project.manifest import load_manifest
from workbench.project.model_env import predict_in_model_env
from workbench.steps.snapshot.take import run_snapshot

pytestmark = [pytest.mark.docker, pytest.mark.slow]

READS_TWO_FILES = """\
from pathlib import Path

import scaling


class Model:
    def load(self, folder):
        self.factor = float((Path(folder) / "factor.txt").read_text())
        self.offset = float((Path(folder) / "offset.txt").read_text())

    def predict(self, record):
        return {"y": scaling.scale(record["x"], self.factor) + self.offset}
"""


def test_load_gets_the_same_folder_in_the_image_as_in_the_local_checks(
    tmp_path: Path, base_image: str
) -> None:
    project = faulty_project(tmp_path / "doubler")
    (project / "predictor.py").write_text(READS_TWO_FILES)
    (project / "scaling.py").write_text("def scale(x, factor):\n    return x * factor\n")
    (project / "models").mkdir()
    (project / "models" / "factor.txt").write_text("2")
    (project / "models" / "offset.txt").write_text("0.5")
    manifest = project / "workbench.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "  predictor: predictor:Model\n",
            "  predictor: predictor:Model\n  artifact: models/factor.txt\n"
            "  code: [models/offset.txt, scaling.py]\n",
        )
    )
    assert predict_in_model_env(load_manifest(project), [{"x": 2}]).answers == [{"y": 4.5}]
    run_snapshot(load_manifest(project), lambda event: None)
    checklist, statuses = run_items(project, ["serve.image-built", "serve.examples-parity"])
    assert statuses == {"serve.image-built": Status.PASS, "serve.examples-parity": Status.PASS}, (
        checklist.view("serve.examples-parity").evidence
    )


def test_a_pickles_own_class_in_model_code_loads_in_the_image(
    tmp_path: Path, base_image: str
) -> None:
    """The sklearn flavor's model folder is importable in the image as locally: a pipeline
    with the project's own transformer (features.py in model.code) answers alike."""
    import subprocess
    import sys

    project = faulty_project(tmp_path / "doubler")
    (project / "models").mkdir()
    (project / "features.py").write_text(
        "from sklearn.base import BaseEstimator, TransformerMixin\n\n"
        "class Doubled(BaseEstimator, TransformerMixin):\n"
        "    def fit(self, X, y=None):\n        return self\n\n"
        "    def transform(self, X):\n        return X * 2\n"
    )
    train = (
        "import joblib, numpy\nfrom sklearn.pipeline import make_pipeline\n"
        "from sklearn.linear_model import LinearRegression\nfrom features import Doubled\n"
        "X = numpy.array([[1.0], [2.0], [3.0]])\n"
        "joblib.dump(make_pipeline(Doubled(), LinearRegression()).fit(X, [2, 4, 6]), "
        "'models/m.joblib')\n"
    )
    subprocess.run([sys.executable, "-c", train], cwd=project, check=True)
    (project / "schema" / "response.yaml").write_text(
        "type: object\nrequired: [prediction]\nproperties:\n  prediction: {type: number}\n"
    )
    (project / "workbench.yaml").write_text(
        f"name: doubled\npython: {sys.executable}\nmodel:\n  flavor: sklearn\n"
        "  artifact: models/m.joblib\n  code: [features.py]\nserve:\n  memory_limit: 512m\n"
    )
    (project / "predictor.py").unlink()
    run_snapshot(load_manifest(project), lambda event: None)
    checklist, statuses = run_items(project, ["serve.image-built", "serve.examples-parity"])
    assert statuses == {"serve.image-built": Status.PASS, "serve.examples-parity": Status.PASS}, (
        checklist.view("serve.examples-parity").evidence
    )
