"""Paths the workbench opens stay in the project and are regular files or folders; YAML
from a project is bounded in size and in alias expansion (issue 31, points 1 and 8)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from workbench.checklist.state import ChecklistState, save_state
from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.confine import UnsafePath, check_inside, read_bounded, scratch_path
from workbench.kernel.errors import ManifestError, WorkbenchError
from workbench.kernel.lock import project_lock
from workbench.kernel.yamlio import MAX_BYTES, load_yaml, parse_yaml, read_own_yaml

BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "precious").write_text("keep me")
    return folder


def test_the_lock_refuses_a_symlinked_lock_file(project: Path, outside: Path) -> None:
    (project / ".workbench").mkdir()
    (project / ".workbench" / "state.lock").symlink_to(outside / "precious")
    with pytest.raises(UnsafePath) as caught, project_lock(project, "state", "ticking"):
        pass
    assert "remove the symlink .workbench/state.lock" in str(caught.value)
    assert (outside / "precious").read_text() == "keep me"


def test_the_lock_refuses_a_symlinked_scratch_even_into_the_project(project: Path) -> None:
    (project / "elsewhere").mkdir()
    (project / ".workbench").symlink_to(project / "elsewhere")
    with pytest.raises(UnsafePath, match=r"remove the symlink \.workbench "):
        scratch_path(project, "logs", "check.log", what="the log")
    assert list((project / "elsewhere").iterdir()) == []


def test_the_scratch_refuses_a_file_where_a_folder_goes(project: Path) -> None:
    (project / ".workbench").write_text("not a folder")
    with pytest.raises(UnsafePath, match="needs a folder"):
        scratch_path(project, "build", what="the build context", folder=True)


def test_a_fifo_in_the_scratch_is_not_opened(project: Path) -> None:
    (project / ".workbench").mkdir()
    os.mkfifo(project / ".workbench" / "state.lock")
    with pytest.raises(UnsafePath, match="a named pipe"), project_lock(project, "state", "x"):
        pass


def test_the_lock_still_works_on_a_plain_project(project: Path) -> None:
    with project_lock(project, "state", "ticking"), project_lock(project, "state", "again"):
        assert (project / ".workbench" / "state.lock").is_file()


def test_a_committed_file_may_link_inside_the_project_only(project: Path, outside: Path) -> None:
    (project / "real.yaml").write_text("a: 1\n")
    (project / "inside.yaml").symlink_to(project / "real.yaml")
    assert check_inside(project, project / "inside.yaml", what="x") == project / "inside.yaml"
    (project / "schema").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match=r"schema is a symlink to .*outside the project"):
        check_inside(project, project / "schema" / "request.yaml", what="the schema")


def test_an_atomic_write_into_a_symlinked_folder_is_refused(project: Path, outside: Path) -> None:
    (project / "releases").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match="releases is a symlink"):
        write_text_atomic(project / "releases" / "1.0.0.yaml", "x", within=project)
    assert sorted(p.name for p in outside.iterdir()) == ["precious"]


def test_the_checklist_state_is_not_written_through_a_link_out(
    project: Path, outside: Path
) -> None:
    (project / "checklist.yaml").symlink_to(outside / "precious")
    with pytest.raises(UnsafePath, match=r"checklist\.yaml is a symlink to"):
        save_state(project, ChecklistState(), [])
    assert (outside / "precious").read_text() == "keep me"


def test_a_link_to_dev_zero_is_refused_before_reading(project: Path) -> None:
    (project / "big.yaml").symlink_to("/dev/zero")
    started = time.perf_counter()
    with pytest.raises(UnsafePath, match="a device, not a regular file"):
        read_bounded(project / "big.yaml", limit=1 << 20, what="schema")
    with pytest.raises(UnsafePath, match="a device"):
        load_yaml(project / "big.yaml", what="schema")
    assert time.perf_counter() - started < 5


def test_a_fifo_is_refused_without_blocking(project: Path) -> None:
    os.mkfifo(project / "workbench.yaml")
    with pytest.raises(UnsafePath, match="a named pipe"):
        load_yaml(project / "workbench.yaml", what="manifest", error=ManifestError)


def test_a_huge_manifest_is_refused_with_the_limit_named(project: Path) -> None:
    manifest = project / "workbench.yaml"
    with manifest.open("w") as handle:
        handle.write("name: x\n")
        handle.write("# " + "x" * 100 + "\n" * (1))
        handle.truncate(50 << 20)  # 50 MB, sparse
    with pytest.raises(WorkbenchError) as caught:
        load_yaml(manifest, what="manifest", error=ManifestError)
    said = str(caught.value)
    assert "workbench.yaml" in said and "52.4 MB" in said and f"{MAX_BYTES / 1e6:.1f} MB" in said


def test_an_alias_bomb_is_refused_naming_the_file(project: Path) -> None:
    schema = project / "request.yaml"
    schema.write_text(BOMB)
    with pytest.raises(WorkbenchError) as caught:
        load_yaml(schema, what="request schema")
    assert "request.yaml" in str(caught.value) and "aliases" in str(caught.value)
    with pytest.raises(WorkbenchError, match="aliases"):
        read_own_yaml(schema, what="release")


def test_a_self_containing_alias_is_refused(project: Path) -> None:
    """PyYAML builds a list that contains itself; converting it would never end."""
    (project / "snapshot.yaml").write_text("a: &a [1, *a]\n")
    with pytest.raises(WorkbenchError, match=r"snapshot.yaml: .*inside its own anchor"):
        read_own_yaml(project / "snapshot.yaml", what="snapshot")


def test_ordinary_anchors_still_load() -> None:
    data = parse_yaml("base: &b {type: number}\nx: *b\ny: *b\n", source="s.yaml")
    assert data["x"]["type"] == "number"
