"""Native LightGBM and XGBoost boosters through the sklearn flavor, and the pandas categories
of their models (native or scikit-learn wrappers): feature names and classes from the model,
answers equal to the library's own, a request's text given its training code; `init` finds
booster files by their first bytes; the request schema limits each categorical field to
the model's categories."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from workbench.project.manifest import load_manifest
from workbench.project.scaffold import find_artifacts, rank_by_loading
from workbench.runtime.boosters import NativeBooster
from workbench.runtime.flavors import load_predictor
from workbench.steps.schema.categories import categories_as_enums, model_typed_rows
from workbench.steps.schema.infer import infer_contract, infer_record


def churn(rows: int = 240) -> tuple[pd.DataFrame, pd.Series]:
    """A frame with a text category, an integer category and a number; category dtypes in
    an order that is not the sorted one for `plan`, so codes are not guessable."""
    rng = random.Random(7)
    frame = pd.DataFrame(
        {
            "plan": pd.Categorical(
                [rng.choice(["team", "free", "pro"]) for _ in range(rows)],
                categories=["team", "free", "pro"],
            ),
            "region": pd.Categorical([rng.choice([645, 10, 20]) for _ in range(rows)]),
            "tenure": [rng.randint(0, 60) for _ in range(rows)],
        }
    )
    target = ((frame["plan"] == "free") & (frame["tenure"] < 20)) | (frame["region"] == 645)
    return frame, target.astype(int)


RECORDS = [
    {"plan": "free", "region": 10, "tenure": 5},
    {"plan": "team", "region": 645, "tenure": 40},
    {"plan": "pro", "region": 20, "tenure": 12},
]


def predictor(root: Path, artifact: str, features: list[str] | None = None) -> Any:
    return load_predictor(
        "sklearn", root=root, artifact=artifact, predictor=None, features=features or []
    )


def probability_of_one(answers: list[dict[str, Any]]) -> list[float]:
    return [a["probabilities"]["1"] for a in answers]


def test_a_lightgbm_text_booster_knows_its_features_classes_and_categories(
    tmp_path: Path,
) -> None:
    frame, target = churn()
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 7, "min_data_in_leaf": 5},
        lgb.Dataset(frame, target),
        15,
    )
    booster.save_model(str(tmp_path / "churn.txt"))
    model = predictor(tmp_path, "churn.txt")
    assert model.known_features == ["plan", "region", "tenure"]
    assert model.categories == {"plan": ["team", "free", "pro"], "region": [10, 20, 645]}
    assert (model.classes, model.has_proba) == ([0, 1], True)
    answers = model.predict_many(RECORDS)
    expected = [
        booster.predict(
            pd.DataFrame(
                {
                    "plan": pd.Categorical([r["plan"]], categories=["team", "free", "pro"]),
                    "region": pd.Categorical([r["region"]], categories=[10, 20, 645]),
                    "tenure": [r["tenure"]],
                }
            )
        )[0]
        for r in RECORDS
    ]
    assert probability_of_one(answers) == pytest.approx(expected)
    assert [a["prediction"] for a in answers] == [int(p > 0.5) for p in expected]
    # A category training never saw is missing to the model, as a missing value is.
    unseen = model.predict_many([{**RECORDS[0], "plan": "gold"}, {**RECORDS[0], "plan": None}])
    assert unseen[0] == unseen[1]
    model.prepare(RECORDS)
    assert model.class_from_proba  # one booster call per batch: predict is the argmax


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_an_xgboost_booster_file_answers_as_its_objective_says(tmp_path: Path, suffix: str) -> None:
    frame, target = churn()
    classifier = xgb.XGBClassifier(n_estimators=10, max_depth=3, enable_categorical=True)
    classifier.fit(frame, target)
    classifier.get_booster().save_model(str(tmp_path / f"churn{suffix}"))
    model = predictor(tmp_path, f"churn{suffix}")
    assert model.known_features == ["plan", "region", "tenure"]
    assert model.categories == {"plan": ["team", "free", "pro"], "region": [10, 20, 645]}
    assert model.classes == [0, 1]
    answers = model.predict_many(RECORDS)
    typed = pd.DataFrame(RECORDS).astype(
        {"plan": frame["plan"].dtype, "region": frame["region"].dtype}
    )
    assert probability_of_one(answers) == pytest.approx(
        classifier.predict_proba(typed)[:, 1].tolist()
    )
    assert [a["prediction"] for a in answers] == classifier.predict(typed).tolist()
    config = json.loads(model.model.booster.save_config())["learner"]["generic_param"]
    assert config["nthread"] == "1"  # one thread per prediction (the server has processes)


def test_bare_array_boosters_multiclass_regression_and_classes_without_probabilities(
    tmp_path: Path,
) -> None:
    rng = np.random.RandomState(3)
    X = rng.rand(150, 2)
    labels = (X[:, 0] * 3).astype(int)
    lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1}, lgb.Dataset(X, labels), 5
    ).save_model(str(tmp_path / "multi.txt"))
    multi = predictor(tmp_path, "multi.txt", ["a", "b"])
    assert multi.known_features is None  # LightGBM's made-up Column_0, Column_1
    assert (multi.model.n_features_in_, multi.classes) == (2, [0, 1, 2])
    answer = multi.predict({"a": 0.9, "b": 0.1})
    assert answer["prediction"] == 2 and set(answer["probabilities"]) == {"0", "1", "2"}

    data = xgb.DMatrix(X, label=labels)
    xgb.train({"objective": "multi:softmax", "num_class": 3}, data, 5).save_model(
        str(tmp_path / "softmax.json")
    )
    softmax = predictor(tmp_path, "softmax.json", ["a", "b"])
    assert (softmax.classes, softmax.has_proba) == ([0, 1, 2], False)
    assert softmax.predict({"a": 0.9, "b": 0.1}) == {"prediction": 2}

    regression = xgb.train({"objective": "reg:squarederror"}, xgb.DMatrix(X, label=X[:, 0]), 5)
    joblib.dump(regression, tmp_path / "reg.joblib")  # a pickled Booster: the same face
    number = predictor(tmp_path, "reg.joblib", ["a", "b"])
    assert (number.classes, number.has_proba) == ([], False)
    [answer] = number.predict_many([{"a": 0.5, "b": None}])
    assert answer["prediction"] == pytest.approx(
        float(regression.inplace_predict(np.array([[0.5, np.nan]]))[0])
    )


def test_an_answer_of_another_shape_than_the_objective_promises_is_refused(
    tmp_path: Path,
) -> None:
    X = np.random.RandomState(4).rand(60, 2)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1},
        lgb.Dataset(X, (X[:, 0] * 3).astype(int)),
        3,
    )
    face = NativeBooster(booster)
    face.num_class = 4  # what a model file could claim beside what it answers
    with pytest.raises(ValueError, match=r"objective multiclass promises .* \(2, 4\).*\(2, 3\)"):
        face.predict(X[:2])


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_a_wrapper_trained_on_categories_gets_each_request_text_as_its_training_code(
    tmp_path: Path, library: str
) -> None:
    frame, target = churn()
    if library == "lightgbm":
        model: Any = lgb.LGBMClassifier(n_estimators=15, num_leaves=7, verbose=-1)
    else:
        model = xgb.XGBClassifier(n_estimators=10, max_depth=3, enable_categorical=True)
    model.fit(frame, target)
    joblib.dump(model, tmp_path / "model.joblib")
    served = predictor(tmp_path, "model.joblib")
    # JSON requests carry text and numbers; the model's own answer to the typed frame:
    typed = pd.DataFrame(RECORDS).astype(
        {"plan": frame["plan"].dtype, "region": frame["region"].dtype}
    )
    assert probability_of_one(served.predict_many(RECORDS)) == pytest.approx(
        model.predict_proba(typed)[:, 1].tolist()
    )
    assert served.categories == {"plan": ["team", "free", "pro"], "region": [10, 20, 645]}


def test_init_finds_booster_files_by_their_first_bytes(tmp_path: Path) -> None:
    X = np.random.RandomState(5).rand(40, 2)
    lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(X, X[:, 0]), 2).save_model(
        str(tmp_path / "lgb.txt")
    )
    xgb.train({}, xgb.DMatrix(X, label=X[:, 0]), 2).save_model(str(tmp_path / "xgb.json"))
    (tmp_path / "requirements.txt").write_text("lightgbm==4.6.0\n")
    (tmp_path / "sample_request.json").write_text(json.dumps({"a": 1, "b": 2}))
    (tmp_path / "model.ubj").write_bytes(b"{")
    assert find_artifacts(tmp_path) == ["lgb.txt", "model.ubj", "xgb.json"]
    # Then ranked by what loads as a model in the model's interpreter: not that `.ubj`.
    models, passed = rank_by_loading(tmp_path, sys.executable, find_artifacts(tmp_path))
    assert models == ["lgb.txt", "xgb.json"]
    assert passed == [passed[0]] and passed[0].startswith("model.ubj: does not load: ")


def test_the_request_schema_takes_the_models_categories(tmp_path: Path) -> None:
    frame, target = churn()
    model = lgb.LGBMClassifier(n_estimators=15, num_leaves=7, verbose=-1).fit(frame, target)
    joblib.dump(model, tmp_path / "model.joblib")
    (tmp_path / "workbench.yaml").write_text(
        f"name: churn\npython: {sys.executable}\nmodel:\n  flavor: sklearn\n"
        "  artifact: model.joblib\n"
    )
    sample = frame.astype({"plan": str, "region": int}).to_dict("records")
    sample = [s for s in sample if s["plan"] != "pro"]  # the sample never shows `pro`
    inferred = infer_contract(load_manifest(tmp_path), sample)
    fields = inferred.request["properties"]
    assert fields["plan"]["type"] == "string"
    assert fields["plan"]["enum"] == ["team", "free", "pro"]  # the model's, not the sample's
    assert (fields["region"]["type"], fields["region"]["enum"]) == ("integer", [10, 20, 645])
    assert "minimum" not in fields["region"]
    assert fields["tenure"]["type"] == "integer"
    assert inferred.response["properties"]["prediction"]["enum"] == [0, 1]
    assert any("trained on: plan (3), region (3)" in note for note in inferred.notes)


def test_categorical_fields_are_typed_and_limited_as_the_model_knows_them() -> None:
    facts = {"categorical": ["store"], "categories": {"code": ["10", "20"], "size": [1, 2, 3]}}
    rows = [{"store": 645, "code": 10, "size": 2}, {"store": None, "code": None, "size": 3}]
    notes: list[str] = []
    typed = model_typed_rows(rows, ["store", "code", "size"], facts, notes)
    # CatBoost's categorical `store` and the text categories of `code` become text:
    assert typed == [{"store": "645", "code": "10", "size": 2}, {**rows[1], "size": 3}]
    request = infer_record(typed)
    categories_as_enums(request, facts, notes)
    code, size = request["properties"]["code"], request["properties"]["size"]
    assert code == {"type": ["string", "null"], "enum": ["10", "20", None], "description": ""}
    assert size == {"type": "integer", "enum": [1, 2, 3], "description": ""}
    assert notes == [
        "categorical for the model, so strings: store, code",
        "limited to the categories the model was trained on: code (2), size (3)",
    ]
