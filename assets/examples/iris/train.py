"""Train the iris example model in a few seconds and save it with joblib.

A fifth of the flowers (stratified, fixed seed) is held out, never trained on, and saved to
data/holdout.csv: `evaluation:` in workbench.yaml scores the image on it.

Run it with the example environment's interpreter:  .venv/bin/python train.py
"""

import csv
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def main() -> None:
    here = Path(__file__).parent
    iris = load_iris()
    labels = iris.target_names[iris.target]  # train on names so predict() answers "setosa"
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, labels, test_size=0.2, stratify=labels, random_state=0
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, random_state=0))
    model.fit(x_train, y_train)
    model.feature_names = FEATURES  # the order the serving runtime feeds columns in
    out = here / "model" / "model.joblib"
    out.parent.mkdir(exist_ok=True)
    joblib.dump(model, out)
    holdout = here / "data" / "holdout.csv"
    holdout.parent.mkdir(exist_ok=True)
    with open(holdout, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FEATURES, "species"])
        writer.writerows([*map(float, row), label] for row, label in zip(x_test, y_test))
    print(f"saved {out}; held out {len(y_test)} flowers in {holdout} "
          f"(accuracy on them {model.score(x_test, y_test):.3f})")


if __name__ == "__main__":
    main()
