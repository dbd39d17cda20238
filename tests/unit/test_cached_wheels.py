"""Finding a lock's wheels in the shared cache hashes the wheels of the lock's packages, not
every wheel every project ever fetched (the cache holds torch and CatBoost: gigabytes read at
every build and every `snapshot.hashed`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from workbench.project.lockfile import LockEntry
from workbench.steps.snapshot import wheels


def _wheel(folder: Path, name: str, body: bytes) -> str:
    (folder / name).write_bytes(body)
    return hashlib.sha256(body).hexdigest()


def test_only_the_wheels_named_for_the_locks_packages_are_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    numpy = _wheel(tmp_path, "numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl", b"numpy")
    _wheel(tmp_path, "numpy-2.3.0-cp311-cp311-manylinux_2_28_x86_64.whl", b"older numpy")
    _wheel(tmp_path, "torch-2.9.0+cpu-cp311-cp311-linux_x86_64.whl", b"torch, 200 MB of it")
    read = []
    real = wheels.sha256_file
    monkeypatch.setattr(wheels, "sha256_file", lambda p: read.append(p.name) or real(p))
    entries = {"numpy": LockEntry(name="numpy", version="2.4.6", hashes=[numpy])}
    found = wheels.cached_wheels(tmp_path, entries)
    assert found == {"numpy": tmp_path / "numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl"}
    assert not any(name.startswith("torch") for name in read), read


def test_a_wheel_under_another_name_is_still_found_by_its_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    # A wheel renamed by hand (or a name that is not a wheel's): found by the full scan.
    body = _wheel(tmp_path, "renamed.whl", b"scipy")
    other = _wheel(tmp_path, "scipy-1.17.1-cp311-cp311-manylinux_2_28_x86_64.whl", b"not it")
    entries = {
        "scipy": LockEntry(name="scipy", version="1.17.1", hashes=[body]),
        "absent": LockEntry(name="absent", version="1.0", hashes=["0" * 64]),
    }
    found = wheels.cached_wheels(tmp_path, entries)
    assert found == {"scipy": tmp_path / "renamed.whl"}  # the named one's hash differs
    assert other not in entries["scipy"].hashes
    assert wheels.cached_wheels(tmp_path / "no-such-folder", entries) == {}


def test_another_projects_wheels_entering_the_cache_leave_snapshot_hashed_fresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared cache fills with other projects' wheels (the tests in parallel, a user's
    second project): this lock's `snapshot.hashed` stayed green but went stale, and `tag`
    was refused ("snapshot.hashed is stale", CI). Its own wheel replaced: stale, as before."""
    from types import SimpleNamespace

    from workbench.checklist.checks import CheckContext
    from workbench.steps.snapshot import checks

    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    name = "numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl"
    _wheel(tmp_path, name, b"numpy")
    snapshot = SimpleNamespace(
        target=SimpleNamespace(python="3.11", machine="x86_64"),
        runtime={"numpy": SimpleNamespace(wheel=name)},
        serving={},
    )
    monkeypatch.setattr(checks, "_snapshot_inputs", lambda ctx: {})
    monkeypatch.setattr(checks, "read_snapshot", lambda root: snapshot)
    monkeypatch.setattr(checks, "wheel_dir", lambda target: tmp_path)
    ctx = CheckContext(SimpleNamespace(root=tmp_path))  # type: ignore[arg-type]
    before = checks._hashed_inputs(ctx)
    _wheel(tmp_path, "torch-2.9.0+cpu-cp311-cp311-linux_x86_64.whl", b"another project's")
    _wheel(tmp_path, "numpy-2.3.0-cp311-cp311-manylinux_2_28_x86_64.whl", b"another version")
    assert checks._hashed_inputs(ctx) == before
    _wheel(tmp_path, name, b"numpy, replaced")
    assert checks._hashed_inputs(ctx) != before
    (tmp_path / name).unlink()
    assert checks._hashed_inputs(ctx) != before


def test_a_local_packages_wheel_is_found_among_the_local_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package's code changed without a new version: the lock pins the wheel built from the
    code now (in `local-wheels/`), not the earlier build of that version in the cache."""
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    name = "scoring-0.1.0-py3-none-any.whl"
    _wheel(tmp_path, name, b"the old code")
    (built := tmp_path / "cache" / "local-wheels" / "scoring-1234").mkdir(parents=True)
    new = _wheel(built, name, b"the new code")
    entries = {"scoring": LockEntry(name="scoring", version="0.1.0", hashes=[new])}
    assert wheels.cached_wheels(tmp_path, entries) == {"scoring": built / name}
