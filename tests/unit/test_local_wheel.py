"""A local (editable) package's wheel, built when the model's environment has no pip.

`uv venv` makes environments without pip. The snapshot built a local package's wheel with
the model's own `python -m pip`, so a src-layout project installed editable into a uv
environment was refused with "no wheel can be built ... make the package buildable (a
pyproject.toml)", naming a temporary copy, when the package had a pyproject.toml and the
cause was the missing pip. A pure-Python wheel is the same whoever builds it: it is built
by the workbench's own pip; a platform wheel needs the model's interpreter, and the error
says to give it pip.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.steps.snapshot.wheels import build_local_wheel

# An in-tree build backend: pip builds it in isolation without fetching anything.
BACKEND = """
import zipfile

TAG = "{tag}"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"tinypkg-0.1-{{TAG}}.whl"
    info = "tinypkg-0.1.dist-info"
    with zipfile.ZipFile(f"{{wheel_directory}}/{{name}}", "w") as whl:
        whl.writestr("tinypkg/__init__.py", "VALUE = 1\\n")
        meta = "Metadata-Version: 2.1\\nName: tinypkg\\nVersion: 0.1\\n"
        whl.writestr(f"{{info}}/METADATA", meta)
        wheel = f"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: {{TAG}}\\n"
        whl.writestr(f"{{info}}/WHEEL", wheel)
        whl.writestr(f"{{info}}/RECORD", "")
    return name
"""


def _package(root: Path, tag: str) -> Path:
    source = root / "tinypkg-src"
    source.mkdir()
    (source / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "tinypkg"
            version = "0.1"
            [build-system]
            requires = []
            build-backend = "backend"
            backend-path = ["."]
            """
        )
    )
    (source / "backend.py").write_text(BACKEND.format(tag=tag))
    return source


@pytest.fixture
def pipless_python(tmp_path: Path) -> Path:
    """A model environment as `uv venv` makes it: no pip."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    probe = subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True)
    assert probe.returncode != 0, "the environment was meant to have no pip"
    return python


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))


def test_a_pure_package_is_built_although_the_model_environment_has_no_pip(
    tmp_path: Path, pipless_python: Path
) -> None:
    source = _package(tmp_path, "py3-none-any")
    built = build_local_wheel(pipless_python, f"file://{source}", "tinypkg")
    assert built.name == "tinypkg-0.1-py3-none-any.whl"
    assert built.is_file()


def test_a_platform_wheel_without_pip_names_the_missing_pip_and_the_real_source(
    tmp_path: Path, pipless_python: Path
) -> None:
    source = _package(tmp_path, "cp311-cp311-linux_x86_64")
    with pytest.raises(WorkbenchError) as caught:
        build_local_wheel(pipless_python, f"file://{source}", "tinypkg")
    text = caught.value.paragraph
    assert "has no pip" in text, text
    assert str(source) in text and "/source" not in text.replace(str(source), ""), text
    assert f"--python {pipless_python} pip" in text, text


def test_a_change_outside_the_package_keeps_the_wheel_and_its_hash(
    tmp_path: Path, pipless_python: Path
) -> None:
    """`pip install -e .` makes the whole project the package's folder: a README or a
    training script edited gave a new key, a new build, and a wheel whose zip dates
    differed, so the lock's hash moved and every serve check went stale with no change to
    what the image runs (a new user's trial). The same files keep the same wheel."""
    import hashlib
    import time

    source = _package(tmp_path, "py3-none-any")
    first = build_local_wheel(pipless_python, f"file://{source}", "tinypkg")
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    time.sleep(2.1)  # zip dates have two-second steps: a new build has other bytes
    (source / "README.md").write_text("how to train it\n")
    again = build_local_wheel(pipless_python, f"file://{source}", "tinypkg")
    assert again.parent != first.parent  # a new key: it was built again ...
    assert hashlib.sha256(again.read_bytes()).hexdigest() == digest  # ... to the same bytes

    backend = source / "backend.py"
    backend.write_text(backend.read_text().replace("VALUE = 1", "VALUE = 2"))
    changed = build_local_wheel(pipless_python, f"file://{source}", "tinypkg")
    assert hashlib.sha256(changed.read_bytes()).hexdigest() != digest  # new code: new wheel


def test_a_link_loop_in_the_package_folder_is_copied_once_not_a_crash(
    tmp_path: Path, pipless_python: Path
) -> None:
    """`shutil.copytree` followed `up -> ..` until it failed with a traceback (a reviewer's
    read), while the source key read the folder once."""
    import os

    source = _package(tmp_path, "py3-none-any")
    (source / "inner").mkdir()
    os.symlink("..", source / "inner" / "up")
    built = build_local_wheel(pipless_python, f"file://{source}", "tinypkg")
    assert built.name == "tinypkg-0.1-py3-none-any.whl"
