"""A pipeline pickled with a function of the training script (`python train.py` defines
`add_ratio`): pickle saved it as `__main__.add_ratio`, which no other program has. The
error was the generic "make the model load ... in its own environment" (a new user's
trial); it now names the function, why, and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.model_env import predict_in_model_env
from workbench.project.scaffold import copy_example

TRAIN = """
import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer


def add_ratio(frame):
    frame = frame.copy()
    frame["ratio"] = frame["petal_length"] / frame["petal_width"]
    return frame


data = pd.read_csv("data/iris.csv")
features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
model = make_pipeline(FunctionTransformer(add_ratio), LogisticRegression(max_iter=300))
model.fit(data[features], data["species"])
joblib.dump(model, "model/model.joblib")
"""


def test_a_function_of_the_training_script_is_named_with_the_fix(tmp_path: Path) -> None:
    project = copy_example("iris", tmp_path / "iris")
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text().replace("python: .venv/bin/python", f"python: {sys.executable}")
    )
    data = next((project / "data").glob("*.csv"))
    (project / "train_main.py").write_text(TRAIN.replace("data/iris.csv", str(data)))
    subprocess.run([sys.executable, "train_main.py"], cwd=project, check=True)
    record = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    with pytest.raises(WorkbenchError) as failed:
        predict_in_model_env(load_manifest(project), [record])
    said = failed.value.paragraph
    assert "the pickle refers to `add_ratio` as defined in `__main__`" in said, said
    assert "move `add_ratio` into a module of the project" in said, said
