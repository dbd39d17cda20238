"""`workbench clean` removes the current project's containers only (issue #23): it used to
remove every workbench container on the engine, other projects' included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import containers_of
from workbench.kernel.docker import docker_client
from workbench.project.manifest import Manifest
from workbench.steps.serve import run

pytestmark = [pytest.mark.docker]


def _sleeper(base_image: str, root: Path) -> Any:
    """A cheap container labelled as the workbench labels the ones it starts for the
    project at `root` (both projects below have the same name: the folder tells them
    apart, not the name)."""
    root.mkdir(parents=True)
    (root / "workbench.yaml").write_text("name: iris-classifier\n")
    labels = run.labels_of(Manifest(root=root.resolve(), name="iris-classifier"), "clean-test")
    return docker_client().containers.run(base_image, ["sleep", "300"], detach=True, labels=labels)


def test_clean_in_one_project_removes_its_containers_and_leaves_another_projects(
    tmp_path: Path, base_image: str
) -> None:
    mine, theirs = tmp_path / "a" / "iris", tmp_path / "b" / "iris"
    started = [_sleeper(base_image, mine), _sleeper(base_image, theirs)]
    try:
        assert [c.id for c in containers_of(mine)] == [started[0].id]
        done = subprocess.run(
            [str(Path(sys.executable).parent / "workbench"), "clean", "-p", str(mine)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        output = " ".join(done.stdout.split())  # the console wraps long lines
        assert f"removed 1 of {mine.resolve()}'s container(s): {started[0].name}" in output
        assert "workbench container(s) of other projects alone" in output
        assert not containers_of(mine)
        assert [c.id for c in containers_of(theirs)] == [started[1].id]  # still there
    finally:
        for container in started:
            run.remove(container)
