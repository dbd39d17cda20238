"""Train the iris example model in a few seconds and save it with joblib.

Run it with the example environment's interpreter:  .venv/bin/python train.py
"""

from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def main() -> None:
    iris = load_iris()
    labels = iris.target_names[iris.target]  # train on names so predict() answers "setosa"
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=0))
    model.fit(iris.data, labels)
    model.feature_names = FEATURES  # the order the serving runtime feeds columns in
    out = Path(__file__).parent / "model" / "model.joblib"
    out.parent.mkdir(exist_ok=True)
    joblib.dump(model, out)
    print(f"saved {out} (training accuracy {model.score(iris.data, labels):.3f})")


if __name__ == "__main__":
    main()
