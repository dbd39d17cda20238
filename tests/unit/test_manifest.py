"""The manifest loader: defaults, and one clear paragraph for each kind of mistake."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workbench.kernel.errors import ManifestError
from workbench.project.manifest import load_manifest

GOOD = """\
name: churn-model
model:
  flavor: sklearn
  artifact: models/model.joblib
"""


def project(tmp_path: Path, text: str, *, artifact: bool = True) -> Path:
    if artifact:
        (tmp_path / "models").mkdir(exist_ok=True)
        (tmp_path / "models" / "model.joblib").write_bytes(b"x")
    (tmp_path / "workbench.yaml").write_text(text)
    return tmp_path


def error_of(tmp_path: Path, text: str, **kwargs: bool) -> str:
    with pytest.raises(ManifestError) as caught:
        load_manifest(project(tmp_path, text, **kwargs))
    message = str(caught.value)
    assert "\n" not in message, "an error is one paragraph"
    assert "workbench.yaml" in message, "an error names the file"
    assert "Fix:" in message, "an error says how to fix it"
    return message


def test_defaults_fill_what_the_file_leaves_out(tmp_path: Path) -> None:
    manifest = load_manifest(project(tmp_path, GOOD))
    assert manifest.name == "churn-model"
    assert manifest.schema.request == "schema/request.yaml"
    assert manifest.serve.port == 8080
    assert manifest.serve.base_image is None
    assert manifest.release.tag_prefix == "v"
    assert manifest.interpreter() == Path(sys.executable)
    assert manifest.resolve("models/model.joblib").exists()


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "name: churn\nmodel:\n  flavor: sklearn\n   artifact: [x\n")
    assert "line 4" in message
    assert "not valid YAML" in message


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("flavor:", "flavour:"))
    assert "line 3" in message
    assert "`model.flavour`: unknown key; did you mean `model.flavor`?" in message


def test_unknown_top_level_key_suggests(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD + "registy: localhost:5000/team/churn\n")
    assert "did you mean `registry`?" in message


def test_wrong_type_names_the_field_and_what_was_expected(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD + "serve:\n  port: eighty\n")
    assert "line 6" in message
    assert "`serve.port`: expected a whole number" in message
    assert "got text" in message


def test_wrong_choice_suggests(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("flavor: sklearn", "flavor: sklaern"))
    assert (
        "`model.flavor`: `sklaern` is not one of sklearn, python; did you mean `sklearn`?"
        in message
    )


def test_missing_artifact_path_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD, artifact=False)
    assert "line 4" in message
    assert "`model.artifact`: `models/model.joblib` does not exist" in message


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    text = "name: Churn Model\nmodel:\n  flavor: sklearn\n  artifact: nope.joblib\nserve: 3\n"
    message = error_of(tmp_path, text)
    assert "3 problems" in message
    assert "`name`: `Churn Model` is not valid" in message
    assert "`serve`: expected a mapping" in message


def test_missing_name_and_missing_manifest(tmp_path: Path) -> None:
    message = error_of(tmp_path, "model:\n  flavor: sklearn\n  artifact: models/model.joblib\n")
    assert "`name`: is missing" in message
    with pytest.raises(ManifestError, match="workbench init"):
        load_manifest(tmp_path / "elsewhere")


def test_python_flavor_needs_a_predictor_reference(tmp_path: Path) -> None:
    message = error_of(tmp_path, "name: m\nmodel:\n  flavor: python\n")
    assert "`model.predictor`: is missing" in message
    message = error_of(tmp_path, "name: m\nmodel:\n  flavor: python\n  predictor: predict.Model\n")
    assert "`model.predictor`: `predict.Model` is not valid" in message


def test_interpreter_is_resolved_but_not_required_at_load(tmp_path: Path) -> None:
    manifest = load_manifest(project(tmp_path, GOOD + "python: .venv/bin/python\n"))
    assert manifest.interpreter() == tmp_path.resolve() / ".venv" / "bin" / "python"
    assert not manifest.interpreter().exists()  # the Snapshot step reports it, not the loader


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    message = error_of(tmp_path, "- name\n- model\n")
    assert "expected a mapping of keys, got a list" in message
