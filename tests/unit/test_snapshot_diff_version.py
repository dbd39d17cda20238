"""`workbench snapshot diff 1.0.1` compared with a lock file named `1.0.1` and said "does
not exist ... take a snapshot first" (a new user's trial): a released version is read
from its tag."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.kernel import git
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps.snapshot.drift import baseline_lock

LOCK = "numpy==2.1.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"


def test_a_released_version_is_read_from_its_tag(tmp_path: Path) -> None:
    from commands.main import app

    project = copy_example("iris", tmp_path / "iris")
    (project / "environment.lock").write_text(LOCK)
    for args in (("init", "-q"), ("add", "."), ("commit", "-qm", "1.0.0"), ("tag", "v1.0.0")):
        assert git.run(project, *args).ok
    (project / "environment.lock").write_text(LOCK.replace("2.1.0", "2.2.0"))
    label, before = baseline_lock(load_manifest(project), Path("1.0.0"))
    assert label == "release 1.0.0" and before is not None
    assert before["numpy"].version == "2.1.0"
    with pytest.raises(WorkbenchError, match="neither a lock file nor a release"):
        baseline_lock(load_manifest(project), Path("9.9.9"))
    done = CliRunner().invoke(app, ["snapshot", "diff", "1.0.0", "-p", str(project)])
    assert done.exit_code == 0, done.output
    assert "release 1.0.0" in done.output and "2.2.0" in done.output
