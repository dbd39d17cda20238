"""A model that exists only in a notebook, made by the test (nbformat): the notebook API and
`workbench init --from-notebook` turn it into a project the CLI takes to a tested image.

The notebook trains a small scikit-learn pipeline on a string category column (codes
like "645" that look like numbers) in a model environment with ipykernel, never the
workbench's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from tests.functional.test_corpus import CORPUS_REQUIREMENTS, User, _venv
from workbench.kernel.yamlio import load_yaml

BIN = Path(sys.executable).parent
NOTEBOOK_REQUIREMENTS = (*CORPUS_REQUIREMENTS, "ipykernel==7.4.0")

TRAINING = [
    """\
    import random
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    random.seed(7)
    cars = pd.DataFrame({
        "body": [random.choice(["sedan", "suv", "coupe"]) for _ in range(400)],
        "code": [random.choice(["645", "101", "007"]) for _ in range(400)],
        "km": [random.uniform(0, 200000) for _ in range(400)],
    })
    cars["pricey"] = ((cars["body"] == "suv") | (cars["km"] < 30000)).map(
        {True: "yes", False: "no"})
    """,
    """\
    X_train, X_valid, y_train, y_valid = train_test_split(
        cars[["body", "code", "km"]], cars["pricey"], test_size=0.25, random_state=0)
    clf = make_pipeline(
        ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["body", "code"]),
                           ("num", StandardScaler(), ["km"])]),
        LogisticRegression(),
    ).fit(X_train, y_train)
    """,
]


@pytest.fixture(scope="session")
def notebook_env() -> Path:
    return _venv("notebook", NOTEBOOK_REQUIREMENTS)


def write_notebook(path: Path, cells: list[str]) -> Path:
    book = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    )
    nbformat.write(book, str(path))
    return path


@pytest.mark.docker
@pytest.mark.slow
def test_a_notebook_only_model_through_init_from_notebook_to_a_tested_image(
    tmp_path: Path, notebook_env: Path, base_image: str
) -> None:
    work = tmp_path / "analysis"
    work.mkdir()
    (work / ".venv").symlink_to(notebook_env, target_is_directory=True)
    notebook = write_notebook(work / "cars.ipynb", TRAINING)
    user = User(work, tmp_path)

    # Without the API call: nothing is saved, and the error gives the exact cell to add,
    # with the notebook's own names for its model and held-out split.
    refused = user("init", "--from-notebook", "cars.ipynb", "cars", ok=False)
    assert refused.returncode == 1
    said = " ".join(refused.stderr.split())
    cell = "from workbench.notebook import export_project; export_project(clf, X_valid, y_valid)"
    assert f"`{cell}`" in said, said
    assert not (work / "cars").exists()

    write_notebook(notebook, [*TRAINING, cell])
    made = user("init", "--from-notebook", "cars.ipynb", "cars")
    assert "Next:" in made.stdout
    project = work / "cars"
    request = load_yaml(project / "schema" / "request.yaml")
    assert list(request["properties"]) == ["body", "code", "km"]
    assert request["properties"]["code"]["type"] == "string"  # "645" stays a string
    response = load_yaml(project / "schema" / "response.yaml")  # YAML 1.2: no is a string
    assert response["properties"]["prediction"]["enum"] == ["no", "yes"]  # the model's classes
    manifest = load_yaml(project / "workbench.yaml")
    assert manifest["python"] == str(work / ".venv" / "bin" / "python")  # the kernel's
    assert manifest["evaluation"]["target"] == "pricey"
    assert (project / "data" / "holdout.csv").read_text().count("\n") == 101  # 100 records

    user.project = project
    user.git("init", "-q", "-b", "main")
    user.git("add", ".")
    user.git("commit", "-qm", "the cars model, from the notebook")
    user("snapshot")
    user("tick", "snapshot.packages-expected", "yes", "-m", "the model's own libraries only")
    user("check", "-s", "schema")
    user("serve", "--test")
    checked = json.loads(user("check", "--no-run", "--json", ok=False).stdout)  # push: not done
    statuses = {i["id"]: i["status"] for i in checked["items"] if i["kind"] == "auto"}
    assert statuses["serve.quality"] == "pass", "\n".join(user.transcript)[-4000:]
    failing = {
        item: status
        for item, status in statuses.items()
        if item.split(".")[0] in ("snapshot", "schema", "serve")
        and status not in ("pass", "warn", "skipped")
    }
    assert failing == {}, "\n".join(user.transcript)[-4000:]


def test_the_api_called_in_a_kernel_hands_the_folder_to_the_workbench_command(
    tmp_path: Path, notebook_env: Path
) -> None:
    """Called by hand in the notebook's environment (no `init`): the model, data and manifest
    are saved, and the `workbench` command on the PATH infers the contract."""
    script = tmp_path / "cell.py"
    script.write_text(
        textwrap.dedent(TRAINING[0])
        + textwrap.dedent(TRAINING[1])
        + "from workbench.notebook import export_project\n"
        + "export_project(clf, X_valid, y_valid, 'exported')\n"
    )
    source = Path(__file__).resolve().parents[2]
    lent = tmp_path / "lib" / "workbench"
    lent.mkdir(parents=True)
    (lent / "__init__.py").write_text("")
    (lent / "notebook").symlink_to(source / "workbench" / "notebook")
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path / "lib"),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        [str(notebook_env / "bin" / "python"), str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrote" in done.stdout and "3 example requests" in done.stdout, done.stdout
    request = load_yaml(tmp_path / "exported" / "schema" / "request.yaml")
    assert request["properties"]["code"]["enum"] == ["007", "101", "645"]


def test_init_from_notebook_errors_say_the_cell_and_the_fix_never_a_traceback(
    tmp_path: Path, notebook_env: Path
) -> None:
    work = tmp_path / "analysis"
    work.mkdir()
    user = User(work, tmp_path)
    write_notebook(work / "broken.ipynb", ["x = 1", "raise ValueError('no such column: kms')"])
    # No environment to run it in: never the workbench's own.
    said = " ".join(user("init", "--from-notebook", "broken.ipynb", ok=False).stderr.split())
    assert "never runs a notebook in its own interpreter" in said and "--python" in said
    # An environment without ipykernel: say how to install it there.
    plain = _venv("corpus", CORPUS_REQUIREMENTS) / "bin" / "python"
    done = user("init", "--from-notebook", "broken.ipynb", "--python", str(plain), ok=False)
    said = " ".join(done.stderr.split())
    assert f"{plain} -m pip install ipykernel" in said, said
    # A cell that fails: its number, its first line, the error; one paragraph.
    (work / ".venv").symlink_to(notebook_env, target_is_directory=True)
    done = user("init", "--from-notebook", "broken.ipynb", ok=False)
    said = " ".join(done.stderr.split())
    assert "cell 2 (`raise ValueError('no such column: kms')`)" in said, said
    assert "ValueError: no such column: kms" in said and "Fix:" in said
    # The API refusing what it was given: its own paragraph, through the cell that called it.
    write_notebook(
        work / "short.ipynb",
        [
            *TRAINING,
            "from workbench.notebook import export_project\n"
            "export_project(clf, X_valid, y_valid[:10])",
        ],
    )
    said = " ".join(user("init", "--from-notebook", "short.ipynb", ok=False).stderr.split())
    assert "cell 3" in said and "X_test has 100 rows but y_test has 10" in said, said
