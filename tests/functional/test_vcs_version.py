"""A package installed editable whose version comes from git (setuptools-scm; hatch-vcs
and PDM read the same way): the snapshot builds its wheel from a copy without .git, and
the build backend could not find a version ("unable to detect version"). The installed
version is given to the build instead, so the wheel is the version the lock pins; a new
version of the same files is a new wheel, never the cached one of the old version. The
copy gets the files git tracks, so package data found by `git ls-files` is in the wheel."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from workbench.steps.snapshot.wheels import build_local_wheel

pytestmark = pytest.mark.slow

PYPROJECT = """\
[build-system]
requires = ["setuptools>=64", "setuptools-scm>=8"]
build-backend = "setuptools.build_meta"

[project]
name = "scm-scoring"
dynamic = ["version"]

[tool.setuptools_scm]
root = ".."
"""


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))


def test_a_version_read_from_git_is_the_installed_one_in_the_wheel(tmp_path: Path) -> None:
    project = tmp_path / "project"
    package = project / "scoring"  # the package is a folder of the project's repository
    (package / "src" / "scm_scoring").mkdir(parents=True)
    (package / "pyproject.toml").write_text(PYPROJECT)
    (package / "src" / "scm_scoring" / "__init__.py").write_text(
        textwrap.dedent("def score(x):\n    return 2 * x\n")
    )
    # Package data setuptools-scm finds by `git ls-files` (include-package-data): the copy
    # without .git built a wheel without it, and the image lacked it (a reviewer's read).
    (package / "src" / "scm_scoring" / "vocab.json").write_text('["spam", "eggs"]\n')
    git(project, "init", "-q", "-b", "main")
    git(project, "-c", "user.name=A", "-c", "user.email=a@example.com", "add", ".")
    git(project, "-c", "user.name=A", "-c", "user.email=a@example.com", "commit", "-qm", "x")
    git(project, "tag", "v0.3.0")

    built = build_local_wheel(
        Path(sys.executable), f"file://{package}", "scm-scoring", version="0.3.0"
    )
    assert built.name == "scm_scoring-0.3.0-py3-none-any.whl"
    with zipfile.ZipFile(built) as wheel:
        assert "scm_scoring/vocab.json" in wheel.namelist(), wheel.namelist()
    later = build_local_wheel(
        Path(sys.executable), f"file://{package}", "scm-scoring", version="0.3.1.dev1+g0abc"
    )
    assert later.name == "scm_scoring-0.3.1.dev1+g0abc-py3-none-any.whl"
    assert (package / "src" / "scm_scoring" / "__init__.py").is_file()
    assert not list(package.glob("*.egg-info"))  # built from a copy: the folder unchanged
