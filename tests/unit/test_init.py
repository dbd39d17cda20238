"""`workbench init`: guesses, never overwrites, copies the example."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example, guess, init_project, render_manifest


def model_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "churn.joblib").write_bytes(b"model")
    (root / "notebooks").mkdir()
    (root / "notebooks" / "scratch.pkl").write_bytes(b"old")
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").write_text("#!/bin/sh\n")
    (root / ".venv" / "lib").mkdir()
    (root / ".venv" / "lib" / "other.pkl").write_bytes(b"not the model")
    return root


def test_init_guesses_artifact_and_interpreter_and_writes_a_manifest_that_loads(
    tmp_path: Path,
) -> None:
    root = model_project(tmp_path / "Churn Model")
    target, g = init_project(root)
    assert g.artifact == "models/churn.joblib"
    assert g.python == ".venv/bin/python"
    manifest = load_manifest(root)
    assert manifest.name == "churn-model"
    assert manifest.model.artifact == "models/churn.joblib"
    assert manifest.interpreter() == root.resolve() / ".venv" / "bin" / "python"
    assert target.read_text().startswith("# workbench manifest")


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    root = model_project(tmp_path / "m")
    (root / "workbench.yaml").write_text("name: mine  # hand-written\n")
    with pytest.raises(WorkbenchError, match="already exists; it was left as it is"):
        init_project(root)
    assert (root / "workbench.yaml").read_text() == "name: mine  # hand-written\n"
    init_project(root, force=True)
    assert "hand-written" not in (root / "workbench.yaml").read_text()


def test_onnx_artifact_gets_the_onnx_flavor(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    g = guess(tmp_path)
    assert (g.flavor, g.artifact) == ("onnx", "model.onnx")
    assert "  # labels: [no, yes]" in render_manifest(g)  # for a graph of logits


def test_a_torchscript_file_gets_the_torch_flavor_and_a_labels_hint(tmp_path: Path) -> None:
    (tmp_path / "net.pt").write_bytes(b"torchscript")
    g = guess(tmp_path)
    assert (g.flavor, g.artifact) == ("torch", "net.pt")
    rendered = render_manifest(g)
    assert "flavor: torch" in rendered and "# labels: [no, yes]" in rendered


def test_copy_example_gives_a_complete_project(tmp_path: Path) -> None:
    dest = copy_example("iris", tmp_path / "iris")
    for relative in (
        "workbench.yaml",
        "train.py",
        "model/model.joblib",
        "requirements.txt",
        "schema/request.yaml",
        "schema/response.yaml",
        "schema/examples/setosa.json",
    ):
        assert (dest / relative).is_file(), relative
    with pytest.raises(WorkbenchError, match="is not empty"):
        copy_example("iris", dest)
    with pytest.raises(WorkbenchError, match="choose one of: iris"):
        copy_example("mnist", tmp_path / "other")


def test_init_keeps_the_environment_scratch_and_caches_out_of_git(tmp_path: Path) -> None:
    (tmp_path / "model.joblib").write_bytes(b"m")
    (tmp_path / ".gitignore").write_text("data/\n.venv/\n")
    _, guessed = init_project(tmp_path)
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert list(guessed.gitignored) == lines[2:]  # said, not silent (a new user's trial)
    assert lines[:2] == ["data/", ".venv/"]  # what was there stays, once
    assert ".venv" not in lines  # `.venv/` already covers it
    for entry in (".workbench/", "__pycache__/", ".ipynb_checkpoints/"):
        assert entry in lines
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "model.joblib").write_bytes(b"m")
    init_project(fresh)
    # `.venv` without a slash: it also ignores a .venv that is a symlink to an environment.
    assert ".venv" in (fresh / ".gitignore").read_text().splitlines()


def test_the_registry_replaces_the_starters_hint_in_its_place(tmp_path: Path) -> None:
    """`init --registry` left `# registry: localhost:5000/team/...` and added the real line
    at the end of the file (a new user's trial): it takes the hint's place."""
    from workbench.project.scaffold import set_registry

    (tmp_path / "model.joblib").write_bytes(b"m")
    target, _ = init_project(tmp_path)
    set_registry(tmp_path, "127.0.0.1:5066/team/reviews")
    lines = target.read_text().splitlines()
    assert "registry: 127.0.0.1:5066/team/reviews" in lines
    assert not any(line.startswith("# registry:") for line in lines)
    assert lines.index("registry: 127.0.0.1:5066/team/reviews") < lines.index("release:")
    assert load_manifest(tmp_path).registry == "127.0.0.1:5066/team/reviews"
