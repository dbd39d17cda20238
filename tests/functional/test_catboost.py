"""CatBoost, native (`.cbm`) and pickled, with categorical features: what the model knows of
itself decides the contract (its `feature_names_`, which features are categorical, its
classes), never a pickled model's feature count of 0; and `init` takes the file that loads as
a model, never a data pickle beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.test_corpus import CORPUS_REQUIREMENTS, User, _venv, new_project
from workbench.kernel.yamlio import load_yaml

CATBOOST_REQUIREMENTS = (*CORPUS_REQUIREMENTS, "catboost==1.2.10")

TRAIN = """\
import os, pickle, random
import pandas as pd
from catboost import CatBoostClassifier
random.seed(11)
frame = pd.DataFrame({
    "plan": [random.choice(["free", "pro", "team"]) for _ in range(300)],
    "region": [random.choice([10, 20, 645]) for _ in range(300)],  # codes: categorical
    "tenure": [random.randint(0, 60) for _ in range(300)],
})
frame["churned"] = ((frame["plan"] == "free") & (frame["tenure"] < 20)).map(
    {True: "yes", False: "no"})
model = CatBoostClassifier(iterations=20, depth=3, verbose=False, thread_count=1,
                           cat_features=["plan", "region"], allow_writing_files=False)
model.fit(frame[["plan", "region", "tenure"]], frame["churned"])
os.makedirs("artifacts", exist_ok=True)
model.save_model("artifacts/churn.cbm")
with open("artifacts/churn.pickle", "wb") as handle:
    pickle.dump(model, handle)
frame[["plan", "region", "tenure"]].to_pickle("customers.pkl")  # data, not a model
frame.to_csv("customers.csv", index=False)
"""


@pytest.fixture(scope="session")
def catboost_env() -> Path:
    return _venv("catboost", CATBOOST_REQUIREMENTS)


def catboost_project(tmp_path: Path, env: Path) -> Path:
    return new_project(tmp_path, "churn", env, TRAIN)


def test_init_takes_the_file_that_loads_as_a_model_and_the_contract_is_the_models(
    tmp_path: Path, catboost_env: Path
) -> None:
    project = catboost_project(tmp_path, catboost_env)
    user = User(project, tmp_path)
    said = user("init", ".").stdout
    manifest = load_yaml(project / "workbench.yaml")
    # By name alone customers.pkl (top level) came first; it loads as a DataFrame.
    assert manifest["model"]["artifact"] == "artifacts/churn.cbm", said
    assert "passed over customers.pkl: not a model: a DataFrame" in " ".join(said.split())

    user("schema", "infer", "--from", "customers.csv")  # churned: the one unknown column
    request = load_yaml(project / "schema" / "request.yaml")
    assert list(request["properties"]) == ["plan", "region", "tenure"]  # feature_names_
    assert request["properties"]["region"]["type"] == "string"  # categorical, not 10, 20
    assert set(request["properties"]["region"]["enum"]) == {"10", "20", "645"}
    assert request["properties"]["tenure"]["type"] == "integer"
    assert "x-feature-order" not in request  # the model knows its names
    response = load_yaml(project / "schema" / "response.yaml")
    assert response["properties"]["prediction"]["enum"] == ["no", "yes"]
    assert set(response["properties"]["probabilities"]["properties"]) == {"no", "yes"}
    user("check", "-s", "schema")  # the model's answers validate, its names are the fields

    # The same model pickled: its n_features_in_ says 0, its feature_names_ say 3.
    text = (project / "workbench.yaml").read_text()
    (project / "workbench.yaml").write_text(text.replace("churn.cbm", "churn.pickle"))
    user("schema", "infer", "--from", "customers.csv", "--force")
    assert load_yaml(project / "schema" / "request.yaml") == request
    assert load_yaml(project / "schema" / "response.yaml") == response
    user("check", "-s", "schema")


def test_a_regressor_fitted_on_a_one_column_target_answers_a_number(tmp_path: Path) -> None:
    """`LinearRegression().fit(X, y[["price"]])` predicts a column, [[x], [y]]: the answer
    is the number, the response schema says number from a real call, and the answers
    validate against it."""
    env = _venv("corpus", CORPUS_REQUIREMENTS)
    project = new_project(
        tmp_path,
        "flats",
        env,
        """\
        import random
        import joblib
        import pandas as pd
        from sklearn.linear_model import LinearRegression
        random.seed(12)
        flats = pd.DataFrame({"area": [random.uniform(20, 150) for _ in range(60)],
                              "floor": [random.randint(0, 12) for _ in range(60)]})
        flats["price"] = 3000 * flats["area"] + 500 * flats["floor"]
        model = LinearRegression().fit(flats[["area", "floor"]], flats[["price"]])
        joblib.dump(model, "model.joblib")
        flats.to_csv("flats.csv", index=False)
        """,
    )
    user = User(project, tmp_path)
    user("init", ".")
    user("schema", "infer", "--from", "flats.csv", "--target", "price")
    response = load_yaml(project / "schema" / "response.yaml")
    assert response["properties"]["prediction"]["type"] == "number"
    examples = sorted((project / "schema" / "examples").glob("*.json"))
    cases = load_yaml(project / "schema" / "expectations.yaml")["cases"]
    assert all(len(c["within"]["prediction"]) == 2 for c in cases)  # numbers, within 5%
    assert examples
    user("check", "-s", "schema")  # the model's answers (numbers now) validate


@pytest.mark.docker
@pytest.mark.slow
def test_a_native_catboost_model_exported_from_its_kernel_passes_the_serve_test(
    tmp_path: Path, catboost_env: Path, base_image: str
) -> None:
    """Exported with the notebook API (as `.cbm`), served from the image: region codes
    sent as strings, classes and probabilities answered, quality scored through it."""
    work = tmp_path / "work"
    work.mkdir()
    lent = work / "lib" / "workbench"
    lent.mkdir(parents=True)
    (lent / "__init__.py").write_text("")
    (lent / "notebook").symlink_to(Path(__file__).resolve().parents[2] / "workbench" / "notebook")
    (work / "train.py").write_text(
        TRAIN.replace('frame[["plan", "region", "tenure"]].to_pickle("customers.pkl")', "")
        + "from workbench.notebook import export_project\n"
        + "export_project(model, frame[['plan', 'region', 'tenure']][:120],"
        + " frame['churned'][:120], 'churn-project')\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(work / "lib"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        [str(catboost_env / "bin" / "python"), "train.py"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "3 example requests" in done.stdout, done.stdout + done.stderr
    project = work / "churn-project"
    assert load_yaml(project / "workbench.yaml")["model"]["artifact"] == "models/model.cbm"
    request = load_yaml(project / "schema" / "request.yaml")
    assert request["properties"]["region"]["type"] == "string"
    user = User(project, tmp_path)
    user.git("init", "-q", "-b", "main")
    user.git("add", ".")
    user.git("commit", "-qm", "the churn model, from its kernel")
    user("snapshot")
    assert "catboost==1.2.10" in (project / "environment.lock").read_text()
    user("tick", "snapshot.packages-expected", "yes", "-m", "catboost and its requirements")
    user("check", "-s", "schema")
    user("serve", "--test")
    checked = json.loads(user("check", "--no-run", "--json", ok=False).stdout)
    statuses = {i["id"]: i["status"] for i in checked["items"] if i["kind"] == "auto"}
    assert statuses["serve.quality"] == "pass", "\n".join(user.transcript)[-4000:]
