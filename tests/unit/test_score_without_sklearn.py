"""The quality metrics of the prediction alone are scored in a model environment without
scikit-learn (a predictor class on NumPy, an ONNX or torch model): `serve.quality` failed a
model whose held-out MAE met its bound with "scikit-learn is not importable here", a
verdict on the environment, not on the model. The same figures as scikit-learn's."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sklearn import metrics

from workbench.kernel.paths import asset

TRUTH = [1.0, 2.5, 3.0, 7.25, 0.0]
PRED = [1.5, 2.0, 3.0, 6.0, 0.5]
CLASSES_TRUE = ["a", "b", "c", "a", "b", "a", "c"]
CLASSES_PRED = ["a", "c", "c", "a", "b", "b", "c"]


def scored(tmp_path: Path, metric: str, y_true: list[Any], y_pred: list[Any]) -> dict[str, Any]:
    """score.py in an interpreter where `import sklearn` (and numpy) fail."""
    for name in ("sklearn", "numpy"):
        (tmp_path / name).mkdir(exist_ok=True)
        (tmp_path / name / "__init__.py").write_text(f"raise ImportError('no {name} here')\n")
    done = subprocess.run(
        [sys.executable, str(asset("scripts", "score.py"))],
        input=json.dumps({"metric": metric, "y_true": y_true, "y_pred": y_pred}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PYTHONPATH": str(tmp_path)},
    )
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("rmse", math.sqrt(metrics.mean_squared_error(TRUTH, PRED))),
        ("mae", metrics.mean_absolute_error(TRUTH, PRED)),
        ("r2", metrics.r2_score(TRUTH, PRED)),
    ],
)
def test_regression_metrics_without_scikit_learn(
    tmp_path: Path, metric: str, expected: float
) -> None:
    out = scored(tmp_path, metric, TRUTH, PRED)
    assert "error" not in out, out
    assert out["value"] == pytest.approx(expected, abs=1e-12)
    assert out["n"] == len(TRUTH)
    assert out["residuals"]["max_abs"] == pytest.approx(1.25)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("accuracy", metrics.accuracy_score(CLASSES_TRUE, CLASSES_PRED)),
        ("balanced_accuracy", metrics.balanced_accuracy_score(CLASSES_TRUE, CLASSES_PRED)),
        ("f1_macro", metrics.f1_score(CLASSES_TRUE, CLASSES_PRED, average="macro")),
    ],
)
def test_class_metrics_without_scikit_learn(tmp_path: Path, metric: str, expected: float) -> None:
    out = scored(tmp_path, metric, CLASSES_TRUE, CLASSES_PRED)
    assert "error" not in out, out
    assert out["value"] == pytest.approx(expected, abs=1e-12)
    confusion = metrics.confusion_matrix(CLASSES_TRUE, CLASSES_PRED, labels=["a", "b", "c"])
    assert out["confusion"] == {"labels": ["a", "b", "c"], "matrix": confusion.tolist()}


def test_probability_metrics_still_name_scikit_learn(tmp_path: Path) -> None:
    out = scored(tmp_path, "log_loss", ["a"], ["a"])
    assert "scikit-learn is not importable here" in out["error"]


NUMBER_TRUE = [1, 0, 1, 2, 2, 0]  # a CSV's integer classes
NUMBER_PRED = [1.0, 0.0, 2.0, 2.0, 2.0, 1.0]  # a predictor answering floats


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("accuracy", metrics.accuracy_score(NUMBER_TRUE, NUMBER_PRED)),
        ("balanced_accuracy", metrics.balanced_accuracy_score(NUMBER_TRUE, NUMBER_PRED)),
        ("f1_macro", metrics.f1_score(NUMBER_TRUE, NUMBER_PRED, average="macro")),
    ],
)
def test_number_classes_are_compared_as_numbers_as_scikit_learn_does(
    tmp_path: Path, metric: str, expected: float
) -> None:
    """A reviewer saw 1 against 1.0 compared as the texts '1' and '1.0': accuracy 0.0 where
    scikit-learn says 1.0, and a correct predictor class failing serve.quality."""
    out = scored(tmp_path, metric, NUMBER_TRUE, NUMBER_PRED)
    assert "error" not in out, out
    assert out["value"] == pytest.approx(expected, abs=1e-12)
    assert out["confusion"]["labels"] == ["0", "1", "2"]
    assert scored(tmp_path, "accuracy", [1, 0, 1], [True, False, True])["value"] == 1.0
