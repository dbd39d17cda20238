"""A release journal is obeyed only when the workbench could have written it: a repository
that commits a hand-made one never gets files outside its releases deleted, nor a user's
own tag."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.helpers import git
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.project.transaction import journal_path, pending, recover


def _project(tmp_path: Path) -> Path:
    project = copy_example("iris", tmp_path / "iris")
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.name", "Ana Tester")
    git(project, "config", "user.email", "ana@example.com")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "the iris model")
    git(project, "tag", "-a", "v1.0.0", "-m", "the user's own tag")
    return project


def _journal(project: Path, **fields: object) -> None:
    journal = {
        "version": "1.0.0",
        "tag": "v1.0.0",
        "start": git(project, "rev-parse", "HEAD"),
        "files": ["releases/1.0.0.yaml"],
        "staged": [],
        "image_id": "sha256:0",
        "image_ref": "x:1",
        **fields,
    }
    journal_path(project).parent.mkdir(exist_ok=True)
    journal_path(project).write_text(json.dumps(journal))


def test_a_hostile_journal_is_ignored_and_deletes_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("not the workbench's")
    for hostile in (
        {"files": ["../victim.txt"]},
        {"files": ["releases/1.0.0.yaml", "workbench.yaml"]},
        {"staged": ["../victim.txt"]},
        {"version": "not a version"},
    ):
        _journal(project, **hostile)
        assert pending(project) is None, hostile
        assert recover(load_manifest(project)) is None
    assert victim.read_text() == "not the workbench's"
    assert (project / "workbench.yaml").exists()


def test_a_journal_never_deletes_a_tag_that_is_not_its_release_commit(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _journal(project)  # well formed, but v1.0.0 is the user's tag on a commit of theirs
    said = recover(load_manifest(project))
    assert said is not None and "undone" in said
    assert git(project, "tag", "--list", "v1.0.0") == "v1.0.0"  # the user's tag stays
    assert (
        "the iris model"
        in subprocess.run(
            ["git", "log", "-1", "--format=%s"], cwd=project, capture_output=True, text=True
        ).stdout
    )


def test_every_file_a_release_writes_is_one_a_journal_may_name(tmp_path: Path) -> None:
    """A journal naming a file its pattern does not know is ignored as hostile, and then a
    killed `tag` leaves a phantom release nobody undoes (seen: the provenance file was
    added to releases without the pattern knowing it)."""
    from workbench.project.manifest import load_manifest
    from workbench.project.releases import frozen_checklist_path, release_path
    from workbench.project.scaffold import copy_example
    from workbench.project.transaction import RELEASE_FILE
    from workbench.steps.tag.provenance import provenance_path
    from workbench.steps.tag.sbom import sbom_path

    manifest = load_manifest(copy_example("iris", tmp_path / "iris"))
    written = [
        release_path(manifest, "1.2.3"),
        frozen_checklist_path(manifest, "1.2.3"),
        sbom_path(manifest, "1.2.3"),
        provenance_path(manifest, "1.2.3"),
    ]
    for path in written:
        relative = path.relative_to(manifest.root).as_posix()
        match = RELEASE_FILE.match(relative)
        assert match is not None and match.group("version") == "1.2.3", relative


def test_a_lock_git_left_when_it_was_killed_is_removed_but_never_a_live_ones(
    tmp_path: Path,
) -> None:
    """A `git commit` killed with the release leaves .git/index.lock and every later git
    command fails (the undo then left files staged while saying it had undone them)."""
    from workbench.kernel.git import remove_stale_git_locks

    project = _project(tmp_path)
    lock = project / ".git" / "index.lock"
    with lock.open("w"):  # a git that is running holds it open: left alone
        remove_stale_git_locks(project)
        assert lock.exists()
    assert remove_stale_git_locks(project) == ["index.lock"]  # nobody holds it: a killed git's
    assert not lock.exists()
    git(project, "status")  # git works again


def _running_as_git(pid: int) -> None:
    """Wait (bounded: 5 s) until the process reads as git in /proc, waiting on its stdin."""
    for _ in range(100):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            comm, state = "", ""
        if comm.startswith("git") and state == "S":
            return
        time.sleep(0.05)


def test_the_ref_locks_a_commit_killed_mid_way_left_are_removed_unless_a_git_runs_there(
    tmp_path: Path,
) -> None:
    """CI saw `cannot lock ref 'HEAD': .git/HEAD.lock: File exists` on the release after a
    `git commit` killed between writing HEAD.lock and renaming it (never held open then, so
    an open-file test alone cannot tell it from a live git's: a git running in the
    repository keeps every lock; a git elsewhere, as parallel tests run them, does not)."""
    from workbench.kernel.git import remove_stale_git_locks

    project = _project(tmp_path)
    branch = git(project, "symbolic-ref", "--short", "HEAD")
    left = [project / ".git" / "HEAD.lock", project / ".git" / "refs" / "heads" / f"{branch}.lock"]
    for lock in left:
        lock.write_text("0" * 40 + "\n")
    blocked = subprocess.run(
        ["git", "commit", "--allow-empty", "-m", "blocked"], cwd=project, capture_output=True
    )
    assert blocked.returncode != 0 and b"HEAD.lock" in blocked.stderr
    # A git working in the repository keeps every lock: git leaves a lock unheld between
    # writing and renaming it, and may run from the repository's top when the project is a
    # subfolder (a reviewer saw a user's `git commit -a` waiting on its editor lose its
    # index.lock), from a subfolder, from another worktree (refs are shared), or from
    # anywhere with `-C`.
    (project / "sub").mkdir()
    other_tree = tmp_path / "other-tree"
    git(project, "worktree", "add", "-q", "--detach", str(other_tree))
    batch = ["git", "cat-file", "--batch"]
    for cwd, command in (
        (project, batch),
        (project / "sub", batch),
        (other_tree, batch),
        (tmp_path, ["git", "-C", "iris", "cat-file", "--batch"]),
        (tmp_path, ["git", f"--git-dir={project / '.git'}", "cat-file", "--batch"]),
    ):
        live = subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE)
        _running_as_git(live.pid)  # (a loaded machine: the exec is seen before asking)
        try:
            assert remove_stale_git_locks(project) == [], command  # a git works here
            assert all(lock.exists() for lock in left)
        finally:
            live.communicate(b"", timeout=10)
    # A git of another repository (another project, a test beside this one) keeps nothing.
    elsewhere = tmp_path / "elsewhere"
    subprocess.run(["git", "init", "-q", str(elsewhere)], check=True)
    live = subprocess.Popen(batch, cwd=elsewhere, stdin=subprocess.PIPE)
    try:
        assert sorted(remove_stale_git_locks(project)) == ["HEAD.lock", f"refs/heads/{branch}.lock"]
    finally:
        live.communicate(b"", timeout=10)
    git(project, "commit", "--allow-empty", "-m", "commits again")


def test_the_temporary_files_a_killed_write_left_are_removed_and_named(tmp_path: Path) -> None:
    """A push killed inside the atomic write of releases/1.0.2.yaml left
    `.1.0.2.yaml.hyrydpq_.tmp`, untracked, for ever; the next push (under the release lock,
    which every writer of releases/ takes) removes it."""
    from workbench.kernel.atomic import remove_stray_temps, write_text_atomic

    folder = tmp_path / "releases"
    folder.mkdir()
    write_text_atomic(folder / "1.0.2.yaml", "version: 1.0.2\n")
    (folder / ".1.0.2.yaml.hyrydpq_.tmp").write_text("version: 1.0")
    assert remove_stray_temps(folder) == [".1.0.2.yaml.hyrydpq_.tmp"]
    assert sorted(p.name for p in folder.iterdir()) == ["1.0.2.yaml"]
    assert remove_stray_temps(tmp_path / "missing") == []


def test_a_git_that_ends_while_it_is_looked_at_is_not_taken_for_a_live_one(
    tmp_path: Path,
) -> None:
    """CI (tests in parallel, gits ending all the time in other workers) saw a killed git's
    index.lock kept: a git read as running that ended before its folder was read (a zombie
    has no cwd) was counted as working in every repository."""
    import os
    import time

    from workbench.kernel import git as kernel_git

    ended = subprocess.Popen(["git", "--version"], cwd=tmp_path, stdout=subprocess.DEVNULL)
    proc = Path(f"/proc/{ended.pid}")
    for _ in range(100):  # bounded: `git --version` ends at once; not reaped, it stays a zombie
        if kernel_git._state(proc) == b"Z":
            break
        time.sleep(0.05)
    try:
        assert kernel_git._state(proc) == b"Z"
        assert not kernel_git._works_in(proc, {os.path.realpath(tmp_path)})
    finally:
        ended.wait(timeout=10)
    assert kernel_git._state(proc) is None  # reaped: gone, and not counted either
