"""Native boosters on the real engine: a LightGBM model saved with `save_model` (`.txt`) and
an XGBoost one (`.ubj`), each trained by the test on pandas categories, taken through init,
schema infer, snapshot, the checks and the serve test, its answers scored on held-out data
through the image and equal to the model's own in its environment.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.functional.test_corpus import (
    LIGHTGBM_REQUIREMENTS,
    XGBOOST_REQUIREMENTS,
    User,
    _venv,
    new_project,
    ready_to_serve,
)
from workbench.kernel.yamlio import load_yaml

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# A frame of pandas categories (text and integer codes) and a number; the held-out split
# is written beside it as a CSV, as a person would keep one.
FRAME = """\
import os, random
import pandas as pd
def frame(seed, rows):
    rng = random.Random(seed)
    data = pd.DataFrame({
        "plan": pd.Categorical([rng.choice(["team", "free", "pro"]) for _ in range(rows)],
                               categories=["team", "free", "pro"]),
        "region": pd.Categorical([rng.choice([645, 10, 20]) for _ in range(rows)]),
        "tenure": [rng.randint(0, 60) for _ in range(rows)],
    })
    return data
train, holdout = frame(21, 400), frame(22, 120)
os.makedirs("models", exist_ok=True)
"""

EVALUATION = (
    "evaluation:\n  data: holdout.csv\n  target: {target}\n  metric: accuracy\n  minimum: 0.8\n"
)


def statuses(user: User) -> dict[str, str]:
    checked = json.loads(user("check", "--no-run", "--json", ok=False).stdout)
    return {i["id"]: i["status"] for i in checked["items"] if i["kind"] == "auto"}


def serve_and_score(user: User, project: Path, target: str, extra: str = "") -> dict[str, str]:
    """The evaluation block (and any serve setting) committed, then the serve test."""
    manifest = project / "workbench.yaml"
    text = manifest.read_text() + EVALUATION.format(target=target)
    manifest.write_text(text.replace("serve:\n", "serve:\n" + extra, 1) if extra else text)
    user.git("add", ".")
    user.git("commit", "-qm", "evaluated on the held-out split")
    # Judged by the items below, not the exit code: serve.performance's cold-start budget
    # measures the machine (a loaded one starts the image past 30 s), not the flavor.
    user("serve", "--test", ok=False)
    return statuses(user)


def test_a_lightgbm_text_booster_with_categories_passes_the_serve_test(
    tmp_path: Path, base_image: str
) -> None:
    env = _venv("lightgbm", LIGHTGBM_REQUIREMENTS)
    project = new_project(
        tmp_path,
        "churn",
        env,
        FRAME
        + """\
import lightgbm as lgb
def label(data):
    young_free = (data["plan"] == "free") & (data["tenure"] < 20)
    return (young_free | (data["region"] == 645)).astype(int)
booster = lgb.train({"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 5,
                     "num_threads": 1, "verbose": -1},
                    lgb.Dataset(train, label(train)), 30)
booster.save_model("models/churn.txt")
for data, name in ((train, "customers.csv"), (holdout, "holdout.csv")):
    data.assign(churned=label(data)).to_csv(name, index=False)
open("requirements.txt", "w").write("lightgbm==4.6.0\\n")  # text, not a model
""",
    )
    user = ready_to_serve(project, tmp_path, sample="customers.csv", target="churned")
    manifest = load_yaml(project / "workbench.yaml")
    assert (manifest["model"]["artifact"], manifest["model"]["flavor"]) == (
        "models/churn.txt",
        "sklearn",
    )
    request = load_yaml(project / "schema" / "request.yaml")
    assert list(request["properties"]) == ["plan", "region", "tenure"]  # the booster's names
    assert request["properties"]["plan"]["enum"] == ["team", "free", "pro"]  # its categories
    assert request["properties"]["region"]["enum"] == [10, 20, 645]
    response = load_yaml(project / "schema" / "response.yaml")
    assert response["properties"]["prediction"]["enum"] == [0, 1]  # binary: 0 and 1
    assert set(response["properties"]["probabilities"]["properties"]) == {"0", "1"}
    assert "lightgbm==4.6.0" in (project / "environment.lock").read_text()

    found = serve_and_score(user, project, "churned", "  system_packages: [libgomp1]\n")
    wanted = ("serve.examples-parity", "serve.valid-accepted", "serve.quality", "schema.bounded")
    assert {i: found[i] for i in wanted} == dict.fromkeys(wanted, "pass"), "\n".join(
        user.transcript
    )[-4000:]


def test_an_xgboost_ubj_booster_with_categories_passes_the_serve_test(
    tmp_path: Path, base_image: str
) -> None:
    env = _venv("xgboost", XGBOOST_REQUIREMENTS)
    project = new_project(
        tmp_path,
        "tiers",
        env,
        FRAME
        + """\
import xgboost as xgb
def label(data):
    return ((data["plan"] == "pro").astype(int) + (data["tenure"] > 30).astype(int)).astype(int)
matrix = xgb.DMatrix(train, label=label(train), enable_categorical=True)
booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3,
                     "nthread": 1}, matrix, 20)
booster.save_model("models/tiers.ubj")
for data, name in ((train, "accounts.csv"), (holdout, "holdout.csv")):
    data.assign(tier=label(data)).to_csv(name, index=False)
""",
    )
    user = ready_to_serve(project, tmp_path, sample="accounts.csv", target="tier")
    assert load_yaml(project / "workbench.yaml")["model"]["artifact"] == "models/tiers.ubj"
    request = load_yaml(project / "schema" / "request.yaml")
    assert list(request["properties"]) == ["plan", "region", "tenure"]
    assert request["properties"]["plan"]["enum"] == ["team", "free", "pro"]
    response = load_yaml(project / "schema" / "response.yaml")
    assert response["properties"]["prediction"]["enum"] == [0, 1, 2]  # num_class 3
    assert "xgboost-cpu==3.2.0" in (project / "environment.lock").read_text()

    found = serve_and_score(user, project, "tier")
    wanted = ("serve.examples-parity", "serve.valid-accepted", "serve.quality", "schema.bounded")
    assert {i: found[i] for i in wanted} == dict.fromkeys(wanted, "pass"), "\n".join(
        user.transcript
    )[-4000:]
