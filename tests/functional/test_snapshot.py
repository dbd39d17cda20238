"""Step 1 on real virtual environments made in temp folders, and real wheels."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import cached_env
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.kernel.errors import WorkbenchError
from workbench.project.lockfile import LOCK_NAME, SNAPSHOT_NAME, read_lock
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example, make_example_env
from workbench.steps import open_checklist
from workbench.steps.snapshot.take import SnapshotResult, run_snapshot
from workbench.steps.snapshot.wheels import Target, wheel_dir

pytestmark = pytest.mark.slow
DEV_TOOLS = ["pytest", "black"]


def snapshot(project: Path, **kwargs: object) -> SnapshotResult:
    return run_snapshot(load_manifest(project), lambda event: None, **kwargs)


def pointing_at(project: Path, python: Path) -> Path:
    manifest = project / "workbench.yaml"
    lines = [line for line in manifest.read_text().splitlines() if not line.startswith("python:")]
    manifest.write_text(f"python: {python}\n" + "\n".join(lines) + "\n")
    return project


@pytest.fixture(scope="session")
def dev_env_python(example_python: Path) -> Path:
    """The example's environment plus development tools, made once and cached."""

    def make(root: Path) -> None:
        make_example_env(Path(__file__).parents[2] / "assets" / "examples" / "iris", venv=root)
        python = root / "bin" / "python"
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *DEV_TOOLS], check=True)

    return cached_env("iris-with-dev-tools", make) / "bin" / "python"


def test_example_with_dev_tools_gets_a_minimal_lock_that_installs_offline(
    tmp_path: Path, dev_env_python: Path
) -> None:
    project = pointing_at(copy_example("iris", tmp_path / "iris"), dev_env_python)
    result = snapshot(project)
    runtime = set(result.runtime)
    assert {"scikit-learn", "numpy", "scipy", "joblib", "threadpoolctl"} <= runtime
    assert not runtime & {"pytest", "black", "pluggy", "click", "pip", "setuptools"}
    assert result.freeze_count > len(runtime)  # the freeze keeps everything for the record
    assert "imported by the model at run time (sklearn)" in result.runtime["scikit-learn"].why
    assert "required by scikit-learn" in result.runtime["scipy"].why
    assert {"starlette", "uvicorn", "jsonschema"} <= set(result.serving)

    lock = read_lock(project / LOCK_NAME)
    assert all(len(entry.hashes) == 1 for entry in lock.values())
    assert set(lock) == runtime | set(result.serving)

    # The lock really installs with --require-hashes --no-index from the cached wheels.
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    wheels = wheel_dir(Target(python="3.11"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--require-hashes",
            "--no-index",
            "--find-links",
            str(wheels),
            "-r",
            str(project / LOCK_NAME),
        ],
        check=True,
    )
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "freeze"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    installed = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in freeze.splitlines()
        if "==" in line
    }
    assert installed == {name: entry.version for name, entry in lock.items()}

    # With a warm cache, --offline needs no index at all.
    again = snapshot(project, offline=True)
    assert set(again.runtime) == runtime


def test_snapshot_checks_pass_then_go_stale_when_the_environment_changes(
    tmp_path: Path, example_python: Path
) -> None:
    project = pointing_at(copy_example("iris", tmp_path / "iris"), example_python)
    snapshot(project)
    checklist = open_checklist(load_manifest(project), user="Ana")
    ids = checklist.auto_ids("snapshot")
    statuses = {
        e.item_id: e.view.status
        for e in checklist.run(ids, CheckContext(checklist.manifest))
        if isinstance(e, ItemFinished)
    }
    assert statuses == dict.fromkeys(ids, Status.PASS)
    (project / LOCK_NAME).write_text(
        (project / LOCK_NAME).read_text().replace("scikit-learn==1.9.1", "scikit-learn>=1.9")
    )
    checklist.refresh()
    assert checklist.view("snapshot.pinned").status is Status.STALE
    statuses = {
        e.item_id: e.view.status
        for e in checklist.run(["snapshot.pinned"], CheckContext(checklist.manifest))
        if isinstance(e, ItemFinished)
    }
    assert statuses == {"snapshot.pinned": Status.FAIL}
    assert "not an exact `name==version` pin" in checklist.view("snapshot.pinned").evidence[0]


def _python_project(root: Path, predictor: str, example: str = '{"x": 2}') -> Path:
    (root / "schema" / "examples").mkdir(parents=True)
    (root / "schema" / "examples" / "one.json").write_text(example)
    (root / "predictor.py").write_text(textwrap.dedent(predictor))
    (root / "workbench.yaml").write_text(
        "name: doubler\npython: .venv/bin/python\nmodel:\n  flavor: python\n"
        "  predictor: predictor:Model\n"
    )
    subprocess.run([sys.executable, "-m", "venv", str(root / ".venv")], check=True)
    return root


