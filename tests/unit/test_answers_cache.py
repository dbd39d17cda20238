"""The model's answers are kept between commands and reused only while everything they came
from is unchanged: each test counts how often the model's interpreter really loaded the
model (the predictor appends a line to a file outside the project at every load)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.project.answers_cache import in_environment
from workbench.project.manifest import load_manifest
from workbench.project.model_env import predict_in_model_env

PREDICTOR = """
import os
from helper import SCALE


class Model:
    def load(self, folder):
        with open(os.environ["LOADS_FILE"], "a") as loads:
            loads.write("load\\n")

    def predict(self, record):
        return {"score": record["x"] * SCALE}
"""


def project(root: Path, python: str = sys.executable) -> Path:
    (root / "schema").mkdir(parents=True)
    (root / "predict.py").write_text(textwrap.dedent(PREDICTOR))
    (root / "schema" / "request.yaml").write_text(
        "type: object\nproperties:\n  x: {type: number}\n"
    )
    (root / "schema" / "response.yaml").write_text(
        "type: object\nproperties:\n  score: {type: number}\n"
    )
    (root / "workbench.yaml").write_text(
        f"name: cached\npython: {python}\nmodel:\n  flavor: python\n  predictor: predict:Model\n"
    )
    return root


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A module outside the project and the environment (on PYTHONPATH, like a sibling
    clone), and the file the predictor counts its loads in."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "helper.py").write_text("SCALE = 2\n")
    monkeypatch.setenv("PYTHONPATH", str(folder))
    monkeypatch.setenv("LOADS_FILE", str(tmp_path / "loads.txt"))
    return folder / "helper.py"


def loads(tmp_path: Path) -> int:
    counted = tmp_path / "loads.txt"
    return len(counted.read_text().splitlines()) if counted.exists() else 0


def answers(root: Path, x: float = 1.5) -> list[float]:
    return [a["score"] for a in predict_in_model_env(load_manifest(root), [{"x": x}]).answers]


def test_the_same_question_is_answered_once(tmp_path: Path, helper: Path) -> None:
    root = project(tmp_path / "p")
    assert answers(root) == [3.0]
    assert answers(root) == [3.0]
    assert loads(tmp_path) == 1
    assert answers(root, x=2.0) == [4.0]  # another record: asked
    assert loads(tmp_path) == 2


def test_a_changed_predictor_or_outside_module_is_asked_again(tmp_path: Path, helper: Path) -> None:
    root = project(tmp_path / "p")
    assert answers(root) == [3.0]
    helper.write_text("SCALE = 3\n")  # an editable package's code, edited
    assert answers(root) == [4.5]
    assert loads(tmp_path) == 2
    (root / "predict.py").write_text(textwrap.dedent(PREDICTOR).replace("* SCALE", "* SCALE + 1"))
    assert answers(root) == [5.5]
    assert loads(tmp_path) == 3


def test_a_changed_environment_is_asked_again(tmp_path: Path, helper: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    root = project(tmp_path / "p", python=str(venv / "bin" / "python"))
    assert answers(root) == [3.0]
    site = next(venv.glob("lib/python3*/site-packages"))
    (site / "extra-1.0.dist-info").mkdir()  # a package installed since
    assert answers(root) == [3.0]
    assert loads(tmp_path) == 2
    record = site / "extra-1.0.dist-info" / "RECORD"
    record.write_text("extra/__init__.py,,\n")
    assert answers(root) == [3.0]
    os.utime(record, ns=(record.stat().st_mtime_ns + 10**9,) * 2)  # `pip install .` again
    assert answers(root) == [3.0]
    assert loads(tmp_path) == 4  # the same name and version, installed again: asked again


def test_records_in_another_key_order_are_another_question(tmp_path: Path, helper: Path) -> None:
    root = project(tmp_path / "p")
    manifest = load_manifest(root)
    predict_in_model_env(manifest, [{"x": 1.0, "y": 2}])
    predict_in_model_env(manifest, [{"y": 2, "x": 1.0}])  # a predictor may read them in order
    assert loads(tmp_path) == 2


def test_only_site_folders_and_the_standard_library_count_as_the_environment(
    tmp_path: Path,
) -> None:
    """Code elsewhere under a prefix is read again at each use: a project kept under the
    base Python's prefix, pip's editable clones in `<venv>/src`."""
    venv, base, project_root = tmp_path / "venv", tmp_path / "usr", tmp_path / "usr" / "src" / "app"
    roots = [venv, venv, base]
    site = venv / "lib" / "python3.11" / "site-packages" / "sklearn"
    assert in_environment(site, roots, [], project_root)
    assert in_environment(base / "lib" / "python3.11" / "json", roots, [], project_root)
    assert not in_environment(venv / "src" / "mypkg", roots, [], project_root)
    assert not in_environment(project_root / "helpers.py", roots, [], project_root)
    assert not in_environment(base / "src" / "other" / "pkg", roots, [], project_root)


def test_a_failure_is_never_kept(tmp_path: Path, helper: Path) -> None:
    root = project(tmp_path / "p")
    for _ in range(2):
        with pytest.raises(WorkbenchError):
            answers_of_missing_field(root)
    assert loads(tmp_path) == 2


def answers_of_missing_field(root: Path) -> None:
    predict_in_model_env(load_manifest(root), [{"y": 1}])


def test_the_same_answers_are_scored_once(
    tmp_path: Path, helper: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve.quality scores the candidate's answers at `tag` as it did at `serve --test`:
    scored once while the answers, the metric and the environment are the same."""
    from workbench.project.manifest import EvaluationSpec
    from workbench.steps.serve import quality

    started = []
    real = quality.run_json_script
    monkeypatch.setattr(
        quality, "run_json_script", lambda *a, **k: started.append(1) or real(*a, **k)
    )
    manifest = load_manifest(project(tmp_path / "p"))
    spec = EvaluationSpec(data="held.csv", target="y", metric="accuracy")
    answers = [{"prediction": "a"}, {"prediction": "b"}]
    assert quality.score(manifest, spec, ["a", "a"], answers)["value"] == 0.5
    assert quality.score(manifest, spec, ["a", "a"], answers)["value"] == 0.5
    assert len(started) == 1
    assert quality.score(manifest, spec, ["a", "b"], answers)["value"] == 1.0
    assert len(started) == 2


