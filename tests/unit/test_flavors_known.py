"""What a model knows of itself, read by the sklearn flavor: CatBoost's feature names (not
its made-up 0, 1, 2), its categorical features, one answer per record (never `[x]`); and
`init`'s ranking of model files by name when no interpreter can load them."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from workbench.project.scaffold import find_artifacts
from workbench.runtime.flavors import SklearnPredictor, own_features


class ColumnRegressor:
    """Fitted on a one-column target: predict() answers a column, [[x], [y]]."""

    n_features_in_ = 2

    def predict(self, rows: Any) -> list[list[float]]:
        return [[float(sum(row))] for row in rows]


class CatBoostLike:
    """What CatBoost shows: feature_names_, categorical indices, n_features_in_ of 0."""

    feature_names_ = ["plan", "tenure"]
    n_features_in_ = 0

    def get_cat_feature_indices(self) -> list[int]:
        return [0]

    def predict(self, rows: Any) -> list[str]:
        return ["yes" for _ in rows]


def test_catboosts_made_up_names_of_bare_arrays_are_not_feature_names() -> None:
    made_up = type("Arrays", (), {"feature_names_": ["0", "1", "2"]})()
    assert own_features(made_up) is None
    assert own_features(CatBoostLike()) == ["plan", "tenure"]


def test_a_column_of_one_answers_a_number_and_categorical_features_are_known(
    tmp_path: Path,
) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(ColumnRegressor()))
    answers = SklearnPredictor(path, ["a", "b"]).predict_many([{"a": 1, "b": 2}, {"a": 3, "b": 4}])
    assert answers == [{"prediction": 3.0}, {"prediction": 7.0}]
    path.write_bytes(pickle.dumps(CatBoostLike()))
    known = SklearnPredictor(path, [])
    assert (known.features, known.categorical) == (["plan", "tenure"], ["plan"])


def test_by_name_a_model_folder_first_and_data_pickles_last(tmp_path: Path) -> None:
    names = ("X_test.pkl", "y_train.joblib", "churn.cbm", "features.pkl", "deep/clf.pkl")
    for name in (*names, "latest.pkl"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert find_artifacts(tmp_path) == [
        "churn.cbm",
        "latest.pkl",  # not a test set
        "deep/clf.pkl",
        "X_test.pkl",
        "features.pkl",
        "y_train.joblib",
    ]


def test_a_model_saved_by_joblib_under_a_pkl_name_loads(tmp_path: Path) -> None:
    """`joblib.dump(model, "model.pkl")` is the commonest way a model is saved, and plain
    pickle cannot read the numpy arrays joblib writes beside its pickle stream: the flavor
    refused a working model (snapshot: `UnpicklingError: STACK_GLOBAL requires str`)."""
    import joblib
    import numpy as np
    from sklearn.linear_model import LinearRegression

    from workbench.runtime.flavors import load_model

    model = LinearRegression().fit(np.arange(20.0).reshape(10, 2), np.arange(10.0))
    saved = tmp_path / "my models" / "price model.pkl"
    saved.parent.mkdir()
    joblib.dump(model, saved)
    loaded = load_model(saved)
    assert loaded.predict([[2.0, 3.0]]).tolist() == model.predict([[2.0, 3.0]]).tolist()
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"predict": "a plain pickle"}))
    assert load_model(plain) == {"predict": "a plain pickle"}
