"""What the tag step reads from git, on real repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import git, hand_made_release
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.records import Channel, ChannelMove, PushInfo
from workbench.project.releases import (
    foreign_tags,
    load_release,
    releases,
    save_channels,
    save_release,
)
from workbench.project.scaffold import copy_example
from workbench.steps import open_checklist
from workbench.steps.tag.files import content_fingerprint, dirty_files
from workbench.steps.tag.release import GATED_STEPS, create_release, suggest

WORKBENCH = str(Path(sys.executable).parent / "workbench")


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


def iris_in_git(root: Path, registry: str | None = None) -> Path:
    """The iris example committed in a fresh repository (no environment, no image)."""
    folder = copy_example("iris", root / "iris")
    if registry:
        with (folder / "workbench.yaml").open("a") as manifest:
            manifest.write(f"registry: {registry}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Ana Tester")
    git(root, "config", "user.email", "ana@example.com")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "the iris model")
    return folder


def test_writing_the_kubernetes_files_makes_no_tag_item_stale(tmp_path: Path) -> None:
    # They are the workbench's own output: readiness 42% -> 0% when they made the tree
    # "dirty" (and tag.git-clean failed on them).
    project = iris_in_git(tmp_path, "localhost:5000/team/iris")
    manifest = load_manifest(project)
    digest = "sha256:" + "ab" * 32
    hand_made_release(manifest, "1.0.0", [])  # pushed as the digest the channel names
    release = load_release(manifest, "1.0.0")
    release.push = PushInfo(pushed=True, digest=digest)
    save_release(manifest, release)
    git(project, "add", "-A")
    git(project, "commit", "-qm", "release 1.0.0")
    move = ChannelMove(version="1.0.0", digest=digest, action="promote", at="t", by="Ana")
    save_channels(manifest, {"production": Channel(current="1.0.0", digest=digest, history=[move])})
    checklist = open_checklist(manifest, user="Ana")
    list(checklist.run(checklist.auto_ids("tag"), CheckContext(manifest)))
    before = {v.item.id: v.status for v in checklist.views("tag")}
    assert before["tag.git-clean"] is Status.PASS
    score = checklist.summary("tag").fraction

    env = {**os.environ, "KUBECONFIG": str(tmp_path / "no-cluster")}  # never a real cluster
    done = subprocess.run(
        [WORKBENCH, "deploy", "-c", "production", "--target", "kubernetes", "-p", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / "deploy" / "kubernetes" / "production" / "deployment.yaml").exists()

    checklist.refresh()
    assert {v.item.id: v.status for v in checklist.views("tag")} == before
    assert checklist.summary("tag").fraction == score
    again = {
        e.item_id: e.view.status
        for e in checklist.run(["tag.git-clean"], CheckContext(manifest))
        if isinstance(e, ItemFinished)
    }
    assert again == {"tag.git-clean": Status.PASS}


def test_tag_refuses_a_release_whose_image_file_is_in_no_commit(tmp_path: Path) -> None:
    # A real project ignores `*.py`: its helper module goes into the image, into no commit.
    project = iris_in_git(tmp_path)
    (project / "features.py").write_text("SCALE = 2\n")
    with (project / ".gitignore").open("a") as ignore:
        ignore.write("*.py\n")
    text = (project / "workbench.yaml").read_text()
    (project / "workbench.yaml").write_text(
        text.replace(
            "  artifact: model/model.joblib\n",
            "  artifact: model/model.joblib\n  code: [features.py]\n",
        )
    )
    git(project, "commit", "-q", "-am", "the model needs features.py")
    checklist = open_checklist(load_manifest(project), user="Ana")
    for view in checklist.blockers(GATED_STEPS):  # the gates are not what this is about
        checklist.waive(view.item.id, "not what this test is about")
    with pytest.raises(WorkbenchError) as refused:
        create_release(checklist)
    assert "features.py is ignored by iris/.gitignore:5 (*.py)" in refused.value.message
    assert releases(checklist.manifest) == []
    assert git(project, "tag", "--list") == ""


def manifest_complete(folder: Path) -> tuple[Status, list[str]]:
    manifest = load_manifest(folder)
    events = open_checklist(manifest).run(["tag.manifest-complete"], CheckContext(manifest))
    (view,) = [e.view for e in events if isinstance(e, ItemFinished)]
    return view.status, view.evidence


def test_manifest_complete_reads_every_hash_back_at_the_tag(tmp_path: Path) -> None:
    from tests.functional.test_tag_push_faults import project, release

    folder = project(tmp_path)
    release(folder, "1.0.0")
    status, evidence = manifest_complete(folder)
    files = load_release(load_manifest(folder), "1.0.0").hashes.files
    # every file of the image and of the serve test, the binary artifact included
    assert {
        "environment.lock",
        "model/model.joblib",
        "schema/request.yaml",
        "schema/response.yaml",
        "schema/examples/setosa.json",
        "data/holdout.csv",
        "schema/expectations.yaml",
    } <= set(files)
    assert status is Status.PASS, evidence
    assert evidence[0] == f"{len(files)} hashes compared with the files at v1.0.0: all equal"

    # The artifact changed after the tag: what is compared is the file AT the tag, so the
    # release still holds (the working tree is another matter: tag.git-clean, staleness).
    (folder / "model" / "model.joblib").write_bytes(b"retrained")
    assert manifest_complete(folder)[0] is Status.PASS

    # A recorded hash that is not the tagged file's (the manifest edited, or the tag moved):
    # it compared only the lock and the schemas, and passed on a file it could not read.
    path = folder / "releases" / "1.0.0.yaml"
    recorded = files["model/model.joblib"]
    path.write_text(path.read_text().replace(recorded, "sha256:" + "9" * 64))
    status, evidence = manifest_complete(folder)
    assert status is Status.FAIL
    assert (
        f"model/model.joblib: the release recorded sha256:999999999999, the file at v1.0.0 is "
        f"{recorded[:19]}"
    ) in evidence


def test_an_older_manifest_without_per_file_hashes_is_read_and_says_what_it_lacks(
    tmp_path: Path,
) -> None:
    from tests.functional.test_tag_push_faults import ignored_code, project, release

    folder = project(tmp_path)
    release(folder, "1.0.0")
    path = folder / "releases" / "1.0.0.yaml"
    text = path.read_text()
    older = text[: text.index("  files:")] + text[text.index("base_image:") :]
    path.write_text(older)
    assert load_release(load_manifest(folder), "1.0.0").hashes.files == {}
    status, evidence = manifest_complete(folder)
    assert status is Status.WARN, evidence
    assert evidence[0] == "4 hashes compared with the files at v1.0.0: all equal"
    assert "recorded before releases hashed every file" in evidence[1]

    # Such a release of a project whose helper module git ignores: in the image, in no
    # commit. It passed, as the manifest hashed neither.
    older_release = project(tmp_path / "ignored")
    ignored_code(older_release)
    release(older_release, "1.0.0")
    path = older_release / "releases" / "1.0.0.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("  files:")] + text[text.index("base_image:") :])
    status, evidence = manifest_complete(older_release)
    assert status is Status.FAIL, evidence
    assert len(evidence) == 1 and evidence[0].startswith(
        "features.py goes into the image but cannot be read at v1.0.0: it is not in the "
        "tagged commit (ignored by .gitignore"
    ), evidence


def test_a_file_added_after_a_release_is_no_gap_of_that_release(tmp_path: Path) -> None:
    from tests.functional.test_tag_push_faults import project, release

    folder = project(tmp_path)
    release(folder, "1.0.0")
    status, evidence = manifest_complete(folder)
    assert status is Status.PASS, evidence
    examples = load_manifest(folder).resolve(load_manifest(folder).schema.examples)
    (examples / "three.json").write_text((next(examples.iterdir())).read_text())
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "one more example, after the release")
    status, evidence = manifest_complete(folder)
    assert status is Status.PASS, evidence  # the 1.0.0 image never held it


def test_git_clean_names_an_image_file_never_added_to_git(tmp_path: Path) -> None:
    from tests.functional.test_tag_push_faults import ignored_code, project

    folder = project(tmp_path)
    ignored_code(folder)
    (folder / ".gitignore").write_text((folder / ".gitignore").read_text().replace("*.py\n", ""))
    git(folder, "commit", "-qam", "python files are no longer ignored")
    manifest = load_manifest(folder)
    events = open_checklist(manifest).run(["tag.git-clean"], CheckContext(manifest))
    (view,) = [e.view for e in events if isinstance(e, ItemFinished)]
    assert view.status is Status.FAIL
    assert view.evidence == [
        "features.py goes into the image but is untracked (never added to git)"
    ]


def test_a_release_is_made_of_the_files_the_build_copies_folder_by_file(tmp_path: Path) -> None:
    from workbench.steps.tag.files import release_files

    folder = copy_example("iris", tmp_path / "iris")
    (folder / "lib" / "__pycache__").mkdir(parents=True)
    (folder / "lib" / "features.py").write_text("SCALE = 2\n")
    (folder / "lib" / "vocabulary.pkl").write_bytes(b"a second pickle")
    (folder / "lib" / "__pycache__" / "features.cpython-311.pyc").write_bytes(b"bytecode")
    text = (folder / "workbench.yaml").read_text()
    (folder / "workbench.yaml").write_text(
        text.replace(
            "  artifact: model/model.joblib\n", "  artifact: model/model.joblib\n  code: [lib]\n"
        )
    )
    listed = release_files(load_manifest(folder))
    assert {"lib/features.py", "lib/vocabulary.pkl", "model/model.joblib"} <= set(listed)
    assert not [name for name in listed if "__pycache__" in name]
    assert "train.py" not in listed  # not copied into the image


def test_a_file_at_a_tag_is_read_as_a_checkout_writes_it_through_the_repositorys_filters(
    git_repo: Path,
) -> None:
    """With `eol=crlf` the working tree (what the release hashed) has CRLF and the raw blob
    LF: tag.manifest-complete read the raw blob and failed an intact release. Git LFS's
    smudge filter is the same case (the raw blob is the pointer)."""
    from workbench.kernel import git as kernel_git

    (git_repo / ".gitattributes").write_text("*.csv text eol=crlf\n")
    (git_repo / "data.csv").write_bytes(b"a,b\r\n1,2\r\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "data")
    raw = subprocess.run(
        ["git", "cat-file", "blob", "HEAD:data.csv"], cwd=git_repo, capture_output=True
    ).stdout
    assert raw == b"a,b\n1,2\n"  # what the old reading compared
    assert kernel_git.blob(git_repo, "HEAD", "data.csv") == (git_repo / "data.csv").read_bytes()
    assert kernel_git.blob(git_repo, "HEAD", "missing.csv") is None
