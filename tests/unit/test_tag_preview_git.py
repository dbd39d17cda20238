"""`workbench tag --dry-run` refuses what the real tag refuses before it builds anything:
a model file git ignores (a `.gitignore` of `*.pkl`) or never added, and uncommitted
changes. It said "no gate ... blocks now: `workbench tag` would build the release
candidate image and test it", and the tag then refused at once: `files that go into the
image are in no commit: models/model.pkl is ignored by .gitignore:1 (*.pkl)`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps import gatekeeper, open_checklist
from workbench.steps.tag.preview import preview
from workbench.steps.tag.release import GATED_STEPS


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, timeout=60)


def committed_iris(root: Path, ignore: str) -> Path:
    folder = copy_example("iris", root / "iris")
    (folder / ".gitignore").write_text(ignore)
    (folder / "environment.lock").write_text("scikit-learn==1.5.2 --hash=sha256:00\n")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "-c", "user.name=Ana", "-c", "user.email=a@example.com", "add", ".")
    git(folder, "-c", "user.name=Ana", "-c", "user.email=a@example.com", "commit", "-qm", "m")
    return folder


def seen(folder: Path) -> list[str]:
    checklist = open_checklist(load_manifest(folder), user="Ana")
    for view in checklist.blockers(GATED_STEPS):  # nothing else blocks
        checklist.waive(view.item.id, "not what this test is about")
    return preview(gatekeeper(checklist)).blocking


def test_a_dry_run_refuses_an_artifact_git_ignores(tmp_path: Path) -> None:
    folder = committed_iris(tmp_path, "*.pkl\n*.joblib\n")
    artifact = load_manifest(folder).model.artifact
    blocking = seen(folder)
    assert any(
        "files the release is made of (what the image is built from, what its tests read) are "
        "in no commit"
        in line
        and f"{artifact} is ignored by .gitignore" in line
        and "git add -f" in line
        for line in blocking
    ), blocking


def test_a_dry_run_refuses_uncommitted_changes_and_passes_a_clean_tree(tmp_path: Path) -> None:
    folder = committed_iris(tmp_path, ".venv/\n")
    assert seen(folder) == []
    (folder / "predict_helpers.py").write_text("x = 1\n")
    blocking = seen(folder)
    assert any(
        "uncommitted changes: predict_helpers.py" in line and "commit" in line for line in blocking
    ), blocking


def test_held_out_data_git_ignores_is_named_as_the_releases_not_the_images(
    tmp_path: Path,
) -> None:
    """`data/` ignored: the held-out data is no file of the image, so the refusal does not
    say it goes into the image (it did: `files that go into the image ...: data/...`)."""
    folder = committed_iris(tmp_path, "data/\n")
    (blocking,) = seen(folder)
    assert "data/holdout.csv is ignored by .gitignore:1 (data/)" in blocking, blocking
    assert "go into the image" not in blocking
