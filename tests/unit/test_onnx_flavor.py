"""The onnx flavor in-process (onnxruntime, the graphs converted by skl2onnx): one matrix
in x-feature-order, or one named column per input (text included); classes and
probabilities in the sklearn flavor's answer shape, equal to the scikit-learn model's."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from workbench.runtime.flavors import load_predictor


def _save(graph: object, path: Path) -> str:
    path.write_bytes(graph.SerializeToString())  # type: ignore[attr-defined]
    return path.name


def test_a_matrix_graph_takes_the_fields_in_feature_order(tmp_path: Path) -> None:
    rng = np.random.RandomState(0)
    X = rng.rand(80, 3).astype(np.float32)
    model = LinearRegression().fit(X, 5 * X[:, 0] - X[:, 2])
    graph = to_onnx(model, initial_types=[("input", FloatTensorType([None, 3]))])
    artifact = _save(graph, tmp_path / "reg.onnx")
    order = ["c", "a", "b"]  # x-feature-order: the file's property order does not matter
    predictor = load_predictor(
        "onnx", root=tmp_path, artifact=artifact, predictor=None, features=order
    )
    assert (predictor.known_features, predictor.n_features_in) == (None, 3)
    assert not predictor.classifier and predictor.classes == []
    assert predictor.datatypes() == {"": "FP32"}
    record = {"a": 0.1, "b": 0.5, "c": 0.9}
    answer = predictor.predict(record)
    assert math.isclose(answer["prediction"], model.predict([[0.9, 0.1, 0.5]])[0], abs_tol=1e-5)
    assert predictor.predict_many([]) == []


def test_named_inputs_are_the_models_features_and_a_classifier_answers_like_sklearn(
    tmp_path: Path,
) -> None:
    rng = np.random.RandomState(1)
    frame = pd.DataFrame(
        {
            "area": rng.uniform(20, 150, 200),
            "plan": rng.choice(["free", "pro", "team"], 200),
        }
    )
    target = np.where((frame["plan"] == "free") & (frame["area"] < 80), "churn", "stay")
    model = make_pipeline(
        ColumnTransformer([("n", StandardScaler(), ["area"]), ("c", OneHotEncoder(), ["plan"])]),
        LogisticRegression(),
    ).fit(frame, target)
    graph = to_onnx(
        model,
        initial_types=[("area", FloatTensorType([None, 1])), ("plan", StringTensorType([None, 1]))],
    )
    artifact = _save(graph, tmp_path / "churn.onnx")
    predictor = load_predictor(
        "onnx", root=tmp_path, artifact=artifact, predictor=None, features=[]
    )
    assert predictor.known_features == ["area", "plan"]
    assert predictor.datatypes() == {"area": "FP32", "plan": "BYTES"}
    records = [{"area": 30.0, "plan": "free"}, {"area": 120.0, "plan": "team"}]
    answers = predictor.predict_many(records)
    # The graph refuses a record of empty text (an unknown plan), so its classes are learnt
    # from its first real answer: the keys of the per-class map.
    assert predictor.classes == ["churn", "stay"]
    expected = model.predict_proba(pd.DataFrame(records))
    for answer, label, probabilities in zip(
        answers, model.predict(pd.DataFrame(records)), expected, strict=True
    ):
        assert answer["prediction"] == label
        assert list(answer["probabilities"]) == ["churn", "stay"]
        assert answer["probabilities"]["churn"] == pytest.approx(probabilities[0], abs=1e-5)
