"""The python flavor's contract, kept the same locally and in the image: `load(dir)` gets the
model folder the image holds (artifact, predictor module, model.code), with the working
folder above it, so a predictor that reads a file the image will not hold fails here,
naming the file and the fix; and the model's failures name their cause in the user's terms."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.model_env import predict_in_model_env

READS_VOCAB = """
from pathlib import Path

class Model:
    def load(self, folder):
        self.words = (Path(folder) / "vocab.txt").read_text().split()

    def predict(self, record):
        return {"known": record["word"] in self.words}
"""


def project(root: Path, predictor: str, *, code: str = "", artifact: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "predict.py").write_text(textwrap.dedent(predictor))
    (root / "schema").mkdir()
    (root / "schema" / "request.yaml").write_text(
        "type: object\nproperties:\n  word: {type: string}\n"
    )
    (root / "workbench.yaml").write_text(
        f"name: words\npython: {sys.executable}\nmodel:\n  flavor: python\n"
        f"  predictor: predict:Model\n{code}{artifact}"
    )
    return root


def test_a_file_the_image_would_not_hold_fails_locally_naming_it_and_the_fix(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "p", READS_VOCAB)
    (root / "vocab.txt").write_text("spam eggs")
    with pytest.raises(WorkbenchError) as caught:
        predict_in_model_env(load_manifest(root), [{"word": "spam"}])
    message = f"{caught.value} {caught.value.fix}"
    assert "`vocab.txt`" in message and "model.code" in message
    assert "predict.py:6" in message  # where the predictor read it, in the project's terms
    assert "model-view" not in message  # never the staged copy's path

    # Listed in model.code, it is shipped, and the same load passes locally.
    (root / "workbench.yaml").write_text(
        (root / "workbench.yaml").read_text() + "  code: [vocab.txt]\n"
    )
    answers = predict_in_model_env(load_manifest(root), [{"word": "spam"}])
    assert answers.answers == [{"known": True}]


def test_load_gets_the_artifacts_folder_holding_only_what_is_shipped(tmp_path: Path) -> None:
    predictor = """
    from pathlib import Path

    class Model:
        def load(self, folder):
            self.folder = folder
            self.second = (Path(folder) / "second.pkl").read_bytes()

        def predict(self, record):
            return {"known": True}
    """
    root = project(tmp_path / "p", predictor, artifact="  artifact: models/first.pkl\n")
    (root / "models").mkdir()
    (root / "models" / "first.pkl").write_bytes(b"1")
    (root / "models" / "second.pkl").write_bytes(b"2")
    with pytest.raises(WorkbenchError) as caught:
        predict_in_model_env(load_manifest(root), [{"word": "x"}])
    assert "`models/second.pkl`" in str(caught.value)
    assert "models/second.pkl" in str(caught.value.fix)

    (root / "workbench.yaml").write_text(
        (root / "workbench.yaml").read_text() + "  code: [models/second.pkl]\n"
    )
    assert predict_in_model_env(load_manifest(root), [{"word": "x"}]).answers == [{"known": True}]


def test_a_path_relative_to_the_working_folder_is_named(tmp_path: Path) -> None:
    predictor = """
    class Model:
        def load(self, folder):
            self.words = open("data/vocab.txt").read().split()

        def predict(self, record):
            return {"known": True}
    """
    root = project(tmp_path / "p", predictor, code="  code: [data]\n")
    (root / "data").mkdir()
    (root / "data" / "vocab.txt").write_text("spam")
    with pytest.raises(WorkbenchError) as caught:
        predict_in_model_env(load_manifest(root), [{"word": "x"}])
    assert "`data/vocab.txt`" in str(caught.value)
    assert "working folder" in str(caught.value)
    assert "folder load() receives" in str(caught.value.fix)


def test_a_predictor_returning_a_non_dict_is_named_not_the_workbench(tmp_path: Path) -> None:
    predictor = """
    class Model:
        def predict(self, record):
            return [1]
    """
    root = project(tmp_path / "p", predictor)
    with pytest.raises(WorkbenchError) as caught:
        predict_in_model_env(load_manifest(root), [{"word": "x"}])
    assert "Model.predict() in predict.py (model.predictor) returned list" in str(caught.value)
    assert "flavors.py" not in str(caught.value)
    assert "return a dict" in str(caught.value.fix)


def test_a_project_module_the_image_would_not_hold_is_named(tmp_path: Path) -> None:
    predictor = """
    import helpers

    class Model:
        def predict(self, record):
            return {"known": helpers.known(record["word"])}
    """
    root = project(tmp_path / "p", predictor)
    (root / "helpers.py").write_text("def known(word):\n    return True\n")
    with pytest.raises(WorkbenchError) as caught:
        predict_in_model_env(load_manifest(root), [{"word": "x"}])
    assert "`helpers.py` is in the project but not in the model folder" in str(caught.value)
    assert "model.code" in str(caught.value.fix)


def test_a_file_missing_from_the_image_is_said_so_by_the_serve_test() -> None:
    from workbench.steps.serve.hints import load_hint

    said = "FileNotFoundError: [Errno 2] No such file or directory: '/app/model/vocab.txt'"
    assert "list the file in model.code" in load_hint(said)
    assert "own environment first" not in load_hint(said)


def test_a_stale_pickle_is_said_to_come_from_an_older_scikit_learn(tmp_path: Path) -> None:
    import pickle
    import warnings

    import sklearn
    from sklearn.tree import DecisionTreeClassifier

    from workbench.project.model_failures import model_failure

    saved = pickle.dumps(DecisionTreeClassifier().fit([[0], [1]], [0, 1]))
    older = "0" * len(sklearn.__version__.split(".")[0]) + sklearn.__version__[1:]
    stale = saved.replace(sklearn.__version__.encode(), older.encode())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pickle.loads(stale)
    said = [f"{w.category.__name__}: {w.message}" for w in caught]
    root = project(tmp_path / "p", READS_VOCAB)
    error = model_failure(
        load_manifest(root),
        tmp_path / "staged",
        Path("/env/bin/python"),
        {
            "error": "ValueError: node array from the pickle has an incompatible dtype",
            "stage": "load",
            "where": "x.py:1",
            "warnings": said,
        },
    )
    assert (
        f"pickled by scikit-learn {older} and this environment has scikit-learn "
        f"{sklearn.__version__}" in str(error)
    )
    assert "pip install scikit-learn==" in str(error.fix)


def test_a_renamed_field_is_named_not_blamed_on_the_model(tmp_path: Path) -> None:
    import joblib
    import pandas
    from sklearn.linear_model import LogisticRegression

    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    frame = pandas.DataFrame({"age": [20.0, 60.0, 30.0, 70.0], "income": [1.0, 2.0, 1.0, 3.0]})
    joblib.dump(LogisticRegression().fit(frame, [0, 1, 0, 1]), root / "models" / "m.joblib")
    (root / "schema").mkdir()
    (root / "schema" / "request.yaml").write_text(
        "type: object\nproperties:\n  years: {type: number}\n  income: {type: number}\n"
    )
    (root / "workbench.yaml").write_text(
        f"name: renamed\npython: {sys.executable}\nmodel:\n  flavor: sklearn\n"
        "  artifact: models/m.joblib\n"
    )
    with pytest.raises(WorkbenchError) as caught:
        predict_in_model_env(load_manifest(root), [{"years": 30.0, "income": 1.0}])
    said = str(caught.value)
    assert "trained on the feature(s) `age`, which the request schema" in said
    assert "it has `years`, which the model does not know" in said
    assert "name the field in the request schema as the model knows it" in str(caught.value.fix)


def test_a_stale_pickle_in_the_image_is_said_so_with_both_versions() -> None:
    from workbench.steps.serve.hints import load_hint

    log = (
        "InconsistentVersionWarning: Trying to unpickle estimator LogisticRegression from "
        "version 1.3.2 when using version 1.5.1. This might lead to breaking code or invalid "
        "results. ValueError: node array from the pickle has an incompatible dtype"
    )
    said = load_hint(log)
    assert "pickled by scikit-learn 1.3.2 and this environment has scikit-learn 1.5.1" in said
    assert "pip install scikit-learn==" in said


def test_a_pickles_own_class_shipped_in_model_code_imports_locally_and_in_the_image(
    tmp_path: Path,
) -> None:
    """A pipeline with a transformer of the project's own module: listed in model.code, it
    is in the model folder, which is importable for the sklearn flavor too (as in the image,
    /app/model); not listed, the error names the module and model.code."""
    import subprocess

    root = tmp_path / "p"
    (root / "models").mkdir(parents=True)
    (root / "features.py").write_text(
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
    subprocess.run([sys.executable, "-c", train], cwd=root, check=True)
    (root / "schema").mkdir()
    (root / "schema" / "request.yaml").write_text(
        "type: object\nproperties:\n  x: {type: number}\n"
    )
    (root / "workbench.yaml").write_text(
        f"name: doubled\npython: {sys.executable}\nmodel:\n  flavor: sklearn\n"
        "  artifact: models/m.joblib\n"
    )
    with pytest.raises(WorkbenchError) as caught:
        predict_in_model_env(load_manifest(root), [{"x": 2.0}])
    assert "`features.py` is in the project but not in the model folder" in str(caught.value)

    (root / "workbench.yaml").write_text(
        (root / "workbench.yaml").read_text() + "  code: [features.py]\n"
    )
    answer = predict_in_model_env(load_manifest(root), [{"x": 2.0}]).answers[0]
    assert answer["prediction"] == pytest.approx(4.0)


def test_a_staged_folder_a_killed_run_left_is_swept_and_a_recent_one_kept(
    tmp_path: Path,
) -> None:
    import os

    from workbench.project.model_files import STALE_SECONDS, staged_model

    root = project(tmp_path / "p", READS_VOCAB)
    scratch = root / ".workbench" / "model-view"
    (scratch / "app-killed" / "model").mkdir(parents=True)
    (scratch / "app-running" / "model").mkdir(parents=True)
    long_ago = (scratch / "app-killed").stat().st_mtime - STALE_SECONDS - 60
    os.utime(scratch / "app-killed", (long_ago, long_ago))
    with staged_model(load_manifest(root)) as app:
        assert (app / "model" / "predict.py").read_text() == (root / "predict.py").read_text()
    assert not (scratch / "app-killed").exists()
    assert (scratch / "app-running").exists()
    assert not app.exists()


def test_a_request_schema_whose_properties_are_a_list_is_named_not_a_traceback(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "p", READS_VOCAB, code="  code: [vocab.txt]\n")
    (root / "vocab.txt").write_text("spam")
    (root / "schema" / "request.yaml").write_text("type: object\nproperties: [word]\n")
    with pytest.raises(WorkbenchError) as caught:
        predict_in_model_env(load_manifest(root), [{"word": "spam"}])
    assert "request.yaml: `properties` is a list, not a mapping" in str(caught.value)
