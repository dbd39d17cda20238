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
    assert manifest.resolve("models/model.joblib").exists()
    with pytest.raises(ManifestError, match="never inspects its own interpreter"):
        manifest.interpreter()  # no python: and no .venv: never the workbench's own
    venv_python = manifest.root / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(sys.executable)
    assert manifest.interpreter() == venv_python  # the project's .venv, symlink kept


def test_paths_must_stay_in_the_project_and_the_artifact_must_be_a_file(tmp_path: Path) -> None:
    outside = tmp_path / "outside.joblib"
    outside.write_bytes(b"m")
    (tmp_path / "a").mkdir()
    message = error_of(tmp_path / "a", GOOD.replace("models/model.joblib", "../outside.joblib"))
    assert "`model.artifact`: `../outside.joblib` resolves outside the project" in message
    (tmp_path / "b").mkdir()
    root = project(tmp_path / "b", GOOD)
    (root / "models" / "link.joblib").symlink_to(outside)  # a symlink out counts too
    (root / "workbench.yaml").write_text(GOOD.replace("models/model.joblib", "models/link.joblib"))
    with pytest.raises(ManifestError, match="resolves outside the project"):
        load_manifest(root)
    (root / "workbench.yaml").write_text(GOOD.replace("models/model.joblib", "models"))
    with pytest.raises(ManifestError, match="is a folder"):
        load_manifest(root)
    (tmp_path / "c").mkdir()
    message = error_of(tmp_path / "c", GOOD + "serve:\n  port: 70000\n")
    assert "must be at most 65535" in message
    (tmp_path / "d").mkdir()
    message = error_of(tmp_path / "d", GOOD + "registry: localhost:99999/team/m\n")
    assert "port over 65535" in message


def test_a_misspelt_predictor_class_gets_a_suggestion(tmp_path: Path) -> None:
    text = "name: churn\nmodel:\n  flavor: python\n  predictor: predict:ChurnModl\n"
    root = tmp_path / "p"
    root.mkdir()
    (root / "predict.py").write_text("class ChurnModel:\n    pass\n")
    (root / "workbench.yaml").write_text(text)
    with pytest.raises(ManifestError, match=r"did you mean `predict:ChurnModel`\?"):
        load_manifest(root)


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
        "`model.flavor`: `sklaern` is not one of sklearn, python, onnx, torch; "
        "did you mean `sklearn`?" in message
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


def test_system_packages_are_debian_package_names(tmp_path: Path) -> None:
    good = load_manifest(
        project(tmp_path, GOOD + "serve:\n  system_packages: [libgomp1, libstdc++6]\n")
    )
    assert good.serve.system_packages == ("libgomp1", "libstdc++6")
    assert load_manifest(project(tmp_path, GOOD)).serve.system_packages == ()
    said = error_of(tmp_path, GOOD + "serve:\n  system_packages: [libgomp1, 'gcc; rm -rf /']\n")
    assert "serve.system_packages" in said and "gcc; rm -rf /" in said
    said = error_of(tmp_path, GOOD + "serve:\n  system_packages: libgomp1\n")
    assert "serve.system_packages" in said and "expected a list" in said


def test_the_project_id_is_the_projects_folder_not_its_name(tmp_path: Path) -> None:
    from workbench.project.manifest import project_id

    one, two = tmp_path / "a" / "iris", tmp_path / "b" / "iris"
    for root in (one, two):
        root.mkdir(parents=True)
        (root / "workbench.yaml").write_text("name: iris\nmodel:\n  artifact: m.joblib\n")
        (root / "m.joblib").write_bytes(b"")
    same = (one / "workbench.yaml", tmp_path / "a" / "." / "iris")
    assert project_id(one) == project_id(same[0]) == project_id(same[1])
    assert project_id(one) != project_id(two)
    assert load_manifest(one).project_id == project_id(one)


def test_the_tensor_flavors_need_their_file_and_labels_are_for_torch_and_onnx(
    tmp_path: Path,
) -> None:
    message = error_of(tmp_path, "name: net\nmodel:\n  flavor: torch\n")
    assert "`model.artifact`: is missing; flavor torch needs the saved model file" in message
    message = error_of(tmp_path, GOOD + "  labels: [no, yes]\n")
    assert "`model.labels`: is only for flavors torch and onnx" in message and "line 5" in message
    onnx = "name: net\nmodel:\n  flavor: onnx\n  artifact: m.onnx\n  labels: [no, yes]\n"
    (tmp_path / "m.onnx").write_bytes(b"")
    assert load_manifest(project(tmp_path, onnx)).model.labels == ("no", "yes")


def test_serve_gpu_is_a_count_of_gpus(tmp_path: Path) -> None:
    assert load_manifest(project(tmp_path, GOOD)).serve.gpu == 0  # a CPU image by default
    declared = load_manifest(project(tmp_path, GOOD + "serve:\n  gpu: 2\n"))
    assert declared.serve.gpu == 2
    message = error_of(tmp_path, GOOD + "serve:\n  gpu: -1\n")
    assert "`serve.gpu`" in message
