"""Atomic writes for files the user commits.

A write goes to a temporary file in the same folder, is flushed and fsynced,
then renamed over the target, so a crash or a kill mid-write leaves either the
old file or the new one, never a torn one. Given the project's root (`within`), the
target and its folders are checked first (`kernel.confine`): a committed symlink
cannot send the write outside the project.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from workbench.kernel.confine import check_inside, make_folder


def write_text_atomic(
    path: Path, text: str, *, within: Path | None = None, what: str = "this file"
) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), within=within, what=what)


def write_bytes_atomic(
    path: Path, data: bytes, *, within: Path | None = None, what: str = "this file"
) -> None:
    path = Path(path)
    if within is not None:
        check_inside(within, path, what=what)
        make_folder(within, path.parent, what=what)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        existing = path.lstat() if os.path.lexists(path) else None
        if existing is not None and stat.S_ISREG(existing.st_mode):
            os.chmod(tmp_name, existing.st_mode & 0o777)
        else:
            os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def remove_stray_temps(folder: Path) -> list[str]:
    """Remove what a killed atomic write left in `folder` (`.NAME.RANDOM.tmp` beside NAME),
    and return their names. Only where the caller holds the lock every writer of the folder
    takes: a writer at work would lose its temporary file."""
    removed = []
    for path in sorted(folder.glob(".*.tmp")) if folder.is_dir() else []:
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed
