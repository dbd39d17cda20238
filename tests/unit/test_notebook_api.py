"""The notebook API (`workbench.notebook`): light to import, typed records, one-paragraph
errors, a manifest the workbench loads; and the cell `init --from-notebook` asks for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.notebook import export
from workbench.notebook.export import ExportError, export_project, typed_records
from workbench.project.manifest import load_manifest
from workbench.project.notebook import _never_exported, export_cell, notebook_interpreter


class Classifier:
    """A fitted model as far as the API can tell: predict() and classes_."""

    classes_ = ["no", "yes"]
    feature_names_in_ = ["plan", "code"]

    def fit(self, X: Any, y: Any) -> Classifier:
        return self

    def predict(self, rows: list[list[Any]]) -> list[str]:
        return ["yes" if row[0] == "pro" else "no" for row in rows]


def test_importing_the_api_loads_nothing_heavy_and_nothing_else_of_the_workbench() -> None:
    code = "import workbench.notebook, json, sys; print(json.dumps(sorted(sys.modules)))"
    loaded = set(
        json.loads(
            subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True
            ).stdout
        )
    )
    heavy = {"textual", "typer", "rich", "docker", "yaml", "ruamel", "msgspec", "jsonschema"}
    assert not {m for m in loaded if m.split(".")[0] in heavy}
    ours = {m for m in loaded if m.split(".")[0] == "workbench"}
    assert ours == {"workbench", "workbench.notebook", "workbench.notebook.export"}


def test_bare_rows_take_the_models_feature_names_and_keep_their_types() -> None:
    columns, rows = typed_records([["pro", "645"], ["free", None]], Classifier())
    assert columns == ["plan", "code"]
    assert rows == [{"plan": "pro", "code": "645"}, {"plan": "free", "code": None}]
    assert typed_records([[1.5, float("nan")]], object())[1] == [{"x0": 1.5, "x1": None}]


def test_export_saves_model_records_and_a_manifest_the_workbench_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = tmp_path / "receipt.json"
    monkeypatch.setenv(export.RECEIPT_ENV, str(receipt))
    monkeypatch.delenv(export.PROJECT_ENV, raising=False)
    rows = [["pro", "645"], ["free", "101"], ["pro", "007"], ["free", "645"]]
    folder = export_project(Classifier(), rows, ["yes", "no", "yes", "yes"], tmp_path / "Churn")
    manifest = load_manifest(folder)
    assert manifest.name == "churn" and manifest.model.artifact == "models/model.joblib"
    assert manifest.interpreter() == Path(sys.executable).absolute()
    evaluation = manifest.evaluation
    assert evaluation is not None
    assert (evaluation.metric, evaluation.target, evaluation.data) == (
        "accuracy",
        "target",
        "data/holdout.csv",
    )
    assert evaluation.minimum == 0.71  # 3 of 4 right today, 5% below
    csv_text = (folder / "data" / "holdout.csv").read_text()
    assert csv_text.splitlines()[:2] == ["plan,code,target", "pro,645,yes"]
    typed = [json.loads(line) for line in (folder / export.TYPED_SAMPLE).read_text().splitlines()]
    assert typed[2] == {"plan": "pro", "code": "007", "target": "yes"}  # a string stays one
    assert json.loads(receipt.read_text())["target"] == "target"
    # Exported again after retraining: the manifest a person may have edited is kept.
    (folder / "workbench.yaml").write_text((folder / "workbench.yaml").read_text() + "# mine\n")
    export_project(Classifier(), rows, ["yes"] * 4, folder)
    assert (folder / "workbench.yaml").read_text().endswith("# mine\n")


def test_export_errors_are_one_paragraph_with_a_fix(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="has no predict") as caught:
        export_project(object(), [[1]], [1], tmp_path / "p")
    assert caught.value._render_traceback_() == [f"workbench: {caught.value}"]
    assert "Fix:" in str(caught.value)
    with pytest.raises(ExportError, match="3 rows but y_test has 2"):
        export_project(Classifier(), [["pro", "1"]] * 3, ["yes", "no"], tmp_path / "p")
    with pytest.raises(ExportError, match="must be a table"):
        export_project(Classifier(), ["pro", "free"], ["yes", "no"], tmp_path / "p")


def test_the_missing_cell_is_named_with_the_notebooks_own_variables() -> None:
    found = {"model": ["clf"], "X": ["X_valid", "X"], "y": ["y_valid"]}
    assert export_cell(found) == (
        "from workbench.notebook import export_project; export_project(clf, X_valid, y_valid)"
    )
    assert export_cell({}).endswith("export_project(model, X_test, y_test)")
    error = _never_exported(Path("cars.ipynb"), found)
    assert "never called export_project" in str(error) and "`clf`, `X_valid`" in str(error)
    assert "\n" not in str(error)


def test_a_notebook_is_never_run_in_the_workbenchs_own_interpreter(tmp_path: Path) -> None:
    notebook = tmp_path / "nb" / "m.ipynb"
    notebook.parent.mkdir()
    with pytest.raises(WorkbenchError, match="never runs a notebook in its own interpreter"):
        notebook_interpreter(notebook, None, None)
    (notebook.parent / ".venv" / "bin").mkdir(parents=True)
    (notebook.parent / ".venv" / "bin" / "python").write_text("")
    assert notebook_interpreter(notebook, None, None) == notebook.parent / ".venv/bin/python"


def test_a_project_with_a_manifest_runs_the_notebook_in_its_python(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "m.joblib").write_bytes(b"")
    (project / "workbench.yaml").write_text(
        f"name: p\npython: {sys.executable}\nmodel:\n  artifact: m.joblib\n"
    )
    chosen = notebook_interpreter(tmp_path / "m.ipynb", project, None)
    assert chosen == Path(sys.executable)
    assert notebook_interpreter(tmp_path / "m.ipynb", project, "/opt/py") == Path("/opt/py")


def test_without_a_workbench_command_the_api_prints_the_one_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(export.RECEIPT_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no `workbench` on it
    monkeypatch.setattr(export.sys, "executable", str(tmp_path / "python"))  # nor beside it
    export.hand_over(tmp_path / "proj", "churned")
    said = capsys.readouterr().out
    assert said.strip() == (
        f"workbench: now infer the contract: workbench schema infer -p {tmp_path / 'proj'} "
        f"--from {tmp_path / 'proj' / export.TYPED_SAMPLE} --target churned"
    )
