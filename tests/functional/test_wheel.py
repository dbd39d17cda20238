"""The assets ship inside the wheel and are found from an installed wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_installed_wheel_finds_its_assets(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is needed to build the wheel; run bash .ci/bootstrap")
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("workbench-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "workbench/_assets/examples/iris/workbench.yaml" in names
    assert "workbench/_assets/styles/app.tcss" in names
    assert any(n.startswith("commands/") for n in names)
    assert any(n.startswith("screens/") for n in names)

    # A pure-Python wheel installs by unpacking into site-packages; do exactly that.
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "from workbench.kernel.paths import assets_dir, examples_dir; "
        "print(assets_dir()); print((examples_dir() / 'iris' / 'workbench.yaml').is_file())"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout.split()
    assert out == [str(target / "workbench" / "_assets"), "True"]
