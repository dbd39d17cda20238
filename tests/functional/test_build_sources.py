"""What the build sends from the project: only regular files and folders inside it. A link
out of the project, a link loop, /dev/zero or a FIFO in `model.code` is refused, naming it,
before a byte is read (a link to /dev/zero used to make the build copy without end)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.doubler import make_project
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.model_files import copy_project_files
from workbench.steps.serve.build import assemble_context


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "code").mkdir(parents=True)
    (root / "code" / "features.py").write_text("SCALE = 2\n")
    return root


def _copy(project: Path) -> None:
    copy_project_files(project / "code", project.parent / "context" / "code", project)


def test_a_link_out_of_the_project_is_refused_and_nothing_outside_is_read(
    project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "credentials"
    outside.write_text("aws_secret_access_key = not-for-the-image\n")
    (project / "code" / "creds").symlink_to(outside)
    with pytest.raises(
        WorkbenchError, match=r"code/creds is a symbolic link to .*outside the project"
    ):
        _copy(project)
    assert not (project.parent / "context" / "code" / "creds").exists()


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "loop", "dangling"])
def test_devices_fifos_loops_and_dangling_links_are_refused(project: Path, kind: str) -> None:
    odd = project / "code" / "odd"
    if kind == "dev-zero":
        odd.symlink_to("/dev/zero")
        expected = "outside the project"
    elif kind == "fifo":
        os.mkfifo(odd)
        expected = "not a regular file or folder"
    elif kind == "loop":
        odd.symlink_to(project / "code", target_is_directory=True)
        expected = "a folder that contains it"
    else:
        odd.symlink_to(project / "code" / "gone.py")
        expected = "leads nowhere"
    with pytest.raises(WorkbenchError, match=expected):
        _copy(project)


def test_a_link_to_a_file_inside_the_project_is_copied_as_that_file(project: Path) -> None:
    (project / "shared.py").write_text("SHARED = 1\n")
    (project / "code" / "shared.py").symlink_to(project / "shared.py")
    _copy(project)
    copied = project.parent / "context" / "code" / "shared.py"
    assert copied.read_text() == "SHARED = 1\n" and not copied.is_symlink()


def test_the_build_context_refuses_a_code_folder_linking_to_dev_zero(tmp_path: Path) -> None:
    project = make_project(tmp_path / "doubler", faulty=False)
    (project / "helpers").mkdir()
    (project / "helpers" / "zeros.bin").symlink_to("/dev/zero")
    manifest = project / "workbench.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "  predictor: predictor:Model\n", "  predictor: predictor:Model\n  code: [helpers]\n"
        )
    )
    with pytest.raises(WorkbenchError, match=r"helpers/zeros\.bin is a symbolic link to /dev/zero"):
        assemble_context(load_manifest(project), version="0.0.0-dev")
    assert not (project / ".workbench" / "build").exists()  # nothing half-assembled is left


def test_a_link_to_a_folder_inside_the_project_is_refused(project: Path) -> None:
    (project / "shared").mkdir()
    (project / "shared" / "vocabulary.txt").write_text("a b c\n")
    (project / "code" / "data").symlink_to(project / "shared", target_is_directory=True)
    with pytest.raises(WorkbenchError, match="code/data is a symbolic link to the folder shared"):
        _copy(project)
