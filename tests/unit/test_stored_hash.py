"""A wheel of the workbench's wheel cache is hashed once: its sha256 is kept with the file (an
extended attribute naming the size and modification time it was computed for), and a later
command reads that instead of the file, unless the file changed since."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from workbench.kernel import hashing


def test_the_hash_is_kept_with_the_file_and_read_back_until_the_file_changes(
    tmp_path: Path,
) -> None:
    wheel = tmp_path / "numpy-2.0-py3-none-any.whl"
    wheel.write_bytes(b"one wheel")
    true = hashlib.sha256(b"one wheel").hexdigest()
    assert hashing.sha256_stored(wheel) == true
    try:
        kept = os.getxattr(wheel, hashing.STORED_HASH).decode()
    except OSError:
        pytest.skip("this file system keeps no extended attributes (the hash is read each time)")
    stat = wheel.stat()
    assert kept == f"{stat.st_size}:{stat.st_mtime_ns}:{true}"
    # What is kept is what a later command reads (another process: no memory of this one).
    hashing._hash_file.cache_clear()
    os.setxattr(wheel, hashing.STORED_HASH, kept.replace(true, "f" * 64).encode())
    assert hashing.sha256_stored(wheel) == "f" * 64
    # The file changed: its size and time are not those the hash was kept for.
    wheel.write_bytes(b"another build of the wheel")
    assert hashing.sha256_stored(wheel) == hashlib.sha256(b"another build of the wheel").hexdigest()


def test_a_file_system_without_extended_attributes_reads_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object) -> None:
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(os, "getxattr", refused)
    monkeypatch.setattr(os, "setxattr", refused)
    wheel = tmp_path / "w.whl"
    wheel.write_bytes(b"bytes")
    assert hashing.sha256_stored(wheel) == hashlib.sha256(b"bytes").hexdigest()


def test_the_snapshot_check_reads_the_files_and_only_a_build_takes_a_kept_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`snapshot.hashed` says a cached wheel has the lock's hash: it reads the wheel. A build
    takes the kept hash (its pip checks every wheel against the lock again, in the image)."""
    from workbench.project.lockfile import LockEntry
    from workbench.steps.snapshot.wheels import cached_wheels

    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "wheels"
    folder.mkdir()
    wheel = folder / "numpy-2.0-py3-none-any.whl"
    wheel.write_bytes(b"the wheel, changed behind our back")
    stat = wheel.stat()
    locked = hashlib.sha256(b"the wheel as locked").hexdigest()
    try:  # a kept hash that is not the file's (forged, or a file changed in the same instant)
        os.setxattr(
            wheel, hashing.STORED_HASH, f"{stat.st_size}:{stat.st_mtime_ns}:{locked}".encode()
        )
    except OSError:
        pytest.skip("this file system keeps no extended attributes")
    hashing._hash_file.cache_clear()
    entries = {"numpy": LockEntry(name="numpy", version="2.0", hashes=[locked])}
    assert cached_wheels(folder, entries) == {}  # the check read the file: not the locked one
    assert cached_wheels(folder, entries, stored=True) == {"numpy": wheel}