def test_a_local_editable_package_the_predictor_imports_gets_a_built_wheel(
    tmp_path: Path,
) -> None:
    lib = tmp_path / "mylib"
    (lib / "mylib").mkdir(parents=True)
    (lib / "mylib" / "__init__.py").write_text("def double(x):\n    return 2 * x\n")
    (lib / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "mylib"
        version = "0.3.0"
        """)
    )
    project = _python_project(
        tmp_path / "proj",
        """\
        import mylib

        class Model:
            def load(self, artifacts_dir):
                pass

            def predict(self, record):
                return {"y": mylib.double(record["x"])}
        """,
    )
    subprocess.run(
        [str(project / ".venv/bin/python"), "-m", "pip", "install", "--quiet", "-e", str(lib)],
        check=True,
    )
    result = snapshot(project)
    assert set(result.runtime) == {"mylib"}
    assert result.runtime["mylib"].source["kind"] == "editable"
    why = result.runtime["mylib"].why
    assert "imported by predictor.py (mylib)" in why
    assert "imported by the model at run time (mylib)" in why
    assert read_lock(project / LOCK_NAME)["mylib"].version == "0.3.0"


BACKENDS = {
    # setuptools' package discovery in a src layout: a static .pth puts src/ on the path
    # (top_level.txt written).
    "setuptools-find-src": """\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "churn-tools"
        version = "0.2.0"
        [tool.setuptools.packages.find]
        where = ["src"]
        """,
    # setuptools' import-hook finder (a package-dir that is no plain folder): MAPPING.
    "setuptools-package-dir": """\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "churn-tools"
        version = "0.2.0"
        [tool.setuptools]
        package-dir = {"churn" = "src/churn"}
        packages = ["churn"]
        """,
    # hatchling: a .pth naming src/, and no top_level.txt at all.
    "hatchling": """\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "churn-tools"
        version = "0.2.0"
        [tool.hatch.build.targets.wheel]
        packages = ["src/churn"]
        """,
}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_the_projects_own_src_layout_package_installed_editable_is_locked(
    tmp_path: Path, backend: str
) -> None:
    """A poetry-style project: the project is itself a package in src/, installed with
    `pip install -e .`, and `model.code: [src]` names the folder. The package is found
    through its distribution's own files (RECORD's .pth or import-hook finder), built into
    a wheel and locked; before, `model.code` made its modules "local", the lock lacked it
    while snapshot.imports-resolved passed, and the image could not import it."""
    project = _python_project(
        tmp_path / "proj",
        """\
        from churn.scoring import double

        class Model:
            def load(self, artifacts_dir):
                pass

            def predict(self, record):
                return {"y": double(record["x"])}
        """,
    )
    (project / "pyproject.toml").write_text(textwrap.dedent(BACKENDS[backend]))
    (project / "src" / "churn").mkdir(parents=True)
    (project / "src" / "churn" / "__init__.py").write_text("")
    (project / "src" / "churn" / "scoring.py").write_text("def double(x):\n    return 2 * x\n")
    manifest = project / "workbench.yaml"
    manifest.write_text(manifest.read_text() + "  code: [src]\n")
    subprocess.run(
        [str(project / ".venv/bin/python"), "-m", "pip", "install", "--quiet", "-e", "."],
        cwd=project,
        check=True,
    )
    result = snapshot(project)
    assert set(result.runtime) == {"churn-tools"}, result.runtime
    assert result.runtime["churn-tools"].source["kind"] == "editable"
    assert "imported by predictor.py (churn)" in result.runtime["churn-tools"].why
    assert read_lock(project / LOCK_NAME)["churn-tools"].version == "0.2.0"
    checklist = open_checklist(load_manifest(project))
    list(checklist.run(["snapshot.imports-resolved"], CheckContext(load_manifest(project))))
    view = checklist.view("snapshot.imports-resolved")
    assert view.status is Status.PASS
    assert any(line.startswith("churn-tools 0.2.0: imported by") for line in view.evidence)


def test_an_import_that_is_not_installed_fails_loudly_and_writes_nothing(tmp_path: Path) -> None:
    project = _python_project(
        tmp_path / "proj",
        """\
        import notinstalledpkg

        class Model:
            def predict(self, record):
                return {}
        """,
    )
    with pytest.raises(WorkbenchError, match="No module named 'notinstalledpkg'"):
        snapshot(project)
    assert not (project / LOCK_NAME).exists()
    assert not (project / SNAPSHOT_NAME).exists()


def test_a_predictor_that_raises_on_an_example_is_named(tmp_path: Path) -> None:
    project = _python_project(
        tmp_path / "proj",
        """\
        class Model:
            def predict(self, record):
                return {"y": 1 / record["x"]}
        """,
        example='{"x": 0}',
    )
    with pytest.raises(WorkbenchError, match=r"predicting failed .* ZeroDivisionError"):
        snapshot(project)
    assert not (project / LOCK_NAME).exists()


def test_bad_interpreters_and_broken_metadata_are_clear_errors(tmp_path: Path) -> None:
    project = _python_project(
        tmp_path / "proj",
        """\
        class Model:
            def predict(self, record):
                return {"y": 1}
        """,
    )
    manifest = project / "workbench.yaml"
    good = manifest.read_text()
    manifest.write_text(good.replace(".venv/bin/python", ".venv/bin/nope"))
    with pytest.raises(WorkbenchError, match=r"interpreter .*\.venv/bin/nope does not exist"):
        snapshot(project)
    manifest.write_text(good.replace(".venv/bin/python", "/bin/true"))
    with pytest.raises(WorkbenchError, match="/bin/true is not a working Python"):
        snapshot(project)
    manifest.write_text(good)
    site = next((project / ".venv" / "lib").glob("python3*/site-packages"))
    broken = site / "ghost-1.0.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\nSummary: no name\n")
    with pytest.raises(WorkbenchError, match=r"broken metadata .*ghost-1\.0\.dist-info"):
        snapshot(project)