def test_tracking_reads_is_one_question_with_the_plain_one_unless_a_predictor_class(
    tmp_path: Path, helper: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot and the schema check ask about the examples tracking the fields read;
    the serve test asks the same records plainly. Only a predictor class's records are
    tracked (they come back with `fields_read`), so for a model file the three are one
    question: the interpreter is started once."""
    import joblib
    from sklearn.linear_model import LinearRegression

    from workbench.project import model_env

    started: list[int] = []
    real = model_env.run_json_script
    monkeypatch.setattr(
        model_env, "run_json_script", lambda *a, **k: started.append(1) or real(*a, **k)
    )
    fitted = tmp_path / "f"
    (fitted / "model").mkdir(parents=True)
    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [1.0, 3.0]), fitted / "model" / "m.joblib")
    project(fitted)
    (fitted / "workbench.yaml").write_text(
        f"name: fitted\npython: {sys.executable}\nmodel:\n  flavor: sklearn\n"
        "  artifact: model/m.joblib\n"
    )
    manifest = load_manifest(fitted)
    tracked = predict_in_model_env(manifest, [{"x": 2.0}], track_reads=True)
    plain = predict_in_model_env(manifest, [{"x": 2.0}])
    assert tracked.answers == plain.answers and len(started) == 1
    assert "fields_read" not in plain.facts

    root = project(tmp_path / "p")  # a predictor class: its reads are another question
    tracked = predict_in_model_env(load_manifest(root), [{"x": 2.0}], track_reads=True)
    plain = predict_in_model_env(load_manifest(root), [{"x": 2.0}])
    assert "fields_read" in tracked.facts and "fields_read" not in plain.facts
    assert len(started) == 3 and loads(tmp_path) == 2


def test_projects_sharing_a_folder_share_the_answers_to_the_same_question(
    tmp_path: Path, helper: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`WORKBENCH_ANSWERS_DIR`: one folder for several projects (two clones; the test suite's
    copies of the example). The key holds all an answer came from and no project's path: a
    second project with the same model asks nothing; another model is asked."""
    one, two = project(tmp_path / "one"), project(tmp_path / "two")
    assert answers(one) == [3.0] and answers(two) == [3.0]
    assert loads(tmp_path) == 2  # each project's own folder: asked by each
    shared = tmp_path / "shared"
    monkeypatch.setenv("WORKBENCH_ANSWERS_DIR", str(shared))
    assert answers(one) == [3.0] and answers(two) == [3.0]
    assert loads(tmp_path) == 3  # asked once for both
    assert len(list(shared.glob("*.json"))) == 1
    (two / "predict.py").write_text((two / "predict.py").read_text().replace("* SCALE", "* 3"))
    assert answers(two) == [4.5] and answers(one) == [3.0]
    assert loads(tmp_path) == 4  # the changed model asked; the other still answered


def test_a_shared_folder_others_may_write_into_is_not_trusted(
    tmp_path: Path, helper: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept answers decide the parity and quality items: a folder anyone may write into
    (a planted answer would pass a broken image) is not used; the project's own is."""
    shared = tmp_path / "open"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("WORKBENCH_ANSWERS_DIR", str(shared))
    root = project(tmp_path / "p")
    assert answers(root) == [3.0] and answers(root) == [3.0] and loads(tmp_path) == 1
    assert list(shared.iterdir()) == [] and list((root / ".workbench" / "answers").iterdir())
