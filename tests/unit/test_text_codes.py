"""Codes with leading zeros (`02110`, a ZIP code) that a scikit-learn pipeline one-hot
encodes as text: a CSV sample has only text, and typed by its looks the column became the
integers 2110, 1001 ... The model's encoder, fitted on strings, then failed on every row
(`schema infer`: `TypeError: ufunc 'isnan' not supported ...`, naming no field), or with
`handle_unknown="ignore"` would have answered every request as if the code were unknown.
The model says which columns it encodes as text: they are read as text, zeros kept."""

from __future__ import annotations

import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import yaml
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from typer.testing import CliRunner

from workbench.runtime.flavors import load_predictor


def flowers(root: Path) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    species = rng.integers(0, 3, 120)
    frame = pd.DataFrame(
        {
            "petal.width": (species * 0.8 + rng.normal(0, 0.3, 120)).round(2),
            "zip": np.array(["01001", "02110", "10001"])[species],
            "species": species,
        }
    )
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["zip"]), (StandardScaler(), ["petal.width"])
    )
    model = make_pipeline(encode, LogisticRegression()).fit(frame[["petal.width", "zip"]], species)
    joblib.dump(model, root / "model.joblib")
    (root / "workbench.yaml").write_text(
        f"name: flowers\npython: {sys.executable}\nmodel:\n  flavor: sklearn\n"
        "  artifact: model.joblib\n"
    )
    frame.to_csv(root / "train.csv", index=False)
    return frame


def test_the_flavor_names_the_columns_its_encoders_took_as_text(tmp_path: Path) -> None:
    flowers(tmp_path)
    served = load_predictor(
        "sklearn", root=tmp_path, artifact="model.joblib", predictor=None, features=[]
    )
    assert "zip" in served.categorical and "petal.width" not in served.categorical


def test_schema_infer_keeps_the_leading_zeros_of_codes_the_model_encodes_as_text(
    tmp_path: Path,
) -> None:
    from commands.main import app

    frame = flowers(tmp_path)
    done = CliRunner().invoke(
        app, ["schema", "infer", "-p", str(tmp_path), "--from", str(tmp_path / "train.csv")]
    )
    assert done.exit_code == 0, done.output
    request = yaml.safe_load((tmp_path / "schema/request.yaml").read_text())
    assert request["properties"]["zip"]["type"] in ("string", ["string", "null"]), request
    examples = sorted((tmp_path / "schema/examples").glob("*.json"))
    zips = {yaml.safe_load(p.read_text())["zip"] for p in examples}
    assert zips <= set(frame["zip"]), zips  # "02110", never 2110


def test_codes_the_encoder_was_fitted_on_as_numbers_stay_numbers(tmp_path: Path) -> None:
    """A model trained on `pd.read_csv`'s integers (2110) keeps integer fields."""
    frame = flowers(tmp_path)
    numeric = frame.assign(zip=frame["zip"].astype(int))
    encode = make_column_transformer((OneHotEncoder(), ["zip"]), remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression()).fit(
        numeric[["petal.width", "zip"]], numeric["species"]
    )
    joblib.dump(model, tmp_path / "model.joblib")
    served = load_predictor(
        "sklearn", root=tmp_path, artifact="model.joblib", predictor=None, features=[]
    )
    assert served.categorical == []


def test_codes_the_pipeline_itself_turns_into_text_are_sent_as_numbers() -> None:
    """A reviewer's case: a FunctionTransformer makes the integer codes text before the
    encoder (whose categories are then text): the client sends numbers, and `02110` as text
    would reach the encoder as an unknown category. An imputer in front keeps text text."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import FunctionTransformer

    from workbench.runtime.flavors import text_encoded

    frame = pd.DataFrame({"zip": [2110, 1001, 10001, 2110], "colour": ["r", "g", None, "r"]})
    as_text = make_pipeline(FunctionTransformer(_as_str), OneHotEncoder(handle_unknown="ignore"))
    imputed = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
    )
    model = make_pipeline(
        make_column_transformer((as_text, ["zip"]), (imputed, ["colour"])),
        LogisticRegression(),
    ).fit(frame, [0, 1, 0, 1])
    assert text_encoded(model) == ["colour"]


def _as_str(values: pd.DataFrame) -> pd.DataFrame:
    return values.astype(str)


def test_a_strict_encoder_limits_the_field_to_what_it_was_fitted_on(tmp_path: Path) -> None:
    """A new user's trial: the sample had a category the OneHotEncoder (default
    `handle_unknown="error"`) never saw, `schema infer` put it in the field's enum, and such
    a request was a 500 from the model instead of a 422 from the contract; with a strict
    encoder `schema infer` refused the whole sample. A strict encoder's field lists what it
    knows, also a category the sample lacks, and the rows it fails on are left out, named.
    A lenient encoder's field (`handle_unknown="ignore"`) keeps the sample's list and gains
    every category the encoder knows (none it knows is refused)."""
    from commands.main import app

    rng = np.random.default_rng(3)
    colour = np.array(["red", "green", "blue"])[rng.integers(0, 3, 90)]
    size = rng.normal(0, 1, 90).round(2)
    train = pd.DataFrame({"colour": colour, "shade": colour, "size": size})
    target = (train["colour"] == "red").astype(int)
    encode = make_column_transformer(
        (OneHotEncoder(), ["colour"]),  # strict: fails on a colour it was not fitted on
        (OneHotEncoder(handle_unknown="ignore"), ["shade"]),
        (StandardScaler(), ["size"]),
    )
    model = make_pipeline(encode, LogisticRegression()).fit(train, target)
    joblib.dump(model, tmp_path / "model.joblib")
    (tmp_path / "workbench.yaml").write_text(
        f"name: colours\npython: {sys.executable}\nmodel:\n  flavor: sklearn\n"
        "  artifact: model.joblib\n"
    )
    # The sample lacks "blue" and has "purple" (twice), which the strict encoder never saw.
    sample = train[train["colour"] != "blue"].head(30).copy()
    sample.loc[sample.index[:2], ["colour", "shade"]] = "purple"
    sample.to_csv(tmp_path / "sample.csv", index=False)
    done = CliRunner().invoke(
        app, ["schema", "infer", "-p", str(tmp_path), "--from", str(tmp_path / "sample.csv")]
    )
    assert done.exit_code == 0, done.output
    fields = yaml.safe_load((tmp_path / "schema/request.yaml").read_text())["properties"]
    assert sorted(fields["colour"]["enum"]) == ["blue", "green", "red"], fields["colour"]
    assert sorted(fields["shade"]["enum"]) == ["blue", "green", "red"], fields["shade"]
    said = " ".join(done.output.split())
    assert "2 sample rows left out" in said and "colour='purple'" in said, said
    for example in (tmp_path / "schema/examples").glob("*.json"):
        assert yaml.safe_load(example.read_text())["colour"] != "purple"
