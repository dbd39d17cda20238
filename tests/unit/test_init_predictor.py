"""`workbench init` finds a predictor class at the project's root (a module with a class
having load and predict) and writes the python flavor with the files its code names and
the modules it imports; the local model folder then holds what it reads."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from workbench.project.manifest import load_manifest
from workbench.project.model_env import predict_in_model_env
from workbench.project.scaffold import guess, init_project

PREDICTOR = """
import pickle
from pathlib import Path

from helpers import clean


class ChurnModel:
    def load(self, folder):
        self.weights = pickle.loads((Path(folder) / "weights.pkl").read_bytes())
        self.words = pickle.loads((Path(folder) / "vocabulary.pkl").read_bytes())

    def predict(self, record):
        word = clean(record["word"])
        return {"score": self.weights.get(word, 0.0), "known": word in self.words}
"""

TRAIN = """
class Trainer:  # a training script: no load, so never taken for the predictor
    def predict(self, record):
        return record
"""


def two_pickle_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "vocabulary.pkl").write_bytes(pickle.dumps({"spam", "eggs"}))
    (root / "models" / "weights.pkl").write_bytes(pickle.dumps({"spam": 0.9}))
    (root / "data").mkdir()
    (root / "data" / "X_test.pkl").write_bytes(pickle.dumps([{"word": "spam"}]))
    (root / "predict.py").write_text(PREDICTOR)
    (root / "train.py").write_text(TRAIN)
    (root / "helpers.py").write_text("def clean(word):\n    return word.strip().lower()\n")
    (root / "broken.py").write_bytes(b"def \xff(:\n")  # neither Python nor UTF-8: skipped
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    return root


def test_a_predictor_class_with_two_pickles_is_found_and_its_model_folder_answers(
    tmp_path: Path,
) -> None:
    root = two_pickle_project(tmp_path / "churn")
    _, g = init_project(root)
    assert (g.flavor, g.predictor) == ("python", "predict:ChurnModel")
    # The first file its code names is the artifact; the other and its module are code.
    assert g.artifact == "models/weights.pkl"
    assert g.code == ("models/vocabulary.pkl", "helpers.py")
    assert "data/X_test.pkl" not in g.code  # named nowhere in its code
    manifest = load_manifest(root)
    assert (manifest.model.flavor, manifest.model.predictor) == ("python", "predict:ChurnModel")
    answers = predict_in_model_env(manifest, [{"word": " SPAM "}, {"word": "ham"}])
    assert answers.answers == [{"score": 0.9, "known": True}, {"score": 0.0, "known": False}]


def test_without_a_predictor_class_the_pickle_is_guessed_as_before(tmp_path: Path) -> None:
    root = two_pickle_project(tmp_path / "churn")
    (root / "predict.py").write_text(PREDICTOR.replace("def load(", "def setup("))
    g = guess(root)
    assert g.predictor is None and g.flavor != "python"
    assert g.code == ()
