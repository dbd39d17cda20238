"""What the tag step reads from git, on real repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import git
from workbench.checklist.checks import CheckContext
from workbench.checklist.engine import ItemFinished
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.releases import foreign_tags, releases
from workbench.steps import open_checklist
from workbench.steps.tag.files import content_fingerprint, dirty_files
from workbench.steps.tag.release import suggest


def write_project(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workbench.yaml").write_text("name: churn\nmodel:\n  artifact: model.joblib\n")
    (folder / "model.joblib").write_bytes(b"model")


def test_dirty_files_names_user_changes_and_leaves_out_the_workbench_files(
    git_repo: Path,
) -> None:
    project = git_repo / "models" / "churn"  # a project below the repository's root
    write_project(project)
    (project / "train.py").write_text("print('v1')\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "churn model")
    manifest = load_manifest(project)
    assert dirty_files(manifest) == []

    (project / "train.py").write_text("print('v2')\n")  # porcelain " M": a leading space
    (project / "notes.txt").write_text("todo\n")
    for written in ("checklist.yaml", "snapshot.yaml", "releases/1.0.0.yaml", ".workbench/x"):
        (project / written).parent.mkdir(parents=True, exist_ok=True)
        (project / written).write_text("by the workbench\n")
    (git_repo / "elsewhere.txt").write_text("outside the project\n")
    assert sorted(dirty_files(manifest)) == ["notes.txt", "train.py"]


def test_dirty_files_outside_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    write_project(tmp_path)
    with pytest.raises(WorkbenchError, match="is not in a git repository"):
        dirty_files(load_manifest(tmp_path))


def test_a_projects_own_older_tag_is_not_taken_for_a_release(git_repo: Path) -> None:
    # A project that tagged v1.1.0 itself, long before the workbench: no release manifest.
    write_project(git_repo)
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "the model")
    git(git_repo, "tag", "-a", "v1.1.0", "-m", "our own old tag")
    manifest = load_manifest(git_repo)
    assert releases(manifest) == []
    assert foreign_tags(manifest) == ["v1.1.0"]
    assert str(suggest(manifest).version) == "1.0.0"  # not 1.1.1
    checklist = open_checklist(manifest)
    result = next(
        e.view
        for e in checklist.run(["tag.version-valid"], CheckContext(manifest))
        if isinstance(e, ItemFinished)
    )
    assert result.status.value == "skipped"
    assert "not the workbench's, ignored: v1.1.0" in result.evidence[0]


def test_read_only_git_calls_work_beside_a_stale_index_lock(git_repo: Path) -> None:
    # A killed git process leaves .git/index.lock; reading the state must not need it (and
    # must never leave one behind itself).
    write_project(git_repo)
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "the model")
    (git_repo / "train.py").write_text("print('changed')\n")
    lock = git_repo / ".git" / "index.lock"
    lock.write_text("")
    manifest = load_manifest(git_repo)
    assert dirty_files(manifest) == ["train.py"]
    assert content_fingerprint(manifest).startswith("sha256:")
    lock.unlink()
    dirty_files(manifest)
    assert not lock.exists()
