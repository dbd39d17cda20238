"""A repository that commits symlinks under `.workbench/`, cloned for real with git and
worked on through the installed CLI: nothing outside the project is written, and the
error names the link (issue 31, point 1). No engine needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.project.scaffold import copy_example

BIN = Path(sys.executable).parent
PRECIOUS = "the user's own file, which no workbench command may touch\n"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _workbench(project: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp / "gitconfig"
    config.write_text("[user]\n\tname = Ana Tester\n\temail = ana@example.com\n")
    done = subprocess.run(
        [str(BIN / "workbench"), *args],
        cwd=project,
        env={**os.environ, "GIT_CONFIG_GLOBAL": str(config), "COLUMNS": "400"},
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _hostile_clone(tmp_path: Path, link: str, target: Path) -> Path:
    """The example project, with `link` committed as a symlink to `target`, pushed to a
    bare repository and cloned from it as a victim would."""
    author = copy_example("iris", tmp_path / "author")
    (author / ".gitignore").write_text(".venv\n__pycache__/\n")  # the author commits it
    (author / link).parent.mkdir(parents=True, exist_ok=True)
    (author / link).unlink(missing_ok=True)  # the example's own file, replaced by the link
    (author / link).symlink_to(target)
    _git(author, "init", "-q", "-b", "main")
    _git(author, "add", ".")
    _git(author, "-c", "user.name=M", "-c", "user.email=m@example.com", "commit", "-qm", "x")
    _git(tmp_path, "clone", "-q", "--bare", str(author), str(tmp_path / "origin.git"))
    _git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(tmp_path / "victim"))
    clone = tmp_path / "victim"
    assert (clone / link).is_symlink(), "git should have kept the symlink"
    return clone


@pytest.mark.parametrize(
    ("link", "kind", "command"),
    [
        (".workbench/state.lock", "file", ("tick", "schema.descriptions-complete", "yes")),
        (".workbench/build.lock", "file", ("build",)),
        (".workbench", "folder", ("tick", "schema.descriptions-complete", "yes")),
        (".workbench/logs", "folder", ("check", "-s", "schema")),
        (".workbench/logs/check.log", "file", ("check", "-s", "schema")),
    ],
)
def test_a_cloned_symlink_under_the_scratch_writes_nothing_outside(
    tmp_path: Path, link: str, kind: str, command: tuple[str, ...]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "precious.txt"
    precious.write_text(PRECIOUS)
    target = precious if kind == "file" else outside
    project = _hostile_clone(tmp_path, link, target)

    done = _workbench(project, tmp_path, *command)

    assert done.returncode != 0, done.stdout + done.stderr
    assert precious.read_text() == PRECIOUS
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    said = " ".join(done.stderr.split())
    assert f"{link} is a symlink" in said, said
    assert f"remove the symlink {link}" in said, said
    assert (project / link).is_symlink(), "the link is the user's to remove"


def test_a_committed_file_that_links_outside_is_not_written_through(tmp_path: Path) -> None:
    """checklist.yaml committed as a link out of the project: a tick refuses to write it."""
    outside = tmp_path / "outside.yaml"
    outside.write_text(PRECIOUS)
    project = _hostile_clone(tmp_path, "checklist.yaml", outside)

    done = _workbench(project, tmp_path, "tick", "schema.descriptions-complete", "yes")

    assert done.returncode != 0
    assert outside.read_text() == PRECIOUS
    said = " ".join(done.stderr.split())
    assert "checklist.yaml is a symlink to" in said and "outside the project" in said, said


@pytest.mark.parametrize(
    "command",
    [
        ("schema", "describe", "sepal_length", "Sepal length in cm."),
        ("schema", "infer", "--force"),
    ],
    ids=["describe", "infer"],
)
def test_a_committed_schema_that_links_outside_is_not_written_through(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """schema/request.yaml committed as a link to a YAML file outside the project: editing
    or inferring the schema is refused, naming the manifest's field, and the file stays as it
    was."""
    outside = tmp_path / "outside.yaml"
    outside.write_text(
        "# the user's own schema elsewhere\ntype: object\nproperties:\n  sepal_length:\n"
        "    type: number\n"
    )
    before = outside.read_text()
    project = _hostile_clone(tmp_path, "schema/request.yaml", outside)

    done = _workbench(project, tmp_path, *command)

    assert done.returncode != 0, done.stdout + done.stderr
    assert outside.read_text() == before
    said = " ".join(done.stderr.split())
    # Refused where the manifest names it, before any command reads or writes the file.
    assert "`schema.request`: `schema/request.yaml` resolves outside the project" in said, said
